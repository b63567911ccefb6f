from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime, new_id


class Experiment(Base):
    """One period of a merchant's holdout: a share of shoppers who do not see try-on.

    Changing the share ends the running period and starts another with a new salt, so the
    shoppers are assigned afresh and the periods' figures never mix. At most one period of a
    merchant is running (``ended_at`` null)."""

    __tablename__ = "experiments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    salt: Mapped[str] = mapped_column(String(32))
    """Random hex: with the shopper's id it decides the arm (``analytics.uplift``)."""
    holdout_basis_points: Mapped[int] = mapped_column(Integer)
    """The holdout share in 1/10000 (1-5000: up to half the shoppers)."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_experiments_merchant_started", "merchant_id", "started_at"),)

    @property
    def holdout_share(self) -> float:
        return self.holdout_basis_points / 10_000
