"""Build events and records for tests (explicit values, no randomness but the ids)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from analytics.schema import Event, EventRecord

EVENT = TypeAdapter(Event)

PROPERTIES: dict[str, dict[str, Any]] = {
    "impression": {},
    "open": {},
    "tryon_started": {"mode": "live"},
    "tryon_rendered": {"mode": "live", "category": "eyewear", "latency_ms": 120.0},
    "tryon_failed": {"reason": "no_face"},
    "size_recommended": {"size": "M"},
    "add_to_cart": {"quantity": 1},
}


def event_json(
    type_: str = "impression",
    *,
    occurred_at: datetime | str | None = None,
    widget_session_id: str | None = "wsession-0001",
    product_id: str | None = "glasses-a",
    properties: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An event as a client sends it."""
    when = occurred_at or datetime.now(UTC)
    body: dict[str, Any] = {
        "schema_version": 1,
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": when if isinstance(when, str) else when.isoformat(),
        "widget_session_id": widget_session_id,
        "product_id": product_id,
        "properties": copy.deepcopy(
            PROPERTIES.get(type_, {}) if properties is None else properties
        ),
    }
    body.update(extra)
    return body


def record(
    merchant_id: uuid.UUID,
    type_: str = "impression",
    *,
    occurred_at: datetime,
    source: str = "widget",
    store: str | None = "https://shop.example",
    **event: Any,
) -> EventRecord:
    """A queue record, as the gateway builds it (occurred_at taken as the corrected time)."""
    parsed = EVENT.validate_python(event_json(type_, occurred_at=occurred_at, **event))
    return EventRecord(
        merchant_id=merchant_id,
        store=store,
        source=source,  # type: ignore[arg-type]
        received_at=occurred_at,
        client_occurred_at=occurred_at,
        event=parsed,
    )


def purchase(
    merchant_id: uuid.UUID,
    *,
    occurred_at: datetime,
    order_id: str,
    revenue: str,
    currency: str = "EUR",
    lines: list[dict[str, Any]],
    widget_session_id: str | None = None,
) -> EventRecord:
    return record(
        merchant_id,
        "purchase",
        occurred_at=occurred_at,
        source="server",
        widget_session_id=widget_session_id,
        product_id=None,
        properties={
            "order_id": order_id,
            "revenue": str(Decimal(revenue)),
            "currency": currency,
            "lines": lines,
        },
    )
