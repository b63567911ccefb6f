"""Recommendation bodies (docs/api.md): the same item shape for the widget and merchants."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from gateway.products.models import Category
from gateway.recommendations.scoring import Scored

Because = Literal["similar", "together"]


class RecommendedItem(BaseModel):
    id: uuid.UUID
    external_id: str
    title: str
    category: Category
    image: str | None = Field(description="The first product image URL, if any")
    has_asset: bool = Field(description="It can be tried on")
    frame_shape: str | None = Field(
        description="Eyewear: round, oval, square, rectangular, cat-eye or aviator (from the "
        "prepared asset, or the merchant's tag)"
    )
    score: float = Field(ge=0, le=1)
    because: list[Because] = Field(
        description="`similar`: alike in shape, colour, width, price or tags; `together`: "
        "often tried or bought with this product"
    )


class Recommendations(BaseModel):
    product_id: uuid.UUID
    external_id: str
    data: list[RecommendedItem]


def item_out(scored: Scored) -> RecommendedItem:
    because: list[Because] = []
    if scored.content >= 0.5:
        because.append("similar")
    if scored.together > 0:
        because.append("together")
    i = scored.item
    return RecommendedItem(
        id=i.id,
        external_id=i.external_id,
        title=i.title,
        category=Category(i.category),
        image=i.image,
        has_asset=i.has_asset,
        frame_shape=i.frame_shape,
        score=round(min(max(scored.score, 0.0), 1.0), 4),
        because=because or ["similar"],
    )
