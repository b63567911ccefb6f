"""Catalog sync: the shop's catalog pages into our products, images into try-on assets.

``sync_store`` walks ``adapter.fetch_catalog_page`` (the throttle-aware ``PlatformClient``
does the waiting) and applies each product with ``apply_product`` in its own transaction:

- the merchant's category rules (``gateway.platforms.mapping``) give the product a category;
  **a product that maps to no category is not imported** (our products need a category to be
  tried on), and one imported before is removed; it is counted as ``unmapped``;
- the product is upserted by external id (title, images, tags, variants with colour and size read
  from the platform's option names, price, and whether the platform sells it now);
- its featured image is fetched through the SSRF-safe fetcher (``safefetch``) and prepared
  into a try-on asset (the ML engine's ``prepare_asset``), unless an asset from that image URL
  exists already: a re-sync fetches nothing it has;
- after the last page, this store's products the platform no longer lists are deleted (with
  their assets and blobs).

One product's failure (an image host down, an image the ML cannot use) is recorded on the
store with its reason and the sync goes on; the store's sync state (status, counts, failures,
times) is what the dashboard, ``GET /v1/stores`` and the platform's admin page show.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.assets.models import TryOnAsset
from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import GatewayError, SyncFailed
from gateway.ml import ML_EXCEPTIONS, anchors_json, delete_stored_asset, store_asset
from gateway.platforms import installs, mapping
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import CategoryRule
from gateway.platforms.protocol import CatalogProduct, CatalogVariant, PlatformAdapter
from gateway.products.models import Category, Product, ProductVariant
from gateway.settings import GatewaySettings
from gateway.storage import Storage
from gateway.stores.models import Store, StoreStatus, SyncStatus
from gateway.usage import service as usage
from ml_service.engine import TryOnEngine

log = structlog.get_logger("gateway.platforms.sync")

MAX_FAILURES_KEPT = 50
_COLOR_NAMES = frozenset({"color", "colour", "farbe", "couleur", "colore", "kleur"})
_SIZE_NAMES = frozenset({"size", "größe", "groesse", "taille", "taglia", "maat"})


class FetchImage(Protocol):
    def __call__(self, url: str) -> bytes: ...


@dataclass
class SyncResult:
    """What one run did (stored on the store as ``sync_counts`` / ``sync_failures``)."""

    seen: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    unmapped: int = 0
    deleted: int = 0
    failed: int = 0
    assets_prepared: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "unmapped": self.unmapped,
            "deleted": self.deleted,
            "failed": self.failed,
            "assets_prepared": self.assets_prepared,
        }

    def fail(self, product: CatalogProduct, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(
                {"external_id": product.external_id, "title": product.title[:200], "reason": reason}
            )


@dataclass(frozen=True)
class SyncDeps:
    """What a sync needs besides the database: ML, blob storage and the image fetcher."""

    storage: Storage
    ml: TryOnEngine
    fetch_image: FetchImage


def _option(variant: CatalogVariant, names: frozenset[str], limit: int) -> str | None:
    for name, value in variant.options.items():
        if name.strip().lower() in names and value:
            return value.strip()[:limit]
    return None


def _variants(product: CatalogProduct) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for v in product.variants:
        external_id = v.external_id[:128]
        if not external_id or external_id in seen:
            continue
        seen.add(external_id)
        out.append(
            {
                "external_id": external_id,
                "title": (v.title or product.title)[:300],
                "sku": (v.sku or None) and v.sku[:128],
                "color": _option(v, _COLOR_NAMES, 64),
                "size": _option(v, _SIZE_NAMES, 32),
                "price_e4": _price_e4(v.price),
                "in_stock": v.available,
            }
        )
    return out


def _price_e4(price: str | None) -> int | None:
    """A platform's price string in 1/10000 (None when it is not a plain decimal)."""
    if price is None or not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,4})?", price.strip()):
        return None
    return int(Decimal(price.strip()) * 10_000)


def delete_product(*, session: Session, storage: Storage, product: Product) -> int:
    """Delete a product with its assets and their blobs; returns the blobs' asset count.

    Blobs go first: a crash after them leaves rows pointing at nothing (the storage sweep and
    a re-sync repair that), never blobs nobody points at."""
    assets = list(session.scalars(select(TryOnAsset).where(TryOnAsset.product_id == product.id)))
    for asset in assets:
        delete_stored_asset(storage, str(product.merchant_id), asset.content_hash)
        session.delete(asset)
    session.delete(product)
    session.flush()
    return len(assets)


def _find(session: Session, store: Store, external_id: str) -> Product | None:
    return session.scalar(
        select(Product).where(
            Product.merchant_id == store.merchant_id, Product.external_id == external_id[:128]
        )
    )


def apply_product(
    *,
    session: Session,
    store: Store,
    product: CatalogProduct,
    rules: Sequence[CategoryRule],
    deps: SyncDeps,
    result: SyncResult,
    now: datetime,
) -> None:
    """Upsert one catalog product (see the module doc); counts into ``result``."""
    result.seen += 1
    existing = _find(session, store, product.external_id)
    if existing is not None and existing.store_id not in (None, store.id):
        result.fail(product, "the external id belongs to a product of another store")
        return
    category = mapping.category_for(rules, product) if product.active else None
    if category is None:
        result.unmapped += 1
        if existing is not None:
            delete_product(session=session, storage=deps.storage, product=existing)
        return
    fields = {
        "title": (product.title or product.external_id)[:300],
        "category": category,
        "images": list(product.images[:20]),
        "tags": [t.strip()[:64] for t in product.tags if t.strip()][:50],
    }
    variants = _variants(product)
    if existing is None:
        existing = Product(
            merchant_id=store.merchant_id,
            store_id=store.id,
            external_id=product.external_id[:128],
            **fields,
            variants=[ProductVariant(position=i, **v) for i, v in enumerate(variants)],
        )
        session.add(existing)
        session.flush()
        result.imported += 1
    else:
        changed = _update(existing, fields, variants, store.id)
        if changed:
            existing.updated_at = now
            result.updated += 1
        else:
            result.unchanged += 1
        session.flush()
    if product.images:
        _prepare_asset(
            session=session,
            store=store,
            product=existing,
            url=product.images[0],
            category=category,
            deps=deps,
            result=result,
            source=product,
            now=now,
        )


def _update(
    row: Product, fields: dict[str, Any], variants: list[dict[str, Any]], store_id: uuid.UUID
) -> bool:
    changed = False
    if row.store_id != store_id:
        row.store_id = store_id
        changed = True
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    current = [
        {
            k: getattr(v, k)
            for k in ("external_id", "title", "sku", "color", "size", "price_e4", "in_stock")
        }
        for v in row.variants
    ]
    if current != variants:
        existing = {v.external_id: v for v in row.variants}
        kept: list[ProductVariant] = []
        for position, incoming in enumerate(variants):
            variant = existing.get(incoming["external_id"]) or ProductVariant(
                external_id=incoming["external_id"]
            )
            for name, value in incoming.items():
                setattr(variant, name, value)
            variant.position = position
            kept.append(variant)
        row.variants = kept
        changed = True
    return changed


def _prepare_asset(
    *,
    session: Session,
    store: Store,
    product: Product,
    url: str,
    category: Category,
    deps: SyncDeps,
    result: SyncResult,
    source: CatalogProduct,
    now: datetime,
) -> None:
    assets = list(session.scalars(select(TryOnAsset).where(TryOnAsset.product_id == product.id)))
    if any(a.source == url[:1024] and a.category == category for a in assets):
        return
    try:
        image = deps.fetch_image(url)
        prepared = deps.ml.prepare_asset(image, category.value)
    except GatewayError as exc:
        result.fail(source, f"image {exc.slug}: {exc.detail}"[:500])
        return
    except ML_EXCEPTIONS as exc:
        result.fail(source, f"asset preparation failed: {exc}"[:500])
        return
    merchant = str(store.merchant_id)
    same = session.scalar(
        select(TryOnAsset).where(
            TryOnAsset.merchant_id == store.merchant_id,
            TryOnAsset.content_hash == prepared.content_hash,
        )
    )
    if same is not None and same.product_id != product.id:
        result.fail(source, "the image is already the try-on asset of another product")
        return
    # The product's old assets (another image, another category) give way to the new one.
    for old in assets:
        if old is not same:
            delete_stored_asset(deps.storage, merchant, old.content_hash)
            session.delete(old)
    if same is None:
        key = store_asset(deps.storage, merchant, prepared)
        session.add(
            TryOnAsset(
                merchant_id=store.merchant_id,
                product_id=product.id,
                category=category,
                content_hash=prepared.content_hash,
                storage_key=key,
                anchors=anchors_json(prepared),
                source=url[:1024],
            )
        )
    else:
        same.source = url[:1024]
        same.category = category
    session.flush()
    usage.record(
        session=session, merchant_id=store.merchant_id, metric=usage.Metric.ASSET_PREPARED, now=now
    )
    result.assets_prepared += 1


Progress = Callable[[int], object]
"""Called with the number of products just handled (a tqdm bar's ``update``)."""


def sync_store(
    *,
    engine: Engine,
    store_id: uuid.UUID,
    adapter: PlatformAdapter,
    client: PlatformClient,
    settings: GatewaySettings,
    deps: SyncDeps,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SyncResult:
    """Sync the whole catalog of an active store (see the module doc); returns what it did.

    Errors fetching a page (the platform down after every retry, the token revoked) end the
    run as ``failed`` with the reason recorded, and re-raise so a job retries later."""
    result = SyncResult()
    with session_scope(engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        if store.status is not StoreStatus.ACTIVE:
            return result
        connection = installs.connection_for(settings=settings, store=store)
        store.sync_status = SyncStatus.RUNNING
        store.sync_started_at = clock()
    seen: set[str] = set()
    cursor: str | None = None
    try:
        while True:
            page = adapter.fetch_catalog_page(client=client, connection=connection, cursor=cursor)
            for product in page.products:
                seen.add(product.external_id[:128])
                _apply_one(
                    engine=engine,
                    store_id=store_id,
                    product=product,
                    deps=deps,
                    result=result,
                    now=clock(),
                )
                if progress is not None:
                    progress(1)
            cursor = page.next_cursor
            if not cursor or not page.products:
                break
        with session_scope(engine) as session:
            store = installs.get_store(session=session, store_id=store_id)
            gone = (
                session.scalars(
                    select(Product).where(
                        Product.store_id == store_id, Product.external_id.not_in(seen)
                    )
                ).all()
                if seen
                else session.scalars(select(Product).where(Product.store_id == store_id)).all()
            )
            for gone_product in gone:
                delete_product(session=session, storage=deps.storage, product=gone_product)
                result.deleted += 1
    except Exception as exc:
        _record(engine, store_id, result, SyncStatus.FAILED, clock(), error=_reason(exc))
        raise
    status = SyncStatus.PARTIAL if result.failed else SyncStatus.SUCCEEDED
    _record(engine, store_id, result, status, clock())
    log.info("platforms.sync.done", store_id=str(store_id), **result.counts())
    return result


def _reason(exc: BaseException) -> str:
    if isinstance(exc, GatewayError):
        return f"{exc.slug}: {exc.detail}"[:500]
    return f"{type(exc).__name__}"[:500]


def _apply_one(
    *,
    engine: Engine,
    store_id: uuid.UUID,
    product: CatalogProduct,
    deps: SyncDeps,
    result: SyncResult,
    now: datetime,
) -> None:
    try:
        with session_scope(engine) as session:
            store = installs.get_store(session=session, store_id=store_id)
            rules = mapping.rules_of(session=session, store_id=store_id)
            apply_product(
                session=session,
                store=store,
                product=product,
                rules=rules,
                deps=deps,
                result=result,
                now=now,
            )
    except GatewayError as exc:
        result.fail(product, _reason(exc))


def _record(
    engine: Engine,
    store_id: uuid.UUID,
    result: SyncResult,
    status: SyncStatus,
    now: datetime,
    *,
    error: str | None = None,
) -> None:
    failures = list(result.failures)
    if error is not None:
        failures.insert(0, {"external_id": "", "title": "", "reason": error})
    with session_scope(engine) as session:
        store = session.get(Store, store_id)
        if store is None:
            return
        store.sync_status = status
        store.sync_finished_at = now
        store.sync_counts = result.counts()
        store.sync_failures = failures[:MAX_FAILURES_KEPT]


def sync_product(
    *,
    engine: Engine,
    store_id: uuid.UUID,
    external_id: str,
    adapter: PlatformAdapter,
    client: PlatformClient,
    settings: GatewaySettings,
    deps: SyncDeps,
    clock: Callable[[], datetime] = utcnow,
) -> SyncResult:
    """Fetch one product again (a product webhook) and apply it; gone on the platform: ours
    is deleted."""
    result = SyncResult()
    with session_scope(engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        if store.status is not StoreStatus.ACTIVE:
            return result
        connection = installs.connection_for(settings=settings, store=store)
    product = adapter.fetch_product(client=client, connection=connection, external_id=external_id)
    if product is None:
        delete_external(
            engine=engine, store_id=store_id, external_id=external_id, storage=deps.storage
        )
        result.deleted += 1
        return result
    _apply_one(
        engine=engine,
        store_id=store_id,
        product=product,
        deps=deps,
        result=result,
        now=clock(),
    )
    if result.failed:
        raise SyncFailed(result.failures[-1]["reason"])
    return result


def delete_external(
    *, engine: Engine, store_id: uuid.UUID, external_id: str, storage: Storage
) -> bool:
    """Delete this store's product with ``external_id`` (idempotent); whether one was there."""
    with session_scope(engine) as session:
        product = session.scalar(
            select(Product).where(
                Product.store_id == store_id, Product.external_id == external_id[:128]
            )
        )
        if product is None:
            return False
        delete_product(session=session, storage=storage, product=product)
        return True
