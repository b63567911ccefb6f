"""Server-side events: what the gateway itself emits (orders: ``POST /v1/orders``, the demo
store's checkout, later the platforms' order webhooks).

Call ``emit`` from a request handler (or anything holding the app) with events built from
``analytics.schema``; the same pipeline as the widget's events carries them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import FastAPI

from analytics.errors import PublishRefused
from analytics.ingest import records_for
from analytics.schema import (
    SCHEMA_VERSION,
    Event,
    EventRecord,
    OrderUpdated,
    OrderUpdatedProperties,
    Purchase,
    PurchaseLine,
    PurchaseProperties,
)
from gateway.errors import ServiceUnavailable
from gateway.events.lifespan import pipeline_of

# Fixed namespace: the same order always gets the same event id, so a webhook delivered
# twice (or an order re-sent by two topics) is one purchase.
_PURCHASE_NAMESPACE = uuid.UUID("0f7c3e0a-6d53-4c1e-9b0e-7a2f4b1d8c55")


def purchase_event_id(*, merchant_id: uuid.UUID, order_id: str) -> uuid.UUID:
    return uuid.uuid5(_PURCHASE_NAMESPACE, f"{merchant_id}:{order_id}")


_ORDER_UPDATE_NAMESPACE = uuid.UUID("6b1f2a94-3c0e-4d7b-8e55-2f9a1c7d0b33")


def order_update(
    *,
    merchant_id: uuid.UUID,
    order_id: str,
    status: str,
    refunded: Decimal | None,
    currency: str,
    occurred_at: datetime,
) -> OrderUpdated:
    """An ``order_updated`` event (a cancellation or refund of a recorded order). Its id
    comes from the order, the status and the amount: the same change sent twice is one
    event, a later refund of more is another."""
    amount = "" if refunded is None else format(refunded.normalize(), "f")
    return OrderUpdated(
        schema_version=SCHEMA_VERSION,
        event_id=uuid.uuid5(_ORDER_UPDATE_NAMESPACE, f"{merchant_id}:{order_id}:{status}:{amount}"),
        type="order_updated",
        occurred_at=occurred_at,
        widget_session_id=None,
        product_id=None,
        properties=OrderUpdatedProperties(
            order_id=order_id,
            status=status,
            refunded=refunded,
            currency=currency,
        ),
    )


def purchase(
    *,
    merchant_id: uuid.UUID,
    order_id: str,
    occurred_at: datetime,
    revenue: Decimal,
    currency: str,
    lines: Sequence[PurchaseLine],
    widget_session_id: str | None = None,
    cart_token: str | None = None,
) -> Purchase:
    """A purchase event from an order: ``widget_session_id`` from the order's
    ``_tryon_widget_session`` attribute, each line's ``tryon_session_id`` from its
    ``_tryon_session`` property, ``cart_token`` the store's cart id where the store cannot
    carry those (docs/attribution.md)."""
    return Purchase(
        schema_version=SCHEMA_VERSION,
        event_id=purchase_event_id(merchant_id=merchant_id, order_id=order_id),
        type="purchase",
        occurred_at=occurred_at,
        widget_session_id=widget_session_id,
        product_id=None,
        properties=PurchaseProperties(
            order_id=order_id,
            revenue=revenue,
            currency=currency,
            lines=list(lines),
            cart_token=cart_token,
        ),
    )


def emit(
    app: FastAPI,
    *,
    merchant_id: uuid.UUID,
    events: Sequence[Event],
    store: str | None = None,
) -> list[EventRecord]:
    """Publish server-side events (returns their queue records, times as stored);
    ``ServiceUnavailable`` (503) when they cannot be taken.

    ``store`` names the platform shop (e.g. ``example.myshopify.com``) when known. Events
    older than ``TRYON_ANALYTICS_MAX_EVENT_AGE_HOURS`` raise ``analytics.errors.InvalidEvents``
    (an order replayed long after the fact should be imported, not emitted).
    """
    pipeline = pipeline_of(app)
    records = records_for(
        list(events),
        merchant_id=merchant_id,
        store=store,
        source="server",
        received_at=datetime.now(UTC),
        settings=pipeline.settings,
    )
    try:
        pipeline.publish(records)
    except PublishRefused as exc:
        raise ServiceUnavailable(
            "Analytics cannot take more events right now", retry_after=exc.retry_after_s
        ) from None
    return records
