from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, TimestampMixin, new_id
from gateway.db.types import str_enum
from gateway.products.models import Category


class TryOnAsset(TimestampMixin, Base):
    """A product image prepared for rendering (cut-out plus anchors), stored by content hash."""

    __tablename__ = "tryon_assets"
    __table_args__ = (UniqueConstraint("merchant_id", "content_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL"), default=None
    )
    category: Mapped[Category] = mapped_column(str_enum(Category, 16))
    content_hash: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    """Where the prepared asset lies: a path under the data dir or an object-store key."""
    anchors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Anchor points and real-world size, e.g. lens centres and ``frame_width_mm``."""
    source: Mapped[str | None] = mapped_column(String(1024), default=None)


class ModelPhotoKind(StrEnum):
    FACE = "face"
    BODY = "body"


class BrandModelPhoto(TimestampMixin, Base):
    """A photo of a brand's model that shoppers can try products on instead of themselves."""

    __tablename__ = "brand_model_photos"
    __table_args__ = (UniqueConstraint("merchant_id", "content_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ModelPhotoKind] = mapped_column(str_enum(ModelPhotoKind, 16))
    content_hash: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    analysis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Cached perception result, so a try-on on this photo skips detection."""
