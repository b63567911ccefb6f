"""Request and response bodies for the products API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StrictFloat

from gateway.products.models import Category


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


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    title: str
    sku: str | None
    color: str | None
    size: str | None
    measurements: dict[str, Any]


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    title: str
    category: Category
    images: list[str]
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime


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
