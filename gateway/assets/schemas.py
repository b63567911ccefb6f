"""Bodies of the merchant API for try-on assets and brand model photos."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from gateway.assets.models import ModelPhotoKind
from gateway.products.models import Category


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID | None
    category: Category
    content_hash: str
    anchors: dict[str, Any] = Field(
        description="The asset's metadata: anchor points (asset pixels), width_mm, lenses, ..."
    )
    created_at: datetime


class AssetList(BaseModel):
    data: list[AssetOut]


class AssetPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"anchors": {"lens_left": [120.5, 80.0], "lens_right": [300.0, 80.0]}}]
        },
    )

    anchors: dict[str, tuple[StrictFloat, StrictFloat]] = Field(
        min_length=1, max_length=32, description="Anchors to replace, in asset pixels"
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: ModelPhotoKind
    content_hash: str
    faces: int = Field(description="Faces found on the photo")
    bodies: int = Field(description="Bodies found on the photo")
    created_at: datetime


class ModelList(BaseModel):
    data: list[ModelOut]
