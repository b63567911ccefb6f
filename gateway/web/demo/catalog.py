"""The demo store's catalog. Product images are the project's own demo asset set
(``ml_service/demo_assets``, drawn by ``ml_service.demo_assets.generate``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ml_service

DEMO_ASSETS_DIR = Path(ml_service.__file__).resolve().parent / "demo_assets"
DEMO_MERCHANT_NAME = "Tryon demo store"


@dataclass(frozen=True, slots=True)
class DemoVariant:
    external_id: str
    title: str
    asset: str
    """A key of ``ml_service/demo_assets/manifest.json``: the image and its prepared asset."""
    color: str | None = None
    size: str | None = None
    measurements: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoProduct:
    external_id: str
    title: str
    category: str
    price_cents: int
    blurb: str
    variants: tuple[DemoVariant, ...]


def _eyewear(
    external_id: str, title: str, price: int, blurb: str, *colours: tuple[str, str, int]
) -> DemoProduct:
    return DemoProduct(
        external_id=external_id,
        title=title,
        category="eyewear",
        price_cents=price,
        blurb=blurb,
        variants=tuple(
            DemoVariant(
                external_id=f"{external_id}-{colour.lower()}",
                title=colour,
                asset=asset,
                color=colour,
                measurements={"frame_width_mm": width},
            )
            for colour, asset, width in colours
        ),
    )


PRODUCTS: tuple[DemoProduct, ...] = (
    _eyewear(
        "round-glasses",
        "Round optical frames",
        12900,
        "Light round frames with a keyhole bridge.",
        ("Black", "glasses-round-black", 132),
        ("Gold", "glasses-round-gold", 134),
    ),
    _eyewear(
        "rect-glasses",
        "Rectangle frames",
        11900,
        "A classic rectangle in warm tortoiseshell.",
        ("Tortoise", "glasses-rect-tortoise", 140),
    ),
    _eyewear(
        "cateye-glasses",
        "Cat-eye frames",
        13900,
        "Upswept corners, bold colour.",
        ("Red", "glasses-cateye-red", 136),
    ),
    _eyewear(
        "aviator-sunglasses",
        "Aviator sunglasses",
        15900,
        "Thin metal frame, gradient lenses.",
        ("Gold", "sunglasses-aviator", 142),
    ),
    _eyewear(
        "square-sunglasses",
        "Square sunglasses",
        14900,
        "Wide square sunglasses with dark lenses.",
        ("Black", "sunglasses-square-black", 145),
    ),
    DemoProduct(
        "fedora-hat",
        "Fedora hat",
        "hat",
        6900,
        "A felt fedora with a wide band.",
        (DemoVariant("fedora-hat-one", "One size", "hat-fedora", color="Brown"),),
    ),
    DemoProduct(
        "drop-earrings",
        "Drop earrings",
        "earrings",
        4900,
        "Gold drops that catch the light.",
        (DemoVariant("drop-earrings-gold", "Gold", "earrings-drop", color="Gold"),),
    ),
    DemoProduct(
        "pendant-necklace",
        "Pendant necklace",
        "necklace",
        5900,
        "A fine chain with a single pendant.",
        (DemoVariant("pendant-necklace-gold", "Gold", "necklace-pendant", color="Gold"),),
    ),
    DemoProduct(
        "crew-tshirt",
        "Crew t-shirt",
        "top",
        2900,
        "Heavy cotton, relaxed fit.",
        tuple(
            DemoVariant(
                f"crew-tshirt-navy-{s.lower()}",
                f"Navy / {s}",
                "tshirt-navy",
                color="Navy",
                size=s,
                measurements={"chest_cm": c},
            )
            for s, c in (("S", 92), ("M", 100), ("L", 108))
        ),
    ),
    DemoProduct(
        "striped-tshirt",
        "Striped t-shirt",
        "top",
        3400,
        "Breton stripes, boxy cut.",
        tuple(
            DemoVariant(
                f"striped-tshirt-{s.lower()}",
                f"Striped / {s}",
                "tshirt-striped",
                color="Striped",
                size=s,
                measurements={"chest_cm": c},
            )
            for s, c in (("S", 94), ("M", 102), ("L", 110))
        ),
    ),
)

BY_ID = {p.external_id: p for p in PRODUCTS}


def asset_path(asset: str) -> Path | None:
    """The demo image file of ``asset``, or None when the asset set does not have it."""
    path = DEMO_ASSETS_DIR / f"{asset}.png"
    return (
        path
        if asset in {v.asset for p in PRODUCTS for v in p.variants} and path.is_file()
        else None
    )
