"""The monthly try-on quota: try-ons are reserved before the work and given back when it fails.

``reserve`` takes one try-on from the merchant's month in one conditional update and commits
it at once, so that concurrent requests see it (and no row stays locked while the work runs);
``release`` gives it back when the try-on fails. ``check`` only looks (work that is not a
try-on, such as an analysis with a size recommendation, needs a quota left but takes none).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.errors import QuotaExceeded
from gateway.readcache import invalidate_on_commit, quota_key
from gateway.usage import service as usage

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Try-ons taken from one month's quota (given back to that month, whenever that is)."""

    merchant_id: uuid.UUID
    month: date
    count: int


def seconds_to_next_month(now: datetime) -> int:
    """Whole seconds from ``now`` to 00:00 UTC on the first of the next month (pure)."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(year, month, 1, tzinfo=UTC)
    return max(1, int((start - now).total_seconds()))


def _exceeded(limit: int, now: datetime) -> QuotaExceeded:
    return QuotaExceeded(
        f"This shop's {limit} try-ons for the month are used up",
        retry_after=seconds_to_next_month(now),
    )


def check(
    *, session: Session, merchant_id: uuid.UUID, limit: int, now: datetime
) -> usage.QuotaState:
    """The merchant's quota state against ``limit``; ``QuotaExceeded`` (429) when used up."""
    state = usage.quota_state(session=session, merchant_id=merchant_id, limit=limit, now=now)
    if state.exhausted:
        raise _exceeded(limit, now)
    return state


def reserve(
    *, session: Session, merchant_id: uuid.UUID, limit: int, now: datetime, count: int = 1
) -> Reservation:
    """Take ``count`` try-ons from this month's quota and commit ``session``;
    ``QuotaExceeded`` (429) when fewer are left."""
    month, _ = usage.month_bounds(now.astimezone(UTC).date())
    used = usage.reserve(
        session=session, merchant_id=merchant_id, limit=limit, month=month, count=count
    )
    if used is not None:
        invalidate_on_commit(session, [quota_key(merchant_id, month)])
    session.commit()
    if used is None:
        raise _exceeded(limit, now)
    return Reservation(merchant_id=merchant_id, month=month, count=count)


def release(*, session: Session, reservation: Reservation) -> None:
    """Give a reservation back and commit; what the session held uncommitted is dropped (the
    work it was for failed). When the database fails now the reservation stays (logged): the
    month counts a try-on that did not happen, never one too few."""
    try:
        session.rollback()
        usage.release(
            session=session,
            merchant_id=reservation.merchant_id,
            month=reservation.month,
            count=reservation.count,
        )
        invalidate_on_commit(session, [quota_key(reservation.merchant_id, reservation.month)])
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("quota_release_failed", error=type(exc).__name__)
