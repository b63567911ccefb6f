"""``tryon demo seed``: the demo merchant, its key and products, idempotently."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import InvalidApiKey
from gateway.keys import service as keys
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants.models import Merchant
from gateway.origins import normalise_origin
from gateway.products import service as products
from gateway.products.models import Product, ProductVariant
from gateway.products.schemas import ProductIn, VariantIn
from gateway.web.demo import catalog, state
from gateway.web.demo.catalog import DemoProduct


@dataclass(slots=True)
class SeedReport:
    merchant_id: str
    publishable_key: str
    merchant_created: bool
    products_created: list[str] = field(default_factory=list)
    products_updated: list[str] = field(default_factory=list)
    assets_prepared: list[str] = field(default_factory=list)


_LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


def default_origins(public_url: str) -> list[str]:
    """The store's origin and, on a laptop, its loopback twin (127.0.0.1 <-> localhost), so
    the demo works whichever of the two names the browser was given."""
    origin = normalise_origin(public_url.rstrip("/"))
    scheme, _, rest = origin.partition("://")
    host, colon, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    twin = _LOOPBACK_TWINS.get(host)
    return [origin] + ([f"{scheme}://{twin}{colon}{port}"] if twin else [])


def _image_url(public_url: str, product: DemoProduct) -> str:
    return f"{public_url.rstrip('/')}/demo/images/{product.variants[0].asset}.png"


def _merchant(
    *, session: Session, data_dir: Path, origins: list[str]
) -> tuple[state.DemoState, bool]:
    """The demo merchant from the state file, or a new one when there is none (or it is gone)."""
    known = state.read(data_dir)
    if known is not None and session.get(Merchant, known.merchant_id) is not None:
        try:
            principal = keys.authenticate(session=session, raw_key=known.publishable_key)
        except InvalidApiKey:
            principal = None
        if principal is not None and principal.merchant_id == known.merchant_id:
            key = session.get(ApiKey, principal.key_id)
            if key is not None:
                key.allowed_origins = sorted(set(key.allowed_origins) | set(origins))
            return known, False
        # The key was revoked: issue a new publishable key for the same merchant.
        _, raw = keys.create(
            session=session,
            merchant_id=known.merchant_id,
            kind=KeyKind.PUBLISHABLE,
            name="demo store",
            allowed_origins=origins,
        )
        return state.DemoState(merchant_id=known.merchant_id, publishable_key=raw), False
    created = keys.create_merchant(
        session=session, name=catalog.DEMO_MERCHANT_NAME, allowed_origins=origins
    )
    return (
        state.DemoState(merchant_id=created.merchant.id, publishable_key=created.publishable_key),
        True,
    )


def _upsert(
    *, session: Session, merchant_id: uuid.UUID, item: DemoProduct, image: str
) -> str | None:
    """Create or bring up to date one product; returns "created", "updated" or None."""
    existing = session.scalar(
        select(Product).where(
            Product.merchant_id == merchant_id, Product.external_id == item.external_id
        )
    )
    variants = [
        VariantIn(
            external_id=v.external_id,
            title=v.title,
            color=v.color,
            size=v.size,
            measurements={k: float(x) for k, x in v.measurements.items()},
        )
        for v in item.variants
    ]
    if existing is None:
        products.create(
            session=session,
            merchant_id=merchant_id,
            data=ProductIn(
                external_id=item.external_id,
                title=item.title,
                category=item.category,
                images=[image],
                variants=variants,
            ),
        )
        return "created"
    changed = False
    if existing.title != item.title or existing.images != [image]:
        existing.title, existing.images = item.title, [image]
        changed = True
    have = {v.external_id: v for v in existing.variants}
    for position, wanted in enumerate(variants):
        row = have.get(wanted.external_id)
        if row is None:
            existing.variants.append(
                ProductVariant(position=position, **products.variant_fields(wanted))
            )
            changed = True
        elif (row.title, row.color, row.size, row.measurements) != (
            wanted.title,
            wanted.color,
            wanted.size,
            wanted.measurements,
        ):
            row.title, row.color, row.size = wanted.title, wanted.color, wanted.size
            row.measurements = wanted.measurements
            changed = True
    return "updated" if changed else None


def seed(*, session: Session, data_dir: Path, public_url: str, origins: list[str]) -> SeedReport:
    """Make sure the demo merchant, its key and every demo product exist; safe to repeat."""
    demo, created = _merchant(session=session, data_dir=data_dir, origins=origins)
    report = SeedReport(
        merchant_id=str(demo.merchant_id),
        publishable_key=demo.publishable_key,
        merchant_created=created,
    )
    for item in catalog.PRODUCTS:
        outcome = _upsert(
            session=session,
            merchant_id=demo.merchant_id,
            item=item,
            image=_image_url(public_url, item),
        )
        if outcome == "created":
            report.products_created.append(item.external_id)
        elif outcome == "updated":
            report.products_updated.append(item.external_id)
    session.flush()
    state.write(data_dir, demo)
    return report
