"""The monthly try-on quota: counted in the database (``usage``), checked before work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.errors import QuotaExceeded
from gateway.merchants.models import Merchant
from gateway.usage import service as usage


def seconds_to_next_month(now: datetime) -> int:
    """Whole seconds from ``now`` to 00:00 UTC on the first of the next month (pure)."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(year, month, 1, tzinfo=UTC)
    return max(1, int((start - now).total_seconds()))


def check(*, session: Session, merchant_id: uuid.UUID, now: datetime) -> usage.QuotaState:
    """The merchant's quota state; ``QuotaExceeded`` (429) when it is used up."""
    merchant = session.get(Merchant, merchant_id)
    limit = merchant.monthly_tryon_quota if merchant is not None else 0
    state = usage.quota_state(session=session, merchant_id=merchant_id, limit=limit, now=now)
    if state.exhausted:
        raise QuotaExceeded(
            f"This shop's {limit} try-ons for the month are used up",
            retry_after=seconds_to_next_month(now),
        )
    return state
