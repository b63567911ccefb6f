"""Query parameters shared by the metrics API and the dashboard, and catalog titles."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BeforeValidator
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.errors import InvalidQuery
from analytics.metrics import MAX_RANGE_DAYS, Period
from gateway.products.models import Product

DEFAULT_DAYS = 30
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD``, as the schema says (``format: date``): pydantic alone would also
    read ``0`` or ``1700000000`` as a Unix time."""
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


def period(
    start: Annotated[
        Day | None,
        Query(
            alias="from",
            description="First UTC day, YYYY-MM-DD (default: 29 days before `to`). A range "
            "that is reversed or longer than ten years is refused (422).",
            json_schema_extra={"x-on-or-before": "to", "x-max-range-days": MAX_RANGE_DAYS},
        ),
    ] = None,
    end: Annotated[
        Day | None,
        Query(alias="to", description="Last UTC day, inclusive, YYYY-MM-DD (default: today)"),
    ] = None,
) -> Period:
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return Period.of(start, end)
    except InvalidQuery as exc:
        # Said of the query's parameters; gateway.problems makes it a 422.
        raise InvalidQuery(str(exc), errors=[{"loc": ["query", "from"]}]) from None


PeriodDep = Annotated[Period, Depends(period)]
ProductQuery = Annotated[
    str | None,
    Query(
        alias="product",
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="A product's external id: only that product",
    ),
]


def with_titles(
    session: Session, merchant_id: uuid.UUID, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add the catalog title of each product row (``None`` for ids not in the catalog)."""
    ids = [row["product_id"] for row in rows]
    titles: dict[str, str] = {}
    if ids:
        found = session.execute(
            select(Product.external_id, Product.title).where(
                Product.merchant_id == merchant_id, Product.external_id.in_(ids)
            )
        )
        titles = {external_id: title for external_id, title in found}
    return [{**row, "title": titles.get(row["product_id"])} for row in rows]
