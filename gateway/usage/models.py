from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base


class UsageDaily(Base):
    """How many times a merchant used one metered feature on one UTC day."""

    __tablename__ = "usage_daily"

    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class QuotaUse(Base):
    """Try-ons taken from a merchant's quota in one UTC month, reserved before the work starts.

    Changed only by conditional updates (``gateway.usage.service.reserve``), so concurrent
    try-ons can never take more than the limit. ``usage_daily`` keeps what was done; this row
    is what the quota is checked against."""

    __tablename__ = "quota_use"

    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(primary_key=True)
    """The first day of the month."""
    used: Mapped[int] = mapped_column(default=0)
