"""Record a store's order as one ``purchase`` event: the one way orders enter the warehouse.

``POST /v1/orders`` (any platform, a custom store) and the demo store's checkout call
``record``; the platforms' order webhooks will too. The event id is ``uuid5(merchant, order
id)``, so an order recorded twice (a webhook retried, a double click) is one purchase.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from analytics.errors import InvalidEvents
from analytics.schema import Purchase, PurchaseLine
from gateway.events import service as events
from gateway.orders.schemas import OrderIn


def purchase_of(*, merchant_id: uuid.UUID, order: OrderIn, now: datetime) -> Purchase:
    """The purchase event of ``order`` (``now`` when the order says no time)."""
    return events.purchase(
        merchant_id=merchant_id,
        order_id=order.order_id,
        occurred_at=order.occurred_at or now,
        revenue=order.total,
        currency=order.currency,
        lines=[
            PurchaseLine(
                product_id=line.product_id,
                variant_id=line.variant_id,
                quantity=line.quantity,
                price=line.unit_price,
                tryon_session_id=line.tryon_session_id,
            )
            for line in order.lines
        ],
        widget_session_id=order.widget_session_id,
        cart_token=order.cart_token,
    )


def record(
    app: FastAPI,
    *,
    merchant_id: uuid.UUID,
    order: OrderIn,
    store: str | None = None,
    now: datetime | None = None,
) -> tuple[Purchase, datetime]:
    """Publish ``order`` for ``merchant_id``; returns the event and its time as recorded.

    ``InvalidInput`` (422) for an order older than the pipeline takes,
    ``ServiceUnavailable`` (503, Retry-After) while the pipeline cannot take it. Events are
    always stored under ``merchant_id``: ids of another merchant's sessions join nothing.
    """
    event = purchase_of(merchant_id=merchant_id, order=order, now=now or datetime.now(UTC))
    try:
        (published,) = events.emit(app, merchant_id=merchant_id, events=[event], store=store)
    except InvalidEvents as exc:
        # Said of the order's body, not of the event made from it; gateway.problems maps it.
        raise InvalidEvents(
            f"The order cannot be recorded: {_reasons(exc.errors)}",
            errors=[_body_error(e) for e in exc.errors],
        ) from None
    return event, published.event.occurred_at


def _body_error(error: dict[str, Any]) -> dict[str, Any]:
    """An error about the one event, located in the order's body instead."""
    loc = list(error.get("loc", []))
    field = loc[2:] if loc[:1] == ["events"] else loc
    return {**error, "loc": ["body", *field]}


def _reasons(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in _body_error(e)['loc'][1:])} {e.get('msg', '')}".strip()
        for e in errors
    )
