"""Tables of the store connection core: durable jobs (webhooks, syncs) and category rules.

The installation record itself is ``gateway.stores.models.Store`` (extended with encrypted
tokens, status, sync state and the shop's widget key); it is re-exported here so platform
code imports its models from one place.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id
from gateway.db.types import str_enum
from gateway.products.models import Category
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus

__all__ = [
    "CategoryRule",
    "JobKind",
    "JobStatus",
    "Platform",
    "PlatformJob",
    "RuleField",
    "Store",
    "StoreStatus",
    "SyncStatus",
]


class JobKind(StrEnum):
    WEBHOOK = "webhook"
    """A verified delivery: parse it into domain events and handle them."""
    SYNC_STORE = "sync_store"
    SYNC_PRODUCT = "sync_product"
    ENSURE_WEBHOOKS = "ensure_webhooks"
    PULL_ORDERS = "pull_orders"
    """List recent orders (platforms without order webhooks) and schedule the next pull."""


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    """Failed ``TRYON_PLATFORM_JOB_MAX_ATTEMPTS`` times; shown by ``tryon platforms jobs``."""


class PlatformJob(TimestampMixin, Base):
    """Work to do after a webhook was answered or an install finished: committed before the
    answer, run by the worker, retried with backoff, never lost to a restart.

    ``dedupe_key`` is unique: a webhook delivery's is ``webhook:{platform}:{delivery id}``, so
    a delivery received twice (a retry, two replicas at once) is one job.
    """

    __tablename__ = "platform_jobs"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_platform_jobs_due", "status", "run_after"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[JobKind] = mapped_column(str_enum(JobKind, 32))
    dedupe_key: Mapped[str | None] = mapped_column(String(255), default=None)
    store_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True, default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, 16), default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    """A running job whose worker died is taken again once this passes."""
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class RuleField(StrEnum):
    PRODUCT_TYPE = "product_type"
    TAG = "tag"
    COLLECTION = "collection"


class CategoryRule(TimestampMixin, Base):
    """The merchant's mapping: products whose type, tag or collection equals ``value``
    (case-insensitive) get ``category``. The lowest ``position`` that matches wins."""

    __tablename__ = "category_rules"
    __table_args__ = (UniqueConstraint("store_id", "field", "value"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[RuleField] = mapped_column(str_enum(RuleField, 16))
    value: Mapped[str] = mapped_column(String(255))
    category: Mapped[Category] = mapped_column(str_enum(Category, 16))
    position: Mapped[int] = mapped_column(default=0)
