"""What the web pixel told us about an order, kept until the order webhook's purchase joins it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id


class PixelEvidence(TimestampMixin, Base):
    """The try-on session ids the pixel saw on one order's checkout (never a purchase).

    One row per store and order: a second ``checkout_completed`` for the same order only
    fills ids the first did not have. ``consumed_at`` is set when the order's purchase was
    built (by then it is too late to add ids: the warehouse keeps the first content).
    """

    __tablename__ = "shopify_pixel_evidence"
    __table_args__ = (UniqueConstraint("store_id", "order_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str] = mapped_column(String(128))
    widget_session_id: Mapped[str | None] = mapped_column(String(64), default=None)
    line_sessions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"p:<product id>" | "v:<variant id>": tryon session id}``."""
    consumed_at: Mapped[datetime | None] = mapped_column(default=None)
