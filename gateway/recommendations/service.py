"""Recommendations for a product: the merchant's catalog and co-occurrence, cached per
merchant, scored by ``gateway.recommendations.scoring``.

Two things are cached per merchant in this process (``Recommender``), each with a bounded
refresh:

- the *catalog* (every product's facts: category, stock, price, colours, tags, and from its
  prepared asset the frame shape and width), read again ``catalog_ttl_s`` after it was read;
- the *co-occurrence* (``analytics.cooccurrence``), read from the warehouse again
  ``cooccurrence_ttl_s`` after it was read. A stale entry keeps answering while one
  background thread per merchant reads the new one, and a merchant not read yet is read in
  the background too (that first answer is content only), so a widget call never waits on
  the warehouse (the merchant API does, for a fresh answer); a warehouse that fails leaves
  the old entry (or none: content only) and is asked again after ``retry_s``.

At most ``max_merchants`` merchants are held (least recently used out). Only merchant data
is held: product facts and product-to-product scores, nothing about a shopper.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from analytics import cooccurrence
from gateway.assets.models import TryOnAsset
from gateway.errors import NotFound
from gateway.products.models import Product
from gateway.recommendations.scoring import Item, Scored, norm_tag, recommend, shape_from_tags
from ml_service.advice import colour_name, frame_shape

log = structlog.get_logger("gateway.recommendations")
T = TypeVar("T")
MAX_MERCHANTS = 1000
MISS_RELOAD_S = 5.0


@dataclass(frozen=True, slots=True)
class Tuning:
    catalog_ttl_s: float = 60.0
    cooccurrence_ttl_s: float = 600.0
    retry_s: float = 30.0
    window_days: int = 180
    half_life_days: float = 30.0
    min_support: int = 2


@dataclass(frozen=True, slots=True)
class Catalog:
    items: tuple[Item, ...]

    def find(self, ref: str) -> Item:
        """A product by id or external id (as the widget names it), else ``NotFound``."""
        for item in self.items:
            if str(item.id) == ref:
                return item
        for item in self.items:
            if item.external_id == ref:
                return item
        raise NotFound("No such product")


def item_of(product: Product, assets: list[TryOnAsset]) -> Item:
    """A product's facts for recommendations (pure over the rows)."""
    tags = frozenset(norm_tag(t) for t in product.tags or () if norm_tag(t))
    colours = {norm_tag(v.color) for v in product.variants if v.color and norm_tag(v.color)}
    shape = shape_from_tags(product.tags or ())  # the merchant's word first
    width = None
    for asset in assets:  # oldest first: the newest asset has the last word
        meta = asset.anchors or {}
        colour = meta.get("colour")
        if isinstance(colour, list) and len(colour) >= 3:
            colours.add(colour_name([float(c) for c in colour[:3]]))
        if isinstance(meta.get("width_mm"), int | float) and meta["width_mm"] > 0:
            width = float(meta["width_mm"])
    if shape is None and assets:
        lenses = (assets[-1].anchors or {}).get("lenses")
        shape = frame_shape(lenses) if isinstance(lenses, list) else None
    widths = [
        float(v.measurements["frame_width_mm"])
        for v in product.variants
        if isinstance(v.measurements.get("frame_width_mm"), int | float)
    ]
    if width is None and widths:
        width = sum(widths) / len(widths)
    prices = [v.price_e4 for v in product.variants if v.price_e4 is not None]
    in_stock = not product.variants or any(v.in_stock is not False for v in product.variants)
    return Item(
        id=product.id,
        external_id=product.external_id,
        title=product.title,
        category=product.category.value,
        image=product.images[0] if product.images else None,
        has_asset=bool(assets),
        in_stock=in_stock,
        frame_shape=shape if product.category.value == "eyewear" else None,
        colours=frozenset(colours),
        width_mm=width,
        price=min(prices) / 10_000 if prices else None,
        tags=tags,
    )


def load_catalog(session: Session, merchant_id: uuid.UUID) -> Catalog:
    """Every product of the merchant with its assets, in two queries."""
    products = list(
        session.scalars(
            select(Product).where(Product.merchant_id == merchant_id).order_by(Product.created_at)
        )
    )
    assets: dict[uuid.UUID, list[TryOnAsset]] = {}
    for asset in session.scalars(
        select(TryOnAsset)
        .where(TryOnAsset.merchant_id == merchant_id)
        .order_by(TryOnAsset.created_at, TryOnAsset.id)
    ):
        assets.setdefault(asset.product_id, []).append(asset)
    return Catalog(tuple(item_of(p, assets.get(p.id, [])) for p in products))


class _Entry(Generic[T]):
    __slots__ = ("at", "refreshing", "value")

    def __init__(self, value: T, at: float) -> None:
        self.value = value
        self.at = at
        self.refreshing = False


class Recommender:
    """The per-merchant caches and the scoring (see the module docstring). Thread-safe."""

    def __init__(
        self,
        *,
        warehouse: Engine | None,
        tuning: Tuning | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        background: bool = True,
        max_merchants: int = MAX_MERCHANTS,
    ) -> None:
        self.warehouse = warehouse
        self.tuning = tuning or Tuning()
        self.clock = clock
        self._now = now
        self.background = background
        """False: a stale entry is refreshed in the caller's thread (tests, the benchmark)."""
        self.max_merchants = max_merchants
        self._lock = threading.Lock()
        self._catalogs: OrderedDict[uuid.UUID, _Entry[Catalog]] = OrderedDict()
        self._neighbours: OrderedDict[uuid.UUID, _Entry[cooccurrence.Neighbours | None]] = (
            OrderedDict()
        )
        self.loads = {"catalog": 0, "cooccurrence": 0}

    def clear(self) -> None:
        with self._lock:
            self._catalogs.clear()
            self._neighbours.clear()

    def catalog(
        self, session: Session, merchant_id: uuid.UUID, *, max_age_s: float | None = None
    ) -> Catalog:
        """The merchant's catalog, read again when older than ``max_age_s`` (default: the
        tuning's ``catalog_ttl_s``)."""
        ttl = self.tuning.catalog_ttl_s if max_age_s is None else max_age_s
        with self._lock:
            entry = self._catalogs.get(merchant_id)
            if entry is not None and self.clock() - entry.at < ttl:
                self._catalogs.move_to_end(merchant_id)
                return entry.value
        value = load_catalog(session, merchant_id)
        with self._lock:
            self.loads["catalog"] += 1
            self._catalogs[merchant_id] = _Entry(value, self.clock())
            self._trim(self._catalogs)
        return value

    def neighbours(
        self, merchant_id: uuid.UUID, *, wait: bool = True
    ) -> cooccurrence.Neighbours | None:
        """The merchant's co-occurrence, None while unknown (warehouse down, none yet).

        Without ``wait`` a merchant not read yet is read in the background (when
        ``background``) and this call answers None: the widget never waits on the warehouse,
        its first answer after a start is content only."""
        if self.warehouse is None:
            return None
        with self._lock:
            entry = self._neighbours.get(merchant_id)
            if entry is not None:
                self._neighbours.move_to_end(merchant_id)
                stale = self.clock() - entry.at >= self._ttl(entry)
                if not stale or entry.refreshing:
                    return entry.value
                entry.refreshing = True
            elif not wait and self.background:
                placeholder: _Entry[cooccurrence.Neighbours | None] = _Entry(None, self.clock())
                placeholder.refreshing = True
                self._neighbours[merchant_id] = placeholder
                self._trim(self._neighbours)
        if entry is None:
            if not wait and self.background:
                self._start(merchant_id)
                return None
            return self._refresh(merchant_id)
        if self.background:
            self._start(merchant_id)
            return entry.value
        return self._refresh(merchant_id)

    def _start(self, merchant_id: uuid.UUID) -> None:
        threading.Thread(
            target=self._refresh, args=(merchant_id,), name="recs-refresh", daemon=True
        ).start()

    def _ttl(self, entry: _Entry[Any]) -> float:
        return self.tuning.cooccurrence_ttl_s if entry.value is not None else self.tuning.retry_s

    def _refresh(self, merchant_id: uuid.UUID) -> cooccurrence.Neighbours | None:
        assert self.warehouse is not None
        t = self.tuning
        now = self._now() if self._now else datetime.now().astimezone()
        value: cooccurrence.Neighbours | None
        try:
            with self.warehouse.connect() as conn:
                value = cooccurrence.load(
                    conn,
                    merchant_id=merchant_id,
                    now=now,
                    window_days=t.window_days,
                    half_life_days=t.half_life_days,
                    min_support=t.min_support,
                )
        except Exception as exc:  # the warehouse is an optional input: content still answers
            log.warning(
                "cooccurrence_failed", merchant_id=str(merchant_id), error=type(exc).__name__
            )
            with self._lock:
                old = self._neighbours.get(merchant_id)
                if old is not None:
                    old.refreshing = False
                    old.at = self.clock() - self._ttl(old) + t.retry_s
                    return old.value
                self._neighbours[merchant_id] = _Entry(None, self.clock())
                self._trim(self._neighbours)
            return None
        with self._lock:
            self.loads["cooccurrence"] += 1
            self._neighbours[merchant_id] = _Entry(value, self.clock())
            self._trim(self._neighbours)
        return value

    def _trim(self, entries: OrderedDict[uuid.UUID, Any]) -> None:
        while len(entries) > self.max_merchants:
            entries.popitem(last=False)

    def for_product(
        self,
        session: Session,
        *,
        merchant_id: uuid.UUID,
        ref: str,
        limit: int,
        require_asset: bool,
        fresh: bool = False,
    ) -> tuple[Item, list[Scored]]:
        """The product named ``ref`` and its recommendations; ``fresh`` reads the catalog
        from the database first. A product the cached catalog lacks (created since) reads it
        again, at most every ``MISS_RELOAD_S``: unknown ids cannot make every call a reload."""
        catalog = self.catalog(session, merchant_id, max_age_s=0.0 if fresh else None)
        try:
            query = catalog.find(ref)
        except NotFound:
            catalog = self.catalog(session, merchant_id, max_age_s=MISS_RELOAD_S)
            query = catalog.find(ref)
        neighbours = self.neighbours(merchant_id, wait=fresh)
        together = neighbours.of(query.external_id) if neighbours else {}
        if neighbours and not together:
            together = neighbours.of(str(query.id))
        found = recommend(query, catalog.items, together, limit=limit, require_asset=require_asset)
        return query, found
