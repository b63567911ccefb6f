"""Bodies of the store endpoints (``/v1/stores``): installations, sync state, category rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.platforms.models import RuleField
from gateway.products.models import Category
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus


class SyncFailure(BaseModel):
    external_id: str
    title: str
    reason: str


class SyncState(BaseModel):
    status: SyncStatus
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = Field(
        description="seen, imported, updated, unchanged, unmapped, deleted, failed, "
        "assets_prepared (of the last run)"
    )
    failures: list[SyncFailure] = Field(description="The last run's failures, at most 50")


class StoreOut(BaseModel):
    id: uuid.UUID
    platform: Platform
    shop: str
    status: StoreStatus
    scopes: list[str]
    installed_at: datetime | None
    uninstalled_at: datetime | None
    storefront_origins: list[str] = Field(description="The widget key's allowed origins")
    sync: SyncState


class StoreList(BaseModel):
    data: list[StoreOut]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: RuleField = Field(description="What to match: product_type, tag or collection")
    value: str = Field(min_length=1, max_length=255, description="Compared case-insensitively")
    category: Category


class RuleOut(RuleIn):
    id: uuid.UUID
    position: int


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(max_length=200, description="Tried in this order")


class RuleList(BaseModel):
    data: list[RuleOut]


class SyncQueued(BaseModel):
    store_id: uuid.UUID
    status: SyncStatus


def store_out(store: Store) -> StoreOut:
    """The store as ``GET /v1/stores`` and the platforms' admin pages show it."""
    from gateway.platforms.installs import storefront_origins  # noqa: PLC0415 - no cycle at import

    failures: list[Any] = store.sync_failures or []
    return StoreOut(
        id=store.id,
        platform=store.platform,
        shop=store.shop_domain,
        status=store.status,
        scopes=list(store.scopes),
        installed_at=store.installed_at,
        uninstalled_at=store.uninstalled_at,
        storefront_origins=storefront_origins(store),
        sync=SyncState(
            status=store.sync_status,
            started_at=store.sync_started_at,
            finished_at=store.sync_finished_at,
            counts={k: int(v) for k, v in (store.sync_counts or {}).items()},
            failures=[SyncFailure.model_validate(f) for f in failures],
        ),
    )
