"""Request and response bodies for the products API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StrictBool, StrictFloat

from gateway.products.models import Category

PRICE_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"
Price = Annotated[
    str,
    Field(
        pattern=PRICE_PATTERN,
        max_length=14,
        description='A decimal string ≥ 0 with at most 4 decimals, e.g. `"129.90"`',
    ),
]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
MAX_TAGS = 50


def price_e4(price: str | None) -> int | None:
    """A price string as an integer of 1/10000 (what the table stores)."""
    return None if price is None else int(Decimal(price) * 10_000)


def price_text(e4: int | None) -> str | None:
    """The stored price as a decimal string with two to four decimals."""
    if e4 is None:
        return None
    text = f"{Decimal(e4) / 10_000:.4f}".rstrip("0")
    return text + "0" * (2 - len(text.partition(".")[2]))


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=300)
    sku: str | None = Field(default=None, max_length=128)
    color: str | None = Field(default=None, max_length=64)
    size: str | None = Field(default=None, max_length=32)
    measurements: dict[str, StrictFloat] = Field(
        default_factory=dict,
        max_length=32,
        description="Size facts, e.g. frame_width_mm or chest_cm",
        examples=[{"frame_width_mm": 140}],
    )
    price: Price | None = None
    in_stock: StrictBool | None = Field(
        default=None, description="false: sold out, never recommended; null: not known"
    )


class ProductIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_id": "aviator-gold",
                    "title": "Aviator, gold",
                    "category": "eyewear",
                    "images": ["https://shop.example/aviator.png"],
                    "variants": [
                        {
                            "external_id": "aviator-gold-m",
                            "title": "Medium",
                            "size": "M",
                            "measurements": {"frame_width_mm": 138},
                        }
                    ],
                }
            ]
        },
    )

    external_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=300)
    category: Category
    images: list[HttpUrl] = Field(default_factory=list, max_length=20)
    variants: list[VariantIn] = Field(default_factory=list, max_length=100)
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description="Style words and collections; recommendations compare them",
    )


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    title: str
    sku: str | None
    color: str | None
    size: str | None
    measurements: dict[str, Any]
    price: str | None = None
    in_stock: bool | None = None

    @classmethod
    def of(cls, row: Any) -> VariantOut:
        out = cls.model_validate(row)
        out.price = price_text(row.price_e4)
        return out


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    title: str
    category: Category
    images: list[str]
    tags: list[str] = Field(default_factory=list)
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> ProductOut:
        """The response for a product row (prices as decimal strings)."""
        out = cls.model_validate(row)
        out.variants = [VariantOut.of(v) for v in row.variants]
        return out


class ProductPage(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class ProductPatch(BaseModel):
    """Fields to change; ``variants``, when given, is the complete new list (matched to the
    existing variants by ``external_id``, so their ids and try-on assets are kept)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Aviator, gold (new season)",
                    "variants": [
                        {"external_id": "aviator-gold-m", "title": "Medium", "size": "M"},
                        {"external_id": "aviator-gold-l", "title": "Large", "size": "L"},
                    ],
                }
            ]
        },
    )

    title: str | None = Field(default=None, min_length=1, max_length=300)
    category: Category | None = None
    images: list[HttpUrl] | None = Field(default=None, max_length=20)
    variants: list[VariantIn] | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
