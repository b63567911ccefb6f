"""``POST /v1/events``: batched widget events in, queue records out, ``202``."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from analytics.ingest import parse_batch, records_for
from analytics.schema import SERVER_ONLY_TYPES, Event, EventBatch
from analytics.settings import AnalyticsSettings
from analytics.uplift import assigned_arm
from gateway.db.session import session_scope
from gateway.errors import (
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from gateway.events.lifespan import pipeline_of
from gateway.experiments import service as experiments
from gateway.widget.deps import BeaconWidgetDep
from gateway.widget.views import WIDGET_ERRORS

router = APIRouter(tags=["widget: events"])

_CONTENT_TYPES = {"application/json", "text/plain"}

EXAMPLE = {
    "sent_at": "2026-11-22T10:00:01Z",
    "events": [
        {
            "schema_version": 1,
            "event_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
            "type": "tryon_rendered",
            "occurred_at": "2026-11-22T10:00:00Z",
            "widget_session_id": "w-4f1c2a9e7b",
            "tryon_session_id": "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d",
            "product_id": "aviator-gold",
            "variant_id": None,
            "properties": {"mode": "live", "category": "eyewear", "latency_ms": 84.5},
        }
    ],
}


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"At most {limit} bytes per batch")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"At most {limit} bytes per batch")
        chunks.append(chunk)
    return b"".join(chunks)


def widget_batch_schema() -> dict[str, Any]:
    """``EventBatch`` as a page may send it: no server-only types, at most the default batch
    size, times within the default age window (``x-max-age-hours``: JSON Schema cannot say
    "within the last 7 days")."""
    defaults = AnalyticsSettings.model_fields
    schema = EventBatch.model_json_schema()
    events = schema["properties"]["events"]
    events["maxItems"] = defaults["max_batch_events"].default
    union = events["items"]
    server_only = {f"#/$defs/{schema_name(t)}" for t in SERVER_ONLY_TYPES}
    union["oneOf"] = [ref for ref in union["oneOf"] if ref["$ref"] not in server_only]
    mapping = union["discriminator"]["mapping"]
    for kind in SERVER_ONLY_TYPES:
        mapping.pop(kind, None)
    for kind in SERVER_ONLY_TYPES:
        schema["$defs"].pop(schema_name(kind), None)
    schema["x-max-age-hours"] = defaults["max_event_age_hours"].default
    return schema


def schema_name(event_type: str) -> str:
    """The ``$defs`` name of an event type's model (``add_to_cart`` -> ``AddToCart``)."""
    for model in typing.get_args(typing.get_args(Event)[0]):
        if typing.get_args(model.model_fields["type"].annotation)[0] == event_type:
            return str(model.__name__)
    raise KeyError(event_type)


@router.post(
    "/v1/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a batch of widget analytics events",
    description=(
        "Publishable key (`Authorization: Bearer pk_...`, or `?key=pk_...` for "
        "`navigator.sendBeacon`) from one of the key's allowed origins, within the widget "
        "rate limits. Body: JSON "
        "(`application/json` or `text/plain`), at most 128 KiB and 100 events; see "
        "docs/analytics.md for every event type. The whole batch is accepted (202) or "
        "refused: 400 not JSON, 413 too large, 415 other media types, 422 schema errors "
        "(per event, with their location), 503 with Retry-After while the pipeline cannot "
        "take more. `purchase` events are server-side only. Events older than 7 days are "
        "refused; `sent_at` (the client's clock at sending) lets the server correct clock "
        "skew. Events carry no personal data: unknown fields are refused."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": widget_batch_schema(), "example": EXAMPLE}},
        }
    },
    responses={
        202: {"content": {"application/json": {"example": {"accepted": 1}}}},
        400: {"description": "Not JSON (problem+json)"},
        413: {"description": "Too large (problem+json)"},
        415: {"description": "Not JSON media type (problem+json)"},
        409: {
            "description": "An event's `experiment` is not one of the merchant's periods, or "
            "its `arm` is not the one that period gives the shopper (problem+json with `errors`)"
        },
        422: {"description": "Schema errors (problem+json with `errors`)"},
        **WIDGET_ERRORS,
        503: {"description": "Buffer full, retry later (problem+json, Retry-After)"},
    },
)
async def post_events(request: Request, caller: BeaconWidgetDep) -> dict[str, int]:
    # Key, origin, limits and CORS (preflights included) are the widget API's own
    # (``gateway.widget.auth``, ``gateway.api.edge.WidgetCorsMiddleware``).
    accepted = await _ingest(request, caller.principal.merchant_id, caller.origin)
    return {"accepted": accepted}


async def _ingest(request: Request, merchant_id: Any, origin: str) -> int:
    pipeline = pipeline_of(request.app)
    settings = pipeline.settings
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _CONTENT_TYPES:
        raise UnsupportedMediaType("Send the batch as application/json (or text/plain)")
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise UnsupportedMediaType("Compressed bodies are not accepted")
    body = await read_bounded(request, settings.max_body_bytes)
    received_at = datetime.now(UTC)
    # Analytics errors (a malformed or invalid batch, a full buffer) become problems in
    # gateway.problems, like everywhere else.
    batch = parse_batch(body, settings=settings)
    if any(e.experiment is not None for e in batch.events):
        await run_in_threadpool(_check_arms, request, merchant_id, batch)
    records = records_for(
        batch.events,
        merchant_id=merchant_id,
        store=origin,
        source="widget",
        received_at=received_at,
        sent_at=batch.sent_at,
        settings=settings,
    )
    pipeline.publish(records)
    return len(records)


def _check_arms(request: Request, merchant_id: Any, batch: EventBatch) -> None:
    """Events of a holdout experiment must name one of the merchant's periods and the arm
    that period's salt and share give their shopper: a page cannot move a shopper to the
    other arm, nor count in another merchant's experiment."""
    wanted = {e.experiment.id for e in batch.events if e.experiment is not None}
    with session_scope(request.app.state.engine) as session:
        known = experiments.assignments(
            session=session, merchant_id=merchant_id, experiment_ids=wanted
        )
    errors: list[dict[str, Any]] = []
    for index, event in enumerate(batch.events):
        tag = event.experiment
        if tag is None:
            continue
        found = known.get(tag.id)
        if found is None:
            errors.append(
                {
                    "loc": ["events", index, "experiment", "id"],
                    "msg": "unknown experiment",
                    "type": "value_error",
                }
            )
        elif assigned_arm(tag.shopper_id, *found) != tag.arm:
            errors.append(
                {
                    "loc": ["events", index, "experiment", "arm"],
                    "msg": "not this shopper's arm",
                    "type": "value_error",
                }
            )
    if errors:
        # Schema-valid events that contradict the merchant's experiments (as the state stands),
        # like a forged arm: a conflict, with where it is.
        raise Conflict("Events name an experiment or arm that does not hold", errors=errors)
