"""Turn a client's batch into queue records: parse, validate, correct clocks, enrich."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from analytics.clock import corrected_time
from analytics.errors import InvalidEvents
from analytics.schema import SERVER_ONLY_TYPES, Event, EventBatch, EventRecord
from analytics.settings import AnalyticsSettings


class MalformedBody(InvalidEvents):
    """The body is not JSON at all (as opposed to JSON that fails the schema)."""


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    # ``input`` is left out on purpose: it would echo whatever the client sent.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors(include_url=False)[:50]
    ]


def parse_batch(body: bytes, *, settings: AnalyticsSettings) -> EventBatch:
    """Validate a ``POST /v1/events`` body; ``MalformedBody`` or ``InvalidEvents`` if bad."""
    try:
        batch = EventBatch.model_validate_json(body)
    except ValidationError as exc:
        errors = _errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            raise MalformedBody("the body is not valid JSON", errors=errors) from None
        raise InvalidEvents("the events do not match the schema", errors=errors) from None
    if len(batch.events) > settings.max_batch_events:
        raise InvalidEvents(
            f"at most {settings.max_batch_events} events per batch",
            errors=[
                {"loc": ["events"], "msg": "too many events", "type": "too_long"},
            ],
        )
    return batch


def records_for(
    events: list[Event],
    *,
    merchant_id: uuid.UUID,
    store: str | None,
    source: Literal["widget", "server"],
    received_at: datetime,
    settings: AnalyticsSettings,
    sent_at: datetime | None = None,
) -> list[EventRecord]:
    """Queue records for ``events``: clocks corrected, too old or server-only ones refused."""
    oldest = received_at - timedelta(hours=settings.max_event_age_hours)
    errors: list[dict[str, Any]] = []
    records: list[EventRecord] = []
    for index, event in enumerate(events):
        if source == "widget" and event.type in SERVER_ONLY_TYPES:
            errors.append(
                {
                    "loc": ["events", index, "type"],
                    "msg": f"{event.type} events are sent by the server only",
                    "type": "server_only",
                }
            )
            continue
        when = corrected_time(
            occurred_at=event.occurred_at, received_at=received_at, sent_at=sent_at
        )
        if when < oldest:
            errors.append(
                {
                    "loc": ["events", index, "occurred_at"],
                    "msg": f"older than {settings.max_event_age_hours} hours",
                    "type": "too_old",
                }
            )
            continue
        records.append(
            EventRecord(
                merchant_id=merchant_id,
                store=store,
                source=source,
                received_at=received_at,
                client_occurred_at=event.occurred_at,
                event=event.model_copy(update={"occurred_at": when}),
            )
        )
    if errors:
        raise InvalidEvents("some events cannot be accepted", errors=errors)
    return records
