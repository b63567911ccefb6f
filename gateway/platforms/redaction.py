"""Uninstall, shop redaction and customer requests: what we delete, and what we hold.

What we hold about a shop's customers (docs/architecture.md, "Store connections"): no
shopper images, names, emails or addresses. Orders arrive as purchases in the analytics
warehouse keyed by the platform's **order id** (``fact_order``, ``fact_order_line``, the
``purchase`` row of ``fact_event``): order time, currency, totals, line product/variant ids,
quantities, prices, and the random try-on / widget session ids that attribute them. The
platform's customer id is never stored. So a customer request acts on the order ids it
lists: ``customers/redact`` deletes those orders' rows; ``customers/data_request`` gathers
them into a report the operator hands to the merchant (``tryon platforms jobs --show ID``).

``shop/redact`` deletes everything of the shop: its products, their try-on assets and the
assets' blobs, the shop's widget key, the try-on session counters of its products and its
warehouse rows. When the shop's merchant has no other store (the merchant made at its
install), the whole merchant goes, with every row that hangs off it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from analytics.warehouse import erase
from gateway.assets.models import BrandModelPhoto, TryOnAsset
from gateway.keys.models import ApiKey
from gateway.merchants.models import Merchant
from gateway.platforms import installs
from gateway.platforms.sync import delete_product
from gateway.products.models import Product
from gateway.sessions.models import TryOnSession
from gateway.storage import Storage
from gateway.stores.models import Store, StoreStatus

log = structlog.get_logger("gateway.platforms.redaction")


def redact_shop(
    *,
    session: Session,
    storage: Storage,
    store: Store,
    warehouse: Engine | None,
    now: datetime,
) -> dict[str, int]:
    """Erase everything of ``store``'s shop (see the module doc); returns counts. The caller
    commits; blobs are deleted before the rows that name them."""
    merchant_id = store.merchant_id
    installs.mark_uninstalled(session=session, store=store, now=now)
    others = session.scalar(
        select(Store.id).where(Store.merchant_id == merchant_id, Store.id != store.id).limit(1)
    )
    counts: dict[str, int] = {}
    if others is None:
        counts.update(_erase_merchant(session=session, storage=storage, merchant_id=merchant_id))
        if warehouse is not None:
            counts.update(
                {
                    f"warehouse.{k}": v
                    for k, v in erase.erase_merchant(warehouse, merchant_id=merchant_id).items()
                }
            )
        log.info("platforms.shop_redacted", store_id=str(store.id), merchant="erased", **counts)
        return counts
    products = list(session.scalars(select(Product).where(Product.store_id == store.id)))
    product_ids = [p.id for p in products]
    counts["sessions"] = (
        _count(
            session.execute(delete(TryOnSession).where(TryOnSession.product_id.in_(product_ids)))
        )
        if product_ids
        else 0
    )
    counts["assets"] = sum(
        delete_product(session=session, storage=storage, product=p) for p in products
    )
    counts["products"] = len(products)
    if store.widget_key_id is not None:
        key = session.get(ApiKey, store.widget_key_id)
        if key is not None:
            session.delete(key)
            counts["keys"] = 1
        store.widget_key_id = None
    store.status = StoreStatus.REDACTED
    store.redacted_at = now
    store.extra = {}
    store.sync_counts = {}
    store.sync_failures = []
    session.flush()
    if warehouse is not None:
        counts.update(
            {
                f"warehouse.{k}": v
                for k, v in erase.erase_store(
                    warehouse, merchant_id=merchant_id, store=store.shop_domain
                ).items()
            }
        )
    log.info("platforms.shop_redacted", store_id=str(store.id), merchant="kept", **counts)
    return counts


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _erase_merchant(
    *, session: Session, storage: Storage, merchant_id: uuid.UUID
) -> dict[str, int]:
    """Delete the merchant and everything it owns: blobs first (assets, brand model photos,
    anything under its prefix), then the rows (foreign keys cascade from ``merchants``)."""
    assets = list(session.scalars(select(TryOnAsset).where(TryOnAsset.merchant_id == merchant_id)))
    photos = list(
        session.scalars(select(BrandModelPhoto).where(BrandModelPhoto.merchant_id == merchant_id))
    )
    blobs = 0
    for blob in list(storage.list(f"{merchant_id}/")):
        storage.delete(blob.key)
        blobs += 1
    counts = {
        "assets": len(assets),
        "model_photos": len(photos),
        "blobs": blobs,
        "products": len(
            session.scalars(select(Product.id).where(Product.merchant_id == merchant_id)).all()
        ),
        "sessions": _count(
            session.execute(delete(TryOnSession).where(TryOnSession.merchant_id == merchant_id))
        ),
        "keys": _count(session.execute(delete(ApiKey).where(ApiKey.merchant_id == merchant_id))),
    }
    merchant = session.get(Merchant, merchant_id)
    if merchant is not None:
        session.delete(merchant)
    session.flush()
    return counts


def redact_customer(
    *, warehouse: Engine | None, merchant_id: uuid.UUID, order_ids: Sequence[str]
) -> dict[str, int]:
    """Delete what we hold for these orders (the customer's; see the module doc)."""
    if warehouse is None:
        return {}
    return erase.erase_orders(warehouse, merchant_id=merchant_id, order_ids=order_ids)


def customer_report(
    *, warehouse: Engine | None, merchant_id: uuid.UUID, order_ids: Sequence[str]
) -> dict[str, object]:
    """Everything we hold for these orders, for the merchant to answer the customer."""
    orders = (
        erase.orders_of(warehouse, merchant_id=merchant_id, order_ids=order_ids)
        if warehouse is not None
        else []
    )
    return {
        "held": "purchase rows keyed by order id; no images, names, emails or addresses",
        "order_ids": sorted(set(order_ids)),
        "orders": orders,
    }
