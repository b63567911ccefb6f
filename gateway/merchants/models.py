from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id
from gateway.db.types import str_enum


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Merchant(TimestampMixin, Base):
    """A tenant. Every other row is scoped by ``merchant_id``."""

    __tablename__ = "merchants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[MerchantStatus] = mapped_column(
        str_enum(MerchantStatus, 16), default=MerchantStatus.ACTIVE
    )
    monthly_tryon_quota: Mapped[int] = mapped_column(default=10_000)
    analytics_retention_days: Mapped[int | None] = mapped_column(default=None)
    """Warehouse rows older than this many days are dropped (``tryon analytics retention``);
    None keeps them for the platform default (``TRYON_ANALYTICS_RETENTION_DAYS``)."""
