"""Products, always scoped by merchant."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.products.models import Product, ProductVariant
from gateway.products.schemas import ProductIn, ProductPatch


def _encode_cursor(product: Product) -> str:
    raw = f"{product.created_at.isoformat()}|{product.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, pid = raw.partition("|")
        return datetime.fromisoformat(created), uuid.UUID(pid)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The cursor is not valid") from exc


def list_page(
    *, session: Session, merchant_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Product], str | None]:
    """One page of the merchant's products, oldest first, and the cursor of the next page."""
    query = select(Product).where(Product.merchant_id == merchant_id)
    if cursor:
        created, pid = _decode_cursor(cursor)
        query = query.where(tuple_(Product.created_at, Product.id) > (created, pid))
    rows = list(session.scalars(query.order_by(Product.created_at, Product.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1]) if more and rows else None)


def get(*, session: Session, merchant_id: uuid.UUID, product_id: uuid.UUID) -> Product:
    """The merchant's product, or ``NotFound`` (also when it belongs to someone else)."""
    product = session.scalar(
        select(Product).where(Product.id == product_id, Product.merchant_id == merchant_id)
    )
    if product is None:
        raise NotFound("No such product")
    return product


def create(*, session: Session, merchant_id: uuid.UUID, data: ProductIn) -> Product:
    """Create a product with its variants; ``Conflict`` if the external id exists."""
    if len({v.external_id for v in data.variants}) != len(data.variants):
        raise Conflict("Variant external ids must be unique within a product")
    product = Product(
        merchant_id=merchant_id,
        external_id=data.external_id,
        title=data.title,
        category=data.category,
        images=[str(u) for u in data.images],
        variants=[
            ProductVariant(position=i, **v.model_dump()) for i, v in enumerate(data.variants)
        ],
    )
    session.add(product)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A product with external_id {data.external_id!r} exists") from exc
    return product


def delete(*, session: Session, merchant_id: uuid.UUID, product_id: uuid.UUID) -> None:
    session.delete(get(session=session, merchant_id=merchant_id, product_id=product_id))


def update(
    *, session: Session, merchant_id: uuid.UUID, product_id: uuid.UUID, data: ProductPatch
) -> Product:
    """Change the given fields; a new variant list is matched to the old by external id."""
    product = get(session=session, merchant_id=merchant_id, product_id=product_id)
    if data.title is not None:
        product.title = data.title
    if data.category is not None:
        product.category = data.category
    if data.images is not None:
        product.images = [str(u) for u in data.images]
    if data.variants is not None:
        if len({v.external_id for v in data.variants}) != len(data.variants):
            raise Conflict("Variant external ids must be unique within a product")
        existing = {v.external_id: v for v in product.variants}
        kept: list[ProductVariant] = []
        for position, incoming in enumerate(data.variants):
            variant = existing.get(incoming.external_id) or ProductVariant(
                external_id=incoming.external_id
            )
            for field, value in incoming.model_dump().items():
                setattr(variant, field, value)
            variant.position = position
            kept.append(variant)
        product.variants = kept
    product.updated_at = utcnow()
    session.flush()
    return product


def find_for_widget(*, session: Session, merchant_id: uuid.UUID, ref: str) -> Product:
    """The merchant's product by id or by external id (what a widget knows)."""
    query = select(Product).where(Product.merchant_id == merchant_id)
    try:
        product_id = uuid.UUID(ref)
    except ValueError:
        product = session.scalar(query.where(Product.external_id == ref))
    else:
        product = session.scalar(query.where(Product.id == product_id))
        if product is None:
            product = session.scalar(query.where(Product.external_id == ref))
    if product is None:
        raise NotFound("No such product")
    return product


def find_variant(*, product: Product, ref: str | None) -> ProductVariant | None:
    """The product's variant by id or external id; None when ``ref`` is None."""
    if ref is None:
        return None
    for variant in product.variants:
        if str(variant.id) == ref or variant.external_id == ref:
            return variant
    raise NotFound("No such variant of this product")
