from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db.base import Base, TimestampMixin, new_id, utcnow
from gateway.db.types import str_enum


class Category(StrEnum):
    EYEWEAR = "eyewear"
    HAT = "hat"
    EARRINGS = "earrings"
    NECKLACE = "necklace"
    TOP = "top"


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("merchant_id", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stores.id", ondelete="SET NULL"), index=True, default=None
    )
    external_id: Mapped[str] = mapped_column(String(128))
    """The product's id on its platform (or the merchant's own id)."""
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[Category] = mapped_column(str_enum(Category, 16))
    images: Mapped[list[str]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    """The merchant's tags (style words, collections); recommendations compare them."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="ProductVariant.position",
        lazy="selectin",
    )


class ProductVariant(Base):
    """A purchasable variant: a colour, a size, or both."""

    __tablename__ = "product_variants"
    __table_args__ = (UniqueConstraint("product_id", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    sku: Mapped[str | None] = mapped_column(String(128), default=None)
    color: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[str | None] = mapped_column(String(32), default=None)
    measurements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Size facts for recommendations, e.g. ``{"frame_width_mm": 140}`` or ``{"chest_cm": 96}``."""
    price_e4: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The price in 1/10000 of the store's currency, if known."""
    in_stock: Mapped[bool | None] = mapped_column(default=None)
    """False: sold out (never recommended); None: not known (offered)."""
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="variants")
