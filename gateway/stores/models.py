from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id
from gateway.db.types import str_enum


class Platform(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    MAGENTO = "magento"
    BIGCOMMERCE = "bigcommerce"
    CUSTOM = "custom"


class StoreStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNINSTALLED = "uninstalled"


class Store(TimestampMixin, Base):
    """One installation of the app on a platform shop."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("platform", "shop_domain"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, 16))
    shop_domain: Mapped[str] = mapped_column(String(255))
    access_token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    """Fernet ciphertext (see ``gateway.crypto``); never the token itself."""
    scopes: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[StoreStatus] = mapped_column(
        str_enum(StoreStatus, 16), default=StoreStatus.PENDING
    )
    installed_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(default=None)
