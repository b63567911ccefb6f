"""Webhook intake: verify, dedupe, hand off durably, answer; the work runs after the answer.

A platform's webhook route reads the raw body with ``read_body`` (capped before it is all in
memory) and calls ``receive``. ``receive``:

1. refuses bodies over ``TRYON_PLATFORM_WEBHOOK_MAX_BYTES`` (413);
2. lets the adapter check the signature on the raw bytes in constant time (401 problem+json
   otherwise) and decode the delivery (400 for a body that is not JSON);
3. refuses deliveries that say they happened more than ``MAX_AGE`` ago or too far in the
   future (401: a replay after the dedupe record is gone);
4. for a shop we do not know (or one already redacted) returns: 200, nothing changes;
5. inserts one ``platform_jobs`` row whose unique ``dedupe_key`` is the platform's delivery
   id, and commits it before returning: a second delivery of the same id (a retry, a replay,
   two replicas at once) finds it and does nothing.

The worker (``gateway.platforms.worker``) runs the job: the adapter parses the delivery into
domain events and ``gateway.platforms.handlers`` applies them, idempotently.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.errors import PayloadTooLarge, Unauthorized
from gateway.platforms import installs, jobs, worker
from gateway.platforms.models import JobKind
from gateway.platforms.protocol import PlatformAdapter, WebhookDelivery
from gateway.settings import GatewaySettings
from gateway.stores.models import StoreStatus

MAX_AGE = timedelta(hours=72)
"""Older deliveries are refused: longer than Shopify retries (48 h), shorter than ``prune``
keeps dedupe records (``PRUNE_AFTER``), so a replay is caught by one or the other."""
MAX_SKEW = timedelta(minutes=5)
PRUNE_AFTER = timedelta(days=7)


def dedupe_key(platform: str, delivery_id: str) -> str:
    return f"webhook:{platform}:{delivery_id}"[:255]


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, refusing (413) as soon as it exceeds ``max_bytes``: a declared length
    over the cap is refused before reading, a chunked body once it passes it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def delivery_to_payload(delivery: WebhookDelivery) -> dict[str, object]:
    """A verified delivery as the job stores it (JSON)."""
    return {
        "delivery_id": delivery.delivery_id,
        "shop": delivery.shop,
        "topic": delivery.topic,
        "payload": dict(delivery.payload),
        "occurred_at": delivery.occurred_at.isoformat() if delivery.occurred_at else None,
    }


def payload_to_delivery(payload: Mapping[str, object]) -> WebhookDelivery:
    """The delivery a job was made from."""
    occurred = payload.get("occurred_at")
    body = payload.get("payload")
    return WebhookDelivery(
        delivery_id=str(payload["delivery_id"]),
        shop=str(payload["shop"]),
        topic=str(payload["topic"]),
        payload=body if isinstance(body, dict) else {},
        occurred_at=datetime.fromisoformat(occurred) if isinstance(occurred, str) else None,
    )


def receive(
    *,
    session: Session,
    settings: GatewaySettings,
    adapter: PlatformAdapter,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Take one webhook delivery in (see the module doc); commits before returning."""
    if len(body) > settings.platform_webhook_max_bytes:
        raise PayloadTooLarge(
            f"The body is {len(body)} bytes; the limit is {settings.platform_webhook_max_bytes}"
        )
    lowered = {k.lower(): v for k, v in headers.items()}
    delivery = adapter.verify_webhook(headers=lowered, body=body, now=now)
    if delivery.occurred_at is not None and not (
        now - MAX_AGE <= delivery.occurred_at <= now + MAX_SKEW
    ):
        raise Unauthorized("The webhook is too old or from the future")
    platform = adapter.platform.value
    store = installs.find_store(session=session, platform=adapter.platform, shop=delivery.shop)
    if store is None or store.status is StoreStatus.REDACTED:
        return
    job = jobs.enqueue(
        session=session,
        kind=JobKind.WEBHOOK,
        store_id=store.id,
        payload=delivery_to_payload(delivery),
        dedupe_key=dedupe_key(platform, delivery.delivery_id),
        now=now,
    )
    session.commit()
    if job is not None:
        worker.wake()
