"""Count metered use (one atomic upsert per event) and report it per month; reserve try-ons
against the monthly quota (one conditional update, so concurrent try-ons cannot overshoot)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.readcache import invalidate_on_commit, quota_key
from gateway.usage.models import QuotaUse, UsageDaily


class Metric(StrEnum):
    """What is counted. The try-on kinds count against the monthly quota."""

    TRYON_PHOTO = "tryon_photo"
    TRYON_LIVE = "tryon_live"
    TRYON_MODEL = "tryon_model"
    ANALYZE = "analyze"
    LIVE_FRAMES = "live_frames"
    ASSET_PREPARED = "asset_prepared"


QUOTA_METRICS = (Metric.TRYON_PHOTO, Metric.TRYON_LIVE, Metric.TRYON_MODEL)


@dataclass(frozen=True, slots=True)
class QuotaState:
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit


def month_bounds(month: date) -> tuple[date, date]:
    """First day of ``month`` and first day of the next month (pure)."""
    start = month.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def record(
    *, session: Session, merchant_id: uuid.UUID, metric: Metric, now: datetime, count: int = 1
) -> None:
    """Add ``count`` to today's counter for ``metric`` (atomic upsert, no read first). A try-on
    invalidates the month's cached quota use once the transaction commits."""
    if count <= 0:
        return
    day = now.astimezone(UTC).date()
    values = {
        "merchant_id": merchant_id,
        "day": day,
        "metric": metric.value,
        "count": count,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(UsageDaily).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["merchant_id", "day", "metric"],
        set_={"count": UsageDaily.count + stmt.excluded.count},
    )
    session.execute(stmt)
    if metric in QUOTA_METRICS:
        invalidate_on_commit(session, [quota_key(merchant_id, day)])


def by_day(*, session: Session, merchant_id: uuid.UUID, month: date) -> dict[date, dict[str, int]]:
    """Counters of one month, per day and metric."""
    start, end = month_bounds(month)
    rows = session.execute(
        select(UsageDaily.day, UsageDaily.metric, UsageDaily.count).where(
            UsageDaily.merchant_id == merchant_id, UsageDaily.day >= start, UsageDaily.day < end
        )
    )
    out: dict[date, dict[str, int]] = {}
    for day, metric, count in rows:
        out.setdefault(day, {})[metric] = count
    return out


def quota_state(
    *, session: Session, merchant_id: uuid.UUID, limit: int, now: datetime
) -> QuotaState:
    """Try-ons used (or reserved) this UTC month against ``limit``."""
    start, _ = month_bounds(now.astimezone(UTC).date())
    used = session.scalar(
        select(QuotaUse.used).where(QuotaUse.merchant_id == merchant_id, QuotaUse.month == start)
    )
    if used is None:  # nothing reserved yet this month
        used = _counted(session, merchant_id, start)
    return QuotaState(limit=limit, used=used)


def _counted(session: Session, merchant_id: uuid.UUID, month: date) -> int:
    """Try-ons recorded in ``usage_daily`` in the month starting on ``month``."""
    start, end = month_bounds(month)
    used = session.scalar(
        select(func.coalesce(func.sum(UsageDaily.count), 0)).where(
            UsageDaily.merchant_id == merchant_id,
            UsageDaily.day >= start,
            UsageDaily.day < end,
            UsageDaily.metric.in_([m.value for m in QUOTA_METRICS]),
        )
    )
    return int(used or 0)


def reserve(
    *, session: Session, merchant_id: uuid.UUID, limit: int, month: date, count: int = 1
) -> int | None:
    """Take ``count`` try-ons from the quota of ``month`` (its first day) in one conditional
    ``UPDATE``: the use after taking them, or None (nothing taken) when that would pass
    ``limit``. The month's row is made first when missing, from what ``usage_daily``
    counted. The caller commits (at once: the row stays locked until then)."""
    used = _take(session, merchant_id, month, limit, count)
    if used is None:
        _seed(session, merchant_id, month)
        used = _take(session, merchant_id, month, limit, count)
    return used


def release(*, session: Session, merchant_id: uuid.UUID, month: date, count: int = 1) -> None:
    """Give back try-ons that ``reserve`` took and that did not happen."""
    session.execute(
        update(QuotaUse)
        .where(
            QuotaUse.merchant_id == merchant_id,
            QuotaUse.month == month,
            QuotaUse.used >= count,
        )
        .values(used=QuotaUse.used - count)
        .execution_options(synchronize_session=False)
    )


def _take(
    session: Session, merchant_id: uuid.UUID, month: date, limit: int, count: int
) -> int | None:
    used = session.scalar(
        update(QuotaUse)
        .where(
            QuotaUse.merchant_id == merchant_id,
            QuotaUse.month == month,
            QuotaUse.used + count <= limit,
        )
        .values(used=QuotaUse.used + count)
        .returning(QuotaUse.used)
        .execution_options(synchronize_session=False)
    )
    return None if used is None else int(used)


def _seed(session: Session, merchant_id: uuid.UUID, month: date) -> None:
    """Make the month's row when it is missing (when two make it at once, one of them wins:
    the same value)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(QuotaUse)
        .values(merchant_id=merchant_id, month=month, used=_counted(session, merchant_id, month))
        .on_conflict_do_nothing(index_elements=["merchant_id", "month"])
    )
