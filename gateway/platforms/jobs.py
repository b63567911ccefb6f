"""The durable job queue: rows in ``platform_jobs``, committed before anyone is answered.

- ``enqueue`` adds a job in the caller's transaction (a webhook's job commits with its dedupe
  record, which is the job itself: ``dedupe_key`` is unique).
- ``claim`` takes the next due job: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  any number of workers share the table; on SQLite one worker thread per process takes jobs
  under the database's own write lock. A claimed job is leased (``locked_until``): when its
  worker dies, the job is taken again after the lease.
- ``finish`` / ``fail``: failures retry with exponential backoff (with jitter) until
  ``max_attempts``, then the job is dead and stays for the operator (``tryon platforms jobs``,
  ``tryon platforms retry``).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.platforms.models import JobKind, JobStatus, PlatformJob

_MAX_ERROR_CHARS = 2000
_MAX_BACKOFF_S = 3600.0


@dataclass(frozen=True)
class Claimed:
    """A job as the worker runs it (detached from any session)."""

    id: uuid.UUID
    kind: JobKind
    store_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int


def enqueue(
    *,
    session: Session,
    kind: JobKind,
    store_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> PlatformJob | None:
    """Add a job to run now; None when a job with ``dedupe_key`` already exists (in a
    savepoint, so a concurrent duplicate rolls back only itself). The caller commits."""
    now = now or utcnow()
    if dedupe_key is not None and session.scalar(
        select(PlatformJob.id).where(PlatformJob.dedupe_key == dedupe_key)
    ):
        return None
    job = PlatformJob(
        kind=kind,
        store_id=store_id,
        payload=payload or {},
        dedupe_key=dedupe_key,
        run_after=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None
    return job


def claim(*, session: Session, now: datetime, lease_s: float) -> Claimed | None:
    """Take the next due job (pending and due, or running with an expired lease), counting
    the attempt; the caller commits at once so the lease is visible.

    The take is a compare-and-set ``UPDATE`` on the job's status and attempt count, so two
    claimers never both get it, on SQLite too (where the read is not locked); on PostgreSQL
    ``FOR UPDATE SKIP LOCKED`` also sends concurrent claimers to different jobs."""
    due = or_(
        (PlatformJob.status == JobStatus.PENDING) & (PlatformJob.run_after <= now),
        (PlatformJob.status == JobStatus.RUNNING) & (PlatformJob.locked_until <= now),
    )
    query = (
        select(
            PlatformJob.id,
            PlatformJob.status,
            PlatformJob.attempts,
            PlatformJob.kind,
            PlatformJob.store_id,
            PlatformJob.payload,
        )
        .where(due)
        .order_by(PlatformJob.run_after, PlatformJob.created_at)
        .limit(5)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for row in session.execute(query).all():
        taken = session.execute(
            sql_update(PlatformJob)
            .where(
                PlatformJob.id == row.id,
                PlatformJob.status == row.status,
                PlatformJob.attempts == row.attempts,
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=row.attempts + 1,
                locked_until=now + timedelta(seconds=lease_s),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return Claimed(
                id=row.id,
                kind=row.kind,
                store_id=row.store_id,
                payload=dict(row.payload),
                attempts=row.attempts + 1,
            )
    return None


def finish(
    *, session: Session, job_id: uuid.UUID, now: datetime, result: dict[str, Any] | None = None
) -> None:
    """The job is done: it stays (as the dedupe record) until ``prune``; ``result`` (counts,
    a data request's report) is kept in its payload for the operator."""
    job = session.get(PlatformJob, job_id)
    if job is not None:
        if result is not None:
            job.payload = {**job.payload, "result": result}
        job.status = JobStatus.DONE
        job.finished_at = now
        job.locked_until = None
        job.last_error = None


def backoff_s(attempts: int, *, base_s: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempts``: ``base * 2**(attempts-1)``, capped at an hour,
    with up to 25 % jitter so jobs failing together do not retry together."""
    delay = min(base_s * (2 ** max(attempts - 1, 0)), _MAX_BACKOFF_S)
    jitter: float = (rng or random.Random()).random()
    return float(delay * (1 + 0.25 * jitter))


def fail(
    *,
    session: Session,
    job_id: uuid.UUID,
    error: str,
    now: datetime,
    max_attempts: int,
    base_backoff_s: float,
    rng: random.Random | None = None,
) -> JobStatus:
    """Record a failed attempt: back to pending after a backoff, or dead after the last."""
    job = session.get(PlatformJob, job_id)
    if job is None:
        return JobStatus.DEAD
    job.last_error = error[:_MAX_ERROR_CHARS]
    job.locked_until = None
    if job.attempts >= max_attempts:
        job.status = JobStatus.DEAD
        job.finished_at = now
    else:
        job.status = JobStatus.PENDING
        job.run_after = now + timedelta(
            seconds=backoff_s(job.attempts, base_s=base_backoff_s, rng=rng)
        )
    return job.status


def retry_dead(*, session: Session, now: datetime, job_id: uuid.UUID | None = None) -> int:
    """Give dead jobs (or one) a fresh set of attempts; returns how many."""
    query = select(PlatformJob).where(PlatformJob.status == JobStatus.DEAD)
    if job_id is not None:
        query = query.where(PlatformJob.id == job_id)
    count = 0
    for job in session.scalars(query):
        job.status = JobStatus.PENDING
        job.attempts = 0
        job.run_after = now
        job.finished_at = None
        count += 1
    return count


def counts(*, session: Session) -> dict[str, int]:
    """How many jobs are in each status (for the operator and readiness)."""
    rows = session.execute(
        select(PlatformJob.status, func.count()).group_by(PlatformJob.status)
    ).all()
    return {status.value: n for status, n in rows}


def prune(*, session: Session, older_than: datetime) -> int:
    """Delete done jobs finished before ``older_than`` (their dedupe keys with them: keep
    them longer than the platforms retry, Shopify's 48 hours)."""
    rows = list(
        session.scalars(
            select(PlatformJob).where(
                PlatformJob.status == JobStatus.DONE, PlatformJob.finished_at < older_than
            )
        )
    )
    for job in rows:
        session.delete(job)
    return len(rows)
