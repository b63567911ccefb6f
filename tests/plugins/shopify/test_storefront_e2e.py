"""The theme app extension on a product page, in chromium, against a real gateway.

The page is the extension's Liquid rendered by python-liquid (Shopify's filters stubbed, see
liquid_shopify.py) into a stand-in product template, served on loopback as ``localhost``; the
SDK comes from the gateway on ``127.0.0.1`` (another site: real CORS), pinned by the embed with
the SRI hash from the gateway's manifest. The browser part is plugins/shopify/e2e/storefront.mjs
(playwright-core, Debian's chromium); this test checks what the page did, what the store's
cart endpoints received and what the gateway recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from tests.plugins.shopify import storefront
from tests.plugins.shopify.gateway_process import Gateway, free_port, running_gateway
from tests.plugins.shopify.liquid_shopify import PLUGIN, REPO
from tests.support.images import load_bgr

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "shopify-e2e"
SHOP = "lunettes-test.myshopify.com"
PRODUCT_ID = "8123456789012"
VARIANTS = [
    ("45000000000001", "Black", "glasses-round-black"),
    ("45000000000002", "Gold", "glasses-round-gold"),
]
WIDGET_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def shopify_product(handle: str) -> dict[str, Any]:
    """The Liquid ``product`` object as Shopify gives it (the fields the templates read)."""
    variants = [
        {"id": int(vid), "title": colour, "price": 12900, "available": True, "option1": colour}
        for vid, colour, _ in VARIANTS
    ]
    return {
        "id": int(PRODUCT_ID),
        "title": "Round optical frames",
        "handle": handle,
        "type": "Eyewear",
        "tags": ["glasses", "summer"],
        "options": ["Colour"],
        "featured_image": f"/images/{VARIANTS[0][2]}.png",
        "variants": variants,
    }


@dataclass
class Setup:
    gateway: Gateway
    store: storefront.Store
    photo: Path


def _require_tools() -> None:
    missing = [
        what
        for what, ok in (
            (CHROMIUM, os.access(CHROMIUM, os.X_OK)),
            ("node", shutil.which("node") is not None),
            (
                "plugins/shopify/node_modules (make plugins-deps)",
                (PLUGIN / "node_modules").is_dir(),
            ),
            ("sdk_js/dist/tryon.js (make sdk)", (REPO / "sdk_js/dist/tryon.js").is_file()),
        )
        if not ok
    ]
    if missing:
        pytest.fail(f"missing for the browser test: {', '.join(missing)}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    _require_tools()
    work = tmp_path_factory.mktemp("shopify-e2e")
    port = free_port()
    origin = f"http://localhost:{port}"
    with running_gateway(work, origins=[origin]) as gateway:
        gateway.add_product(external_id=PRODUCT_ID, title="Round optical frames", variants=VARIANTS)
        manifest = httpx.get(f"{gateway.base_url}/sdk/v1/manifest.json", timeout=10).json()
        sdk = manifest["files"]["tryon.js"]
        good = sdk["integrity"]
        # Same algorithm and length, other digest: what a changed file would be checked against.
        tampered = good[:-8] + ("AAAAAAA=" if not good.endswith("AAAAAAA=") else "BBBBBBB=")
        store = storefront.Store(
            shop=SHOP,
            products={
                "round-glasses": shopify_product("round-glasses"),
                "round-glasses-tampered": shopify_product("round-glasses-tampered"),
            },
            embed_settings={
                "publishable_key": gateway.publishable_key,
                "sdk_url": sdk["url"],
                "sdk_integrity": good,
                "accent_color": "#0b6e4f",
            },
            block_settings={"button_color": "#0b6e4f", "categories": "sunglasses, glasses"},
            embed_overrides={"round-glasses-tampered": {"sdk_integrity": tampered}},
        )
        photo = work / "photo.jpg"
        cv2.imwrite(str(photo), load_bgr("astronaut"), [cv2.IMWRITE_JPEG_QUALITY, 92])
        with storefront.serving(store, port=port):
            yield Setup(gateway=gateway, store=store, photo=photo)


def drive(setup: Setup) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    config = {
        "store": setup.store.base_url,
        "handle": "round-glasses",
        "variants": [vid for vid, _, _ in VARIANTS],
        "photo": str(setup.photo),
        "artifacts": str(ARTIFACTS),
        "tampered": f"{setup.store.base_url}/products/round-glasses-tampered",
    }
    done = subprocess.run(
        ["node", "e2e/storefront.mjs", json.dumps(config)],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    try:
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pytest.fail(f"the browser script said nothing useful:\n{done.stdout}\n{done.stderr}")
    assert "error" not in out, f"{out['error']}\nsteps done: {out['steps']}\n{out['problems']}"
    return out


def test_product_page_tries_on_and_carries_the_session_into_the_cart(setup: Setup) -> None:
    out = drive(setup)
    first, second = VARIANTS[0][0], VARIANTS[1][0]

    # The block gives the SDK Shopify's numeric ids; the embed loaded the SDK once.
    assert out["initial"] == {"product": PRODUCT_ID, "variant": first}
    assert out["sdk_scripts"] == 1
    assert out["label"] == "Try it on"

    # A real try-on for that product and variant.
    assert out["session_request"]["product_id"] == PRODUCT_ID
    assert out["session_request"]["variant_id"] == first
    assert out["tryon_status"] == 200
    session = out["session"]
    assert isinstance(session, str)
    assert session

    # The try-on session went onto the product form as the hidden line item property ...
    assert out["hidden_after_tryon"] == session
    # ... the widget's "Add to cart" added the line with it through the Ajax Cart API ...
    added = setup.store.wait_for("/cart/add.js").body
    assert added == {
        "items": [{"id": int(first), "quantity": 1, "properties": {"_tryon_session": session}}]
    }
    # ... and wrote this page's widget session as the cart attribute.
    assert out["cart_update_status"] == 200
    attribute = setup.store.wait_for("/cart/update.js").body["attributes"]
    assert set(attribute) == {"_tryon_widget_session"}
    assert WIDGET_SESSION.match(attribute["_tryon_widget_session"])

    # The shopper picked the other colour: the block and the widget followed.
    assert out["after_change"] == {"product": PRODUCT_ID, "variant": second}
    assert out["opened"]["variantId"] == second

    # The theme's own form posted the picked variant with the try-on session.
    form = setup.store.wait_for("/cart/add").form
    assert form["id"] == [second]
    assert form["properties[_tryon_session]"] == [session]

    # French storefront: French label from the extension's locale, variant from the URL.
    assert out["fr"] == {"product": PRODUCT_ID, "variant": second, "label": "Essayer", "lang": "fr"}

    # SRI: with a hash that does not match, chromium refused the SDK: no widget, no button.
    assert out["tampered"]["block"] == 1
    assert out["tampered"]["sdk_loaded"] is False
    assert out["tampered"]["buttons"] == 0
    assert any("integrity" in line for line in out["tampered"]["console"]), out["tampered"]

    assert out["problems"] == []
    for name in ("shopify-product-page", "shopify-tryon-result", "shopify-product-page-fr"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
