"""Products, always scoped by merchant."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.products.models import Product, ProductVariant
from gateway.products.schemas import ProductIn, ProductPatch, VariantIn, price_e4

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9a-f]{32}$"
"""``<created_at in microseconds since 1970>.<product id in hex>``: every string of this shape
is a valid position (up to the year 2286), so the document can declare it exactly."""


def _encode_cursor(product: Product) -> str:
    return f"{(product.created_at - _EPOCH) // _MICROSECOND}.{product.id.hex}"


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise BadRequest("The cursor is not valid")
    micros, _, hex_id = cursor.partition(".")
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=hex_id)


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
        tags=list(data.tags),
        variants=[
            ProductVariant(position=i, **variant_fields(v)) for i, v in enumerate(data.variants)
        ],
    )
    session.add(product)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A product with external_id {data.external_id!r} exists") from exc
    return product


def variant_fields(variant: VariantIn) -> dict[str, object]:
    """A variant's columns from its API form (the price in 1/10000)."""
    fields = variant.model_dump(exclude={"price"})
    fields["price_e4"] = price_e4(variant.price)
    return fields


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
    if data.tags is not None:
        product.tags = list(data.tags)
    if data.variants is not None:
        if len({v.external_id for v in data.variants}) != len(data.variants):
            raise Conflict("Variant external ids must be unique within a product")
        existing = {v.external_id: v for v in product.variants}
        kept: list[ProductVariant] = []
        for position, incoming in enumerate(data.variants):
            variant = existing.get(incoming.external_id) or ProductVariant(
                external_id=incoming.external_id
            )
            for field, value in variant_fields(incoming).items():
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
