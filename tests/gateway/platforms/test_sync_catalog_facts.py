"""What the catalog sync keeps for recommendations: tags, prices (in 1/10000) and whether the
platform sells a variant now (pure: ``sync._variants`` and ``sync._price_e4``)."""

from __future__ import annotations

import pytest

from gateway.platforms import sync
from gateway.platforms.protocol import CatalogProduct, CatalogVariant


@pytest.mark.parametrize(
    ("price", "e4"),
    [
        ("125", 1_250_000),
        ("129.90", 1_299_000),
        ("0.0001", 1),
        (" 12.5 ", 125_000),
        (None, None),
        ("", None),
        ("-1", None),
        ("1e3", None),
        ("12.34567", None),
        ("NaN", None),
        ("9" * 10, None),
    ],
)
def test_prices(price: str | None, e4: int | None) -> None:
    assert sync._price_e4(price) == e4


def test_variants_carry_price_and_stock() -> None:
    product = CatalogProduct(
        external_id="p",
        title="Frame",
        variants=(
            CatalogVariant(external_id="a", title="A", price="10.00", available=False),
            CatalogVariant(external_id="b", title="B", available=True),
            CatalogVariant(external_id="c", title="C"),
        ),
    )
    rows = sync._variants(product)
    assert [(r["external_id"], r["price_e4"], r["in_stock"]) for r in rows] == [
        ("a", 100_000, False),
        ("b", None, True),
        ("c", None, None),
    ]
