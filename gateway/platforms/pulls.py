"""Scheduled order pulls, for platforms that send no order webhooks (``OrderPuller``).

Magento Open Source has no outbound webhooks: its module posts each order as it is placed,
and the gateway also lists recent orders on a schedule so that an order whose post failed
is not missed. A pull is a durable job (``JobKind.PULL_ORDERS``) like every other:

- ``run`` asks the adapter for the orders changed since the last pull (less
  ``OVERLAP``, for clocks that disagree) and enqueues each as a webhook job whose dedupe key
  is the delivery id the adapter gives it, the same id a push of the same order state gets:
  an order pushed and pulled is one job, a pull after a push changes nothing, and an order
  that changed since (cancelled, refunded) is a new delivery;
- then it schedules the next pull ``TRYON_PLATFORM_ORDER_PULL_INTERVAL_S`` later, keyed by
  the pull that made it, so a pull that runs twice (its worker died) schedules one successor;
- ``ensure_scheduled`` starts the chain (at install) and restarts it where it broke (a pull
  that went dead while the store was down): the platform's routes call it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.session import session_scope
from gateway.platforms import intake, jobs
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import JobKind, JobStatus, PlatformJob
from gateway.platforms.protocol import Connection, OrderPuller
from gateway.stores.models import Platform

OVERLAP = timedelta(minutes=15)
FIRST_LOOKBACK = timedelta(days=1)
"""How far back the first pull of a store looks."""


def schedule(
    *,
    session: Session,
    store_id: uuid.UUID,
    now: datetime,
    interval_s: float,
    since: datetime | None,
    dedupe_key: str,
    delay: bool = True,
) -> PlatformJob | None:
    """Enqueue the store's pull for ``now + interval`` (or now with ``delay=False``); None
    when ``dedupe_key`` was used already. The caller commits."""
    run_at = now + timedelta(seconds=interval_s) if delay else now
    job = jobs.enqueue(
        session=session,
        kind=JobKind.PULL_ORDERS,
        store_id=store_id,
        payload={"since": since.isoformat() if since else None},
        dedupe_key=dedupe_key,
        now=now,
    )
    if job is not None:
        job.run_after = run_at
    return job


def ensure_scheduled(
    *, session: Session, store_id: uuid.UUID, now: datetime, interval_s: float
) -> PlatformJob | None:
    """A pull now when the store has none pending or running (the chain's start or restart)."""
    waiting = session.scalar(
        select(PlatformJob.id).where(
            PlatformJob.store_id == store_id,
            PlatformJob.kind == JobKind.PULL_ORDERS,
            PlatformJob.status.in_((JobStatus.PENDING, JobStatus.RUNNING)),
        )
    )
    if waiting is not None:
        return None
    return schedule(
        session=session,
        store_id=store_id,
        now=now,
        interval_s=interval_s,
        since=None,
        dedupe_key=f"pull:{store_id}:start:{int(now.timestamp() // interval_s)}",
        delay=False,
    )


def run(
    *,
    engine: Any,
    job_id: uuid.UUID,
    platform: Platform,
    store_id: uuid.UUID,
    payload: dict[str, Any],
    adapter: object,
    client: PlatformClient,
    connection: Connection,
    now: datetime,
    interval_s: float,
) -> dict[str, Any]:
    """One pull (see the module doc); what it found and queued, for the operator."""
    if not isinstance(adapter, OrderPuller):
        return {"pulled": 0, "queued": 0}
    raw = payload.get("since")
    since = datetime.fromisoformat(raw) if isinstance(raw, str) else now - FIRST_LOOKBACK
    deliveries = adapter.pull_orders(client=client, connection=connection, since=since - OVERLAP)
    queued = 0
    with session_scope(engine) as session:
        for delivery in deliveries:
            job = jobs.enqueue(
                session=session,
                kind=JobKind.WEBHOOK,
                store_id=store_id,
                payload=intake.delivery_to_payload(delivery),
                dedupe_key=intake.dedupe_key(platform.value, delivery.delivery_id),
                now=now,
            )
            queued += job is not None
        schedule(
            session=session,
            store_id=store_id,
            now=now,
            interval_s=interval_s,
            since=now,
            dedupe_key=f"pull:{store_id}:after:{job_id}",
        )
    return {"pulled": len(deliveries), "queued": queued}
