"""An integration activation between Magento's credentials post and the merchant's confirm."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id


class PendingActivation(TimestampMixin, Base):
    """What Magento posted to the integration's endpoint URL, kept (secrets encrypted) until
    the identity link is confirmed and the tokens are exchanged, then deleted.

    One row per consumer key; a second post for the same consumer (the merchant clicked
    *Reauthorize*) replaces the verifier, never the store it is for.
    """

    __tablename__ = "magento_activations"
    __table_args__ = (UniqueConstraint("consumer_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    consumer_key: Mapped[str] = mapped_column(String(64))
    store_base_url: Mapped[str] = mapped_column(String(255))
    consumer_secret_encrypted: Mapped[str] = mapped_column(Text)
    verifier_encrypted: Mapped[str] = mapped_column(Text)
