"""Merchant API: usage figures for a month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from gateway.api.deps import SessionDep
from gateway.errors import InvalidInput
from gateway.keys.deps import UsageRead
from gateway.merchants.models import Merchant
from gateway.usage import service
from gateway.usage.schemas import QuotaOut, UsageDay, UsageOut

router = APIRouter(prefix="/v1/usage", tags=["merchant: usage"])


def _month(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date().replace(day=1)
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise InvalidInput("month must look like 2026-11") from None
    return parsed.date()


@router.get("", response_model=UsageOut, summary="Usage figures and quota for one month")
def get_usage(
    principal: UsageRead,
    session: SessionDep,
    month: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$",
            description="YYYY-MM (UTC); default: this month",
        ),
    ] = None,
) -> UsageOut:
    first = _month(month)
    days = service.by_day(session=session, merchant_id=principal.merchant_id, month=first)
    totals: dict[str, int] = {}
    for counts in days.values():
        for metric, count in counts.items():
            totals[metric] = totals.get(metric, 0) + count
    merchant = session.get(Merchant, principal.merchant_id)
    limit = merchant.monthly_tryon_quota if merchant else 0
    used = sum(totals.get(m.value, 0) for m in service.QUOTA_METRICS)
    state = service.QuotaState(limit=limit, used=used)
    return UsageOut(
        month=first.strftime("%Y-%m"),
        totals=totals,
        quota=QuotaOut(
            limit=state.limit, used=state.used, remaining=state.remaining, exhausted=state.exhausted
        ),
        days=[UsageDay(date=d, counts=c) for d, c in sorted(days.items())],
    )
