"""What to try next: content similarity blended with co-occurrence (pure functions).

*Content*: two products of one category are similar by frame shape (eyewear, from the
prepared asset's lens outlines, or the merchant's tag), colour (the variants' colours and the
asset's material colour, as families), width (the asset's real-world width), price band (the
ratio of their lowest prices) and tags (Jaccard). Each part is 0..1; parts a pair cannot
compare (no price on one side) drop out and the rest are re-weighted. Products of another
category score 0 on content: they can still come as bought or tried together.

*Together*: the warehouse's item-to-item co-occurrence (``analytics.cooccurrence``, decayed,
with a minimum support), 0..1.

*Blend*: ``CONTENT_WEIGHT * content + (1 - CONTENT_WEIGHT) * together`` (``together``
relative to the product's strongest neighbour) when the product has co-occurrence
neighbours, content alone when it has none (a new product, a new shop). Sold-out products
(every variant out of stock) and the product itself never appear; ties go to the product
with a try-on asset, then by title.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ml_service.advice import FRAME_SHAPES

CONTENT_PARTS = {"shape": 0.3, "colour": 0.2, "width": 0.15, "price": 0.15, "tags": 0.2}
CONTENT_WEIGHT = 0.4
"""The offline evaluation (docs/recommendations.md) chose this among 0.2-0.8."""
WIDTH_SCALE_MM = 8.0
PRICE_SCALE = 0.35  # |ln(price ratio)| at which the price part has fallen to 1/e
CATEGORY_FLOOR = 0.2
"""Content score of a product of the same category that shares nothing else."""


@dataclass(frozen=True, slots=True)
class Item:
    """A product as recommendations see it (merchant data only)."""

    id: uuid.UUID
    external_id: str
    title: str
    category: str
    image: str | None
    has_asset: bool
    in_stock: bool
    frame_shape: str | None = None
    colours: frozenset[str] = frozenset()
    width_mm: float | None = None
    price: float | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Scored:
    item: Item
    score: float
    content: float
    together: float


def norm_tag(tag: str) -> str:
    return " ".join(tag.strip().casefold().split())


def shape_from_tags(tags: Iterable[str]) -> str | None:
    """A frame shape the merchant tagged (``aviator``, ``shape:round``, ``Cat eye``)."""
    for tag in tags:
        word = norm_tag(tag).removeprefix("shape:").strip().replace(" ", "-")
        word = {"rectangle": "rectangular", "cateye": "cat-eye"}.get(word, word)
        if word in FRAME_SHAPES:
            return word
    return None


def content_similarity(a: Item, b: Item) -> float:
    """How alike two products are, 0..1 (see the module docstring)."""
    if a.category != b.category:
        return 0.0
    parts: dict[str, float] = {}
    if a.frame_shape and b.frame_shape:
        parts["shape"] = 1.0 if a.frame_shape == b.frame_shape else 0.0
    if a.colours and b.colours:
        parts["colour"] = 1.0 if a.colours & b.colours else 0.0
    if a.width_mm and b.width_mm:
        parts["width"] = math.exp(-abs(a.width_mm - b.width_mm) / WIDTH_SCALE_MM)
    if a.price and b.price and a.price > 0 and b.price > 0:
        parts["price"] = math.exp(-abs(math.log(a.price / b.price)) / PRICE_SCALE)
    if a.tags or b.tags:
        union = a.tags | b.tags
        parts["tags"] = len(a.tags & b.tags) / len(union)
    if not parts:
        return CATEGORY_FLOOR
    total = sum(CONTENT_PARTS[k] for k in parts)
    shared = sum(CONTENT_PARTS[k] * v for k, v in parts.items()) / total
    return CATEGORY_FLOOR + (1 - CATEGORY_FLOOR) * shared


def recommend(
    query: Item,
    catalog: Sequence[Item],
    together: Mapping[str, float],
    *,
    limit: int,
    content_weight: float = CONTENT_WEIGHT,
    require_asset: bool = False,
) -> list[Scored]:
    """The best ``limit`` products to try after ``query`` (see the module docstring).

    ``together`` maps products' external ids to their co-occurrence with ``query``."""
    blend = bool(together)
    # Co-occurrence scores are small and differ between products (a cosine over baskets):
    # relative to the query's strongest neighbour they weigh like the content's 0..1.
    strongest = max(together.values(), default=0.0) or 1.0
    out: list[Scored] = []
    for item in catalog:
        if item.id == query.id or not item.in_stock or (require_asset and not item.has_asset):
            continue
        content = content_similarity(query, item)
        with_it = float(together.get(item.external_id, 0.0)) / strongest
        score = content_weight * content + (1 - content_weight) * with_it if blend else content
        if score <= 0:
            continue
        out.append(Scored(item, score, content, with_it))
    out.sort(key=lambda s: (-s.score, not s.item.has_asset, s.item.title, str(s.item.id)))
    return out[:limit]
