"""What widget calls read, through the read cache (``gateway.readcache``): the key's record,
a product's widget view (variants and try-on assets), the brand models and the month's quota
use. Each comes from the cache when it is there, else from the database (and is stored).

``changed_keys`` maps rows a flush wrote to the entries they feed; ``gateway.main`` installs it
so that every commit that changes them invalidates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from gateway.assets import service as assets
from gateway.assets.models import BrandModelPhoto, ModelPhotoKind, TryOnAsset
from gateway.errors import NotFound
from gateway.experiments import service as experiments
from gateway.experiments.models import Experiment
from gateway.keys import service as keys
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants.models import Merchant
from gateway.products import service as products
from gateway.products.models import Category, Product, ProductVariant
from gateway.readcache import (
    Codec,
    Read,
    ReadCache,
    experiment_key,
    key_record_key,
    merchant_key,
    models_key,
    product_key,
    quota_key,
)
from gateway.sessions.models import TryOnSession
from gateway.usage import service as usage


@dataclass(frozen=True, slots=True)
class VariantView:
    id: uuid.UUID
    external_id: str
    title: str
    color: str | None
    size: str | None
    measurements: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AssetView:
    variant_id: uuid.UUID | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product as the widget sees it: no store, SKU or timestamps."""

    merchant_id: uuid.UUID
    id: uuid.UUID
    external_id: str
    title: str
    category: Category
    image: str | None
    """The first product image, if any."""
    variants: tuple[VariantView, ...]
    assets: tuple[AssetView, ...]
    """Prepared try-on assets, oldest first."""

    def variant(self, ref: str | None) -> VariantView | None:
        """The variant by id or external id; None when ``ref`` is None; else ``NotFound``."""
        if ref is None:
            return None
        for variant in self.variants:
            if str(variant.id) == ref or variant.external_id == ref:
                return variant
        raise NotFound("No such variant of this product")

    def asset_for(self, variant: VariantView | None) -> AssetView | None:
        """The newest asset for ``variant``, else the newest for the product as a whole."""
        if variant is not None:
            own = [a for a in self.assets if a.variant_id == variant.id]
            if own:
                return own[-1]
        general = [a for a in self.assets if a.variant_id is None]
        if general:
            return general[-1]
        # A product whose only assets belong to other variants still shows one of them.
        return self.assets[-1] if self.assets and variant is None else None


@dataclass(frozen=True, slots=True)
class ModelView:
    id: uuid.UUID
    name: str
    kind: ModelPhotoKind


@dataclass(frozen=True, slots=True)
class MerchantModels:
    merchant_id: uuid.UUID
    models: tuple[ModelView, ...]
    """Every brand model photo of the merchant, oldest first."""


@dataclass(frozen=True, slots=True)
class QuotaUse:
    merchant_id: uuid.UUID
    month: str
    used: int


@dataclass(frozen=True, slots=True)
class ExperimentView:
    id: uuid.UUID
    salt: str
    holdout_share: float


@dataclass(frozen=True, slots=True)
class MerchantExperiment:
    merchant_id: uuid.UUID
    running: ExperimentView | None
    """The running holdout period; None when the merchant runs none."""


_KEYS = Codec(keys.KeyRecord)
_EXPERIMENTS = Codec(MerchantExperiment)
_PRODUCTS = Codec(ProductView)
_MODELS = Codec(MerchantModels)
_QUOTA = Codec(QuotaUse)


def principal(*, session: Session, reads: ReadCache, raw_key: str, now: datetime) -> keys.Principal:
    """The principal behind ``raw_key`` at ``now`` (as ``keys.authenticate``). Publishable
    keys' records are cached; secret keys are always read from the database."""
    key_hash = keys.checked_hash(raw_key)
    record = reads.read(key_read(session, key_hash))
    return keys.principal_of(record, now=now)


def key_read(session: Session | None, key_hash: str) -> Read[keys.KeyRecord]:
    """The read of a publishable key's record (``session`` None: only to peek at the cache)."""

    def load() -> keys.KeyRecord | None:
        assert session is not None, "a peek never loads"
        return keys.load_record(session=session, key_hash=key_hash)

    return Read(
        "widget_key",
        key_record_key(key_hash),
        _KEYS,
        load,
        accept=lambda r: r.kind is KeyKind.PUBLISHABLE,
    )


def product(*, session: Session, reads: ReadCache, merchant_id: uuid.UUID, ref: str) -> ProductView:
    """The merchant's product by id or external id (as ``products.find_for_widget``)."""
    return _found(reads.read(_product_read(session, merchant_id, ref)))


def brand_models(
    *,
    session: Session,
    reads: ReadCache,
    merchant_id: uuid.UUID,
    kinds: Sequence[ModelPhotoKind],
) -> list[ModelView]:
    """The merchant's brand model photos of ``kinds``, oldest first."""
    found = reads.read(_models_read(session, merchant_id))
    return [m for m in found.models if m.kind in kinds] if found else []


@dataclass(frozen=True, slots=True)
class ConfigReads:
    product: ProductView
    models: list[ModelView]
    """The brand model photos the product's category can use."""
    quota: usage.QuotaState
    """For showing it: the check before a try-on (``gateway.limits.quota``) reads the database."""
    experiment: ExperimentView | None


def for_config(
    *,
    session: Session,
    reads: ReadCache,
    merchant_id: uuid.UUID,
    ref: str,
    quota_limit: int,
    now: datetime,
) -> ConfigReads:
    """What the widget configuration shows, in one round trip to the cache when it holds it."""
    # Assigned, then unpacked: mypy infers the overload's types from an unpacking target wrongly.
    read = reads.read_many(
        _product_read(session, merchant_id, ref),
        _models_read(session, merchant_id),
        _quota_read(session, merchant_id, quota_limit, now),
        _experiment_read(session, merchant_id),
    )
    found, models, use, running = read
    view = _found(found)
    kinds = assets.MODEL_KINDS_FOR[view.category]
    return ConfigReads(
        product=view,
        models=[m for m in models.models if m.kind in kinds] if models else [],
        quota=usage.QuotaState(limit=quota_limit, used=use.used if use else 0),
        experiment=running.running if running else None,
    )


def _found(view: ProductView | None) -> ProductView:
    if view is None:  # the loader raises NotFound instead; this keeps the type narrow
        raise NotFound("No such product")
    return view


def _product_read(session: Session, merchant_id: uuid.UUID, ref: str) -> Read[ProductView]:
    try:
        product_id: uuid.UUID | None = uuid.UUID(ref)
    except ValueError:
        product_id = None

    def answers(view: ProductView) -> bool:
        # An id-shaped ref names the product with that id; only when there is none does it
        # name an external id, and that answer is not cached under the id's key.
        mine = view.merchant_id == merchant_id
        return mine and (view.id == product_id if product_id else view.external_id == ref)

    key = (
        product_key(merchant_id, product_id=product_id)
        if product_id
        else product_key(merchant_id, external_id=ref)
    )
    return Read(
        "widget_product",
        key,
        _PRODUCTS,
        lambda: _load_product(session, merchant_id, ref),
        accept=answers,
    )


def _load_product(session: Session, merchant_id: uuid.UUID, ref: str) -> ProductView:
    found = products.find_for_widget(session=session, merchant_id=merchant_id, ref=ref)
    rows = assets.list_assets(session=session, merchant_id=merchant_id, product_id=found.id)
    return ProductView(
        merchant_id=found.merchant_id,
        id=found.id,
        external_id=found.external_id,
        title=found.title,
        category=found.category,
        image=found.images[0] if found.images else None,
        variants=tuple(
            VariantView(
                id=v.id,
                external_id=v.external_id,
                title=v.title,
                color=v.color,
                size=v.size,
                measurements=dict(v.measurements),
            )
            for v in found.variants
        ),
        assets=tuple(AssetView(variant_id=a.variant_id, content_hash=a.content_hash) for a in rows),
    )


def _models_read(session: Session, merchant_id: uuid.UUID) -> Read[MerchantModels]:
    def load() -> MerchantModels:
        rows = assets.list_models(session=session, merchant_id=merchant_id)
        return MerchantModels(
            merchant_id=merchant_id,
            models=tuple(ModelView(id=m.id, name=m.name, kind=m.kind) for m in rows),
        )

    return Read(
        "widget_models",
        models_key(merchant_id),
        _MODELS,
        load,
        accept=lambda v: v.merchant_id == merchant_id,
    )


def _experiment_read(session: Session, merchant_id: uuid.UUID) -> Read[MerchantExperiment]:
    def load() -> MerchantExperiment:
        row = experiments.current(session=session, merchant_id=merchant_id)
        view = None
        if row is not None:
            view = ExperimentView(id=row.id, salt=row.salt, holdout_share=row.holdout_share)
        return MerchantExperiment(merchant_id=merchant_id, running=view)

    return Read(
        "widget_experiment",
        experiment_key(merchant_id),
        _EXPERIMENTS,
        load,
        accept=lambda v: v.merchant_id == merchant_id,
    )


def _quota_read(
    session: Session, merchant_id: uuid.UUID, limit: int, now: datetime
) -> Read[QuotaUse]:
    day = now.astimezone(UTC).date()
    month = f"{day:%Y-%m}"

    def load() -> QuotaUse:
        state = usage.quota_state(session=session, merchant_id=merchant_id, limit=limit, now=now)
        return QuotaUse(merchant_id=merchant_id, month=month, used=state.used)

    return Read(
        "widget_quota",
        quota_key(merchant_id, day),
        _QUOTA,
        load,
        accept=lambda q: q.merchant_id == merchant_id and q.month == month,
    )


# --- invalidation -----------------------------------------------------------------------------


def changed_keys(session: Session, rows: list[object]) -> set[str]:
    """The cache keys fed by ``rows``, which a flush of ``session`` inserted, updated or
    deleted (called from ``after_flush``: ids are set and attribute history is still there)."""
    out: set[str] = set()
    product_ids: set[uuid.UUID] = set()
    merchant_ids: set[uuid.UUID] = set()
    for row in rows:
        if isinstance(row, ApiKey):
            if row not in session.new and _changed(row) <= {"last_used_at"}:
                continue  # usage bookkeeping; not part of the cached record
            out.update(key_record_key(h) for h in _values(row, "key_hash"))
        elif isinstance(row, Merchant):
            merchant_ids.add(row.id)  # status and quota live in its keys' records
        elif isinstance(row, Product):
            for merchant_id in _values(row, "merchant_id"):
                out.add(product_key(merchant_id, product_id=row.id))
                out.update(
                    product_key(merchant_id, external_id=e) for e in _values(row, "external_id")
                )
        elif isinstance(row, ProductVariant | TryOnAsset):
            product_ids.update(p for p in _values(row, "product_id") if p is not None)
        elif isinstance(row, BrandModelPhoto):
            out.update(models_key(m) for m in _values(row, "merchant_id"))
        elif isinstance(row, Experiment):
            out.update(experiment_key(m) for m in _values(row, "merchant_id"))
        out.update(_generations(row, product_ids))
    if merchant_ids:
        hashes = (
            session.connection()
            .execute(select(ApiKey.key_hash).where(ApiKey.merchant_id.in_(merchant_ids)))
            .scalars()
        )
        out.update(key_record_key(h) for h in hashes)
    if product_ids:
        found = session.connection().execute(
            select(Product.merchant_id, Product.id, Product.external_id).where(
                Product.id.in_(product_ids)
            )
        )
        for merchant_id, product_id, external_id in found:
            out.add(product_key(merchant_id, product_id=product_id))
            out.add(product_key(merchant_id, external_id=external_id))
            out.add(merchant_key(merchant_id))
    return out


_NOT_READ_BY_WIDGET: tuple[type, ...] = (TryOnSession,)
"""Rows no widget read depends on and that are written per shopper: they would otherwise
bump their merchant's generation on every try-on session."""


def _generations(row: object, product_ids: set[uuid.UUID]) -> set[str]:
    """The merchant generations a written row bumps (``readcache.merchant_key``), whatever
    its type: a merchant, anything with a ``merchant_id``, or anything with a ``product_id``
    (through its product, in ``product_ids``). Generic, so that a table or a column added
    later (merchant settings, experiments) invalidates the rendered configuration without
    being named here; only rows listed in ``_NOT_READ_BY_WIDGET`` are left out."""
    if isinstance(row, _NOT_READ_BY_WIDGET):
        return set()
    if isinstance(row, Merchant):
        return {merchant_key(row.id)}
    mapper = inspect(row).mapper
    if "merchant_id" in mapper.attrs:
        return {merchant_key(m) for m in _values(row, "merchant_id")}
    if "product_id" in mapper.attrs:
        product_ids.update(p for p in _values(row, "product_id") if p is not None)
    return set()


def _changed(row: object) -> set[str]:
    """Names of the attributes of ``row`` with unflushed changes."""
    return {attr.key for attr in inspect(row).attrs if attr.history.has_changes()}


def _values(row: object, name: str) -> Iterable[Any]:
    """The attribute's current value and any value it had before this flush."""
    history = inspect(row).attrs[name].history
    seen = [*history.unchanged, *history.added, *history.deleted]
    return dict.fromkeys(v for v in seen if v is not None) or [getattr(row, name)]
