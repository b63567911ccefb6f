from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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
    REDACTED = "redacted"
    """The shop's data was erased (``shop/redact``); the row stays as a tombstone so a late
    webhook for the shop changes nothing."""


class SyncStatus(StrEnum):
    NEVER = "never"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    """Finished, but some products failed (see ``sync_failures``)."""
    FAILED = "failed"


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
    """Fernet ciphertext (see ``gateway.platforms.crypto``); never the token itself."""
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    """A second credential where the platform has one (a per-store webhook secret, a
    consumer secret), encrypted like the tokens."""
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the platform needs later and is not a secret (primary domain, store hash)."""
    scopes: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[StoreStatus] = mapped_column(
        str_enum(StoreStatus, 16), default=StoreStatus.PENDING
    )
    installed_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(default=None)
    redacted_at: Mapped[datetime | None] = mapped_column(default=None)
    widget_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    """The publishable key made for this shop (origins: the shop's storefront origins). No
    foreign key: SQLite would have to rebuild ``stores`` to add one, and rebuilding a table
    others reference with ``ON DELETE`` actions rewrites their rows."""
    widget_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    """That key itself, encrypted: the platform's admin page hands it to the theme."""

    sync_status: Mapped[SyncStatus] = mapped_column(
        str_enum(SyncStatus, 16), default=SyncStatus.NEVER
    )
    sync_started_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Counts of the last run: seen, imported, updated, unmapped, deleted, failed, assets."""
    sync_failures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The last run's failures: ``{"external_id", "title", "reason"}``, at most 50."""
