"""Widget API bodies: the contract the JS SDK builds against (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.assets.models import ModelPhotoKind
from gateway.products.models import Category
from gateway.sessions.models import TryOnMode


class WidgetVariant(BaseModel):
    id: uuid.UUID
    external_id: str
    title: str
    color: str | None
    size: str | None
    has_asset: bool = Field(description="A try-on asset exists for this variant (or the product)")


class WidgetProduct(BaseModel):
    id: uuid.UUID
    external_id: str
    title: str
    category: Category
    image: str | None = Field(description="The first product image URL, if any")
    has_asset: bool
    variants: list[WidgetVariant]


class BrandModel(BaseModel):
    id: uuid.UUID
    name: str
    kind: ModelPhotoKind
    image_url: str = Field(
        description="Path of the photo (JPEG) under the API base; GET it with the publishable key"
    )


class QuotaInfo(BaseModel):
    exhausted: bool
    remaining: int


class WidgetLimits(BaseModel):
    max_upload_bytes: int
    accepted_types: list[str]
    max_live_fps: float
    max_live_frame_bytes: int
    live_idle_timeout_s: float


class WidgetExperiment(BaseModel):
    """A running holdout: the SDK puts ``holdout_share`` of shoppers in the holdout arm, by
    ``hash(shopper id, salt)`` (docs/analytics.md, "Holdout"), and shows them no button."""

    id: uuid.UUID
    salt: str
    holdout_share: float = Field(ge=0, le=0.5)


class WidgetConfig(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product": {
                        "id": "0b7c4c55-7c7c-4f43-9d43-3c3c5e0c8f11",
                        "external_id": "aviator-gold",
                        "title": "Aviator, gold",
                        "category": "eyewear",
                        "image": "https://shop.example/aviator.png",
                        "has_asset": True,
                        "variants": [
                            {
                                "id": "5b0e6e1c-2b3c-4a4e-8d7c-5f2d8e0b9a21",
                                "external_id": "aviator-gold-m",
                                "title": "Medium",
                                "color": "gold",
                                "size": "M",
                                "has_asset": True,
                            }
                        ],
                    },
                    "variant_id": "aviator-gold-m",
                    "modes": ["live", "photo", "model"],
                    "models": [],
                    "quota": {"exhausted": False, "remaining": 9999},
                    "limits": {
                        "max_upload_bytes": 10485760,
                        "accepted_types": ["image/jpeg", "image/png", "image/webp"],
                        "max_live_fps": 30.0,
                        "max_live_frame_bytes": 524288,
                        "live_idle_timeout_s": 30.0,
                    },
                }
            ]
        }
    )

    product: WidgetProduct
    variant_id: str | None = Field(
        description="The external id of the variant asked for, if any (the widget API refers "
        "to variants by their external ids)"
    )
    modes: list[TryOnMode] = Field(description="What this product can be tried on with")
    models: list[BrandModel]
    quota: QuotaInfo
    limits: WidgetLimits
    experiment: WidgetExperiment | None = Field(
        default=None, description="The merchant's running holdout experiment, if any"
    )


class SessionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"product_id": "aviator-gold", "mode": "photo"}]},
    )

    product_id: str = Field(
        min_length=1, max_length=128, description="The product's id or external id"
    )
    variant_id: str | None = Field(default=None, min_length=1, max_length=128)
    mode: TryOnMode


class SessionOut(BaseModel):
    session_id: uuid.UUID = Field(description="Random; the analytics join key, no personal data")
    started_at: datetime


class ModelList(BaseModel):
    data: list[BrandModel]


class Geometry(BaseModel):
    """Where the product was placed, in pixels of the returned image."""

    model_config = ConfigDict(extra="allow")

    width: int
    height: int
    faces: list[dict[str, Any]] = Field(default_factory=list)
    size_recommendation: dict[str, Any] | None = None


class TryOnJson(BaseModel):
    image: str = Field(description="data: URL of the rendered image")
    geometry: Geometry
    session_id: uuid.UUID | None = None


class AnalysisOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    width: int
    height: int
    faces: list[dict[str, Any]]
    bodies: list[dict[str, Any]]
    size_recommendation: dict[str, Any] | None = None
