from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, new_id, utcnow
from gateway.db.types import str_enum


class TryOnMode(StrEnum):
    LIVE = "live"
    PHOTO = "photo"
    MODEL = "model"


class TryOnSession(Base):
    """One shopper's try-on. Holds no image and no personal data, only counters."""

    __tablename__ = "tryon_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None
    )
    widget_session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    mode: Mapped[TryOnMode] = mapped_column(str_enum(TryOnMode, 16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    renders: Mapped[int] = mapped_column(default=0)
