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
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from testkit.fakes.shopify import FakeShopify
from testkit.images import load_bgr
from tests.plugins.browser import run_browser_script
from tests.plugins.shopify import storefront
from tests.plugins.shopify.gateway_process import Gateway, running_gateway
from tests.plugins.shopify.liquid_shopify import PLUGIN, REPO

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
API_KEY = "tryon-test-client-id"
API_SECRET = secrets.token_hex(24)


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
    fake: Any = None
    """The fake Shopify (testkit/fakes/shopify.py)."""
    browsed: dict[str, Any] = field(default_factory=dict)
    installed: bool = False


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
    with ExitStack() as stack:
        fake = stack.enter_context(FakeShopify(API_KEY, API_SECRET))
        fake.add_shop(SHOP)
        extra_env = {
            "TRYON_SHOPIFY_API_KEY": API_KEY,
            "TRYON_SHOPIFY_API_SECRET": API_SECRET,
            "TRYON_PLATFORM_API_BASE_URL": fake.base_url,
        }
        # The storefront listens first (port 0): its origin is what the merchant's key allows.
        store = storefront.Store(
            shop=SHOP,
            products={
                "round-glasses": shopify_product("round-glasses"),
                "round-glasses-tampered": shopify_product("round-glasses-tampered"),
                "round-glasses-dawn": {
                    **shopify_product("round-glasses-dawn"),
                    "template": "product-dawn",
                },
            },
            embed_settings={},
            block_settings={"button_color": "#0b6e4f", "categories": "sunglasses, glasses"},
        )
        stack.enter_context(storefront.serving(store))
        gateway = stack.enter_context(
            running_gateway(work, origins=[store.base_url], extra_env=extra_env)
        )
        gateway.add_product(external_id=PRODUCT_ID, title="Round optical frames", variants=VARIANTS)
        manifest = httpx.get(f"{gateway.base_url}/sdk/v1/manifest.json", timeout=10).json()
        sdk = manifest["files"]["tryon.js"]
        good = sdk["integrity"]
        # Same algorithm and length, other digest: what a changed file would be checked against.
        tampered = good[:-8] + ("AAAAAAA=" if not good.endswith("AAAAAAA=") else "BBBBBBB=")
        store.embed_settings = {
            "publishable_key": gateway.publishable_key,
            "sdk_url": sdk["url"],
            "sdk_integrity": good,
            "accent_color": "#0b6e4f",
        }
        store.embed_overrides = {"round-glasses-tampered": {"sdk_integrity": tampered}}
        photo = work / "photo.jpg"
        cv2.imwrite(str(photo), load_bgr("astronaut"), [cv2.IMWRITE_JPEG_QUALITY, 92])
        yield Setup(gateway=gateway, store=store, photo=photo, fake=fake)


def drive(setup: Setup) -> dict[str, Any]:
    """The browser run (once per module: both tests read it)."""
    if not setup.browsed:
        setup.browsed.update(_drive(setup))
    return setup.browsed


def _drive(setup: Setup) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    config = {
        "store": setup.store.base_url,
        "handle": "round-glasses",
        "variants": [vid for vid, _, _ in VARIANTS],
        "photo": str(setup.photo),
        "artifacts": str(ARTIFACTS),
        "tampered": f"{setup.store.base_url}/products/round-glasses-tampered",
        "dawn": f"{setup.store.base_url}/products/round-glasses-dawn",
    }
    out = run_browser_script(PLUGIN, "e2e/storefront.mjs", config)
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
    # It was reported with TryOn.addedToCart (what counts a holdout shopper's add), whose
    # answer, this page's widget session, went on the cart attribute again.
    widget = attribute["_tryon_widget_session"]
    assert out["own_button_add"] == {
        "add": {"productId": PRODUCT_ID, "variantId": second, "quantity": 1},
        "id": widget,
    }
    deadline = time.monotonic() + 30
    while sum(p.path == "/cart/update.js" for p in setup.store.posted) < 2:
        assert time.monotonic() < deadline, setup.store.posted
        time.sleep(0.1)
    updates = [p.body for p in setup.store.posted if p.path == "/cart/update.js"]
    assert updates == [{"attributes": {"_tryon_widget_session": widget}}] * 2

    # French storefront: French label from the extension's locale, variant from the URL.
    fr = out["fr"]
    assert {k: fr[k] for k in ("product", "variant", "label", "lang")} == {
        "product": PRODUCT_ID,
        "variant": second,
        "label": "Essayer",
        "lang": "fr",
    }
    # The block's script ran first there: its queued listeners still put the session on the form.
    assert fr["script_order"] == ["block", "sdk"]
    assert fr["hidden"] == fr["session"]
    assert fr["session"] != session

    # SRI: with a hash that does not match, chromium refused the SDK: no widget, no button.
    assert out["tampered"]["block"] == 1
    assert out["tampered"]["sdk_loaded"] is False
    assert out["tampered"]["buttons"] == 0
    assert any("integrity" in line for line in out["tampered"]["console"]), out["tampered"]

    # A Dawn-like theme: the variant changes through the hidden id input, set later, no event.
    assert out["dawn"] == {"before": first, "after": second, "url": f"?variant={second}"}

    assert out["problems"] == []
    for name in ("shopify-product-page", "shopify-tryon-result", "shopify-product-page-fr"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000


# -- with the platform code: a signed orders/create from the fake Shopify ----------------------


def _install(setup: Setup) -> None:
    """Connect the test shop to our merchant through the OAuth install (the fake's authorize
    page), as the dashboard's "connect Shopify" link does."""
    from gateway.platforms.shopify import oauth

    if setup.installed:
        return
    gateway = setup.gateway
    link = oauth.seal_link(
        uuid.UUID(gateway.merchant_id),
        shop=SHOP,
        secret=gateway.env["TRYON_SECRET_KEY"],
        now=int(time.time()),
    )
    with httpx.Client(base_url=gateway.base_url, trust_env=False, timeout=60) as browser:
        started = browser.get("/platforms/shopify/install", params={"shop": SHOP, "link": link})
        assert started.status_code == 302, started.text
        # The state cookie is Secure outside development: carry it by hand over loopback http.
        cookie = "; ".join(f"{k}={v}" for k, v in started.cookies.items())
        authorized = httpx.get(started.headers["location"], trust_env=False)
        assert authorized.status_code == 302, authorized.text
        back = authorized.headers["location"]
        assert back.startswith(f"{gateway.base_url}/platforms/shopify/callback?")
        finished = browser.get(back, headers={"Cookie": cookie})
        assert finished.status_code == 302, finished.text
    with gateway.client() as api:
        stores = api.get("/v1/stores")
        assert stores.status_code == 200, stores.text
        assert [s["shop"] for s in stores.json()["data"]] == [SHOP]
    setup.installed = True


def _summary(setup: Setup) -> dict[str, Any]:
    with setup.gateway.client() as api:
        answer = api.get("/v1/metrics/summary")
        assert answer.status_code == 200, answer.text
        summary: dict[str, Any] = answer.json()
        return summary


def test_signed_order_from_shopify_is_attributed_on_the_dashboard(setup: Setup) -> None:
    """The try-on session the product form carried comes back in Shopify's signed orders/create
    (line item property and cart attribute); the dashboard's metrics count the order as a
    try-on order, once, however often Shopify delivers it."""
    out = drive(setup)
    session = out["session"]
    widget = setup.store.wait_for("/cart/update.js").body["attributes"]["_tryon_widget_session"]
    form = setup.store.wait_for("/cart/add").form
    assert form["properties[_tryon_session]"] == [session]
    _install(setup)

    order = {
        "id": 5550001,
        "name": "#1001",
        "created_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "total_price": "129.00",
        "note_attributes": [{"name": "_tryon_widget_session", "value": widget}],
        "line_items": [
            {
                "id": 13000001,
                "product_id": int(PRODUCT_ID),
                "variant_id": int(form["id"][0]),
                "quantity": 1,
                "price": "129.00",
                # What Shopify gives back for properties[_tryon_session] posted by the form.
                "properties": [
                    {"name": "_tryon_session", "value": form["properties[_tryon_session]"][0]}
                ],
            }
        ],
    }
    url = f"{setup.gateway.base_url}/platforms/shopify/webhooks"
    forged = setup.fake.deliver_webhook(url, "orders/create", SHOP, order, tamper=True)
    assert forged.status_code == 401
    delivery = str(uuid.uuid4())
    first = setup.fake.deliver_webhook(url, "orders/create", SHOP, order, webhook_id=delivery)
    assert first.status_code == 200, first.text

    deadline = time.monotonic() + 120
    while True:
        attribution = _summary(setup)["attribution"]
        if attribution["attributed_orders"] >= 1:
            break
        assert time.monotonic() < deadline, f"not attributed: {attribution}"
        time.sleep(0.5)
    assert attribution["orders"] == 1
    assert attribution["attributed_orders"] == 1
    assert attribution["attributed_units"] == 1
    assert set(attribution["attributed_revenue"]) == {"EUR"}
    assert float(attribution["attributed_revenue"]["EUR"]) == 129.0

    # Shopify retries (same webhook id) and a second delivery of the same order: one order.
    again = setup.fake.deliver_webhook(url, "orders/create", SHOP, order, webhook_id=delivery)
    assert again.status_code == 200
    other = setup.fake.deliver_webhook(url, "orders/create", SHOP, order)
    assert other.status_code == 200
    settle = time.monotonic() + 5
    while time.monotonic() < settle:
        attribution = _summary(setup)["attribution"]
        assert attribution["orders"] == 1
        assert attribution["attributed_orders"] == 1
        time.sleep(0.5)


def _widget_key(setup: Setup) -> str:
    """The shop's widget key the install made (the key the pixel's settings carry)."""
    from gateway.db.session import make_engine, session_scope
    from gateway.platforms import installs
    from gateway.settings import GatewaySettings
    from gateway.stores.models import Platform

    env = setup.gateway.env
    settings = GatewaySettings(
        env="test",
        secret_key=env["TRYON_SECRET_KEY"],
        data_dir=Path(env["TRYON_DATA_DIR"]),
        shopify_api_key=API_KEY,
        shopify_api_secret=API_SECRET,
    )
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=SHOP)
            assert store is not None
            key = installs.widget_key_for(settings=settings, store=store)
    finally:
        engine.dispose()
    assert key is not None
    assert key.startswith("pk_")
    return key


def _run_pixel(setup: Setup, tmp_path: Path, event: dict[str, Any]) -> dict[str, Any]:
    """The pixel extension, compiled by tsc, run by node against the real gateway."""
    built = tmp_path / "pixel"
    compiled = subprocess.run(
        [
            str(PLUGIN / "node_modules" / ".bin" / "tsc"),
            "-p",
            str(PLUGIN / "extensions" / "tryon-pixel"),
            "--noEmit",
            "false",
            "--outDir",
            str(built),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (built / "package.json").write_text('{"type": "module"}')
    # tsc keeps "./payload" as written; node's ESM loader wants the file name.
    index = built / "index.js"
    index.write_text(index.read_text().replace('from "./payload"', 'from "./payload.js"'))
    (tmp_path / "node_modules").symlink_to(PLUGIN / "node_modules")
    config = {
        "shop": SHOP,
        "settings": {
            "apiBase": setup.gateway.base_url,
            "publishableKey": _widget_key(setup),
        },
        "event": event,
    }
    done = subprocess.run(
        ["node", "e2e/pixel-harness.mjs", str(index), json.dumps(config)],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_pixel_second_signal_attributes_an_order_whose_theme_dropped_the_ids(
    setup: Setup, tmp_path: Path
) -> None:
    """The web pixel (the real extension code, in node) posts checkout_completed with the
    try-on ids to the gateway; Shopify's orders/create for that order arrives without them
    (a theme that drops line item properties); the order is attributed all the same."""
    out = drive(setup)
    session, second = out["session"], VARIANTS[1][0]
    widget = setup.store.wait_for("/cart/update.js").body["attributes"]["_tryon_widget_session"]
    _install(setup)
    before = _summary(setup)["attribution"]

    event = {
        "id": "evt-1",
        "name": "checkout_completed",
        "data": {
            "checkout": {
                "token": "ct-5550002",
                "order": {"id": "gid://shopify/OrderIdentity/5550002"},
                "currencyCode": "EUR",
                "totalPrice": {"amount": 129, "currencyCode": "EUR"},
                "attributes": [{"key": "_tryon_widget_session", "value": widget}],
                "lineItems": [
                    {
                        "quantity": 1,
                        "properties": [{"key": "_tryon_session", "value": session}],
                        "variant": {
                            "id": second,
                            "price": {"amount": 129, "currencyCode": "EUR"},
                            "product": {"id": f"gid://shopify/Product/{PRODUCT_ID}"},
                        },
                    }
                ],
            }
        },
    }
    pixel = _run_pixel(setup, tmp_path, event)
    assert pixel["subscribed"] == ["checkout_completed"]
    [sent] = pixel["sent"]
    assert sent["url"] == f"{setup.gateway.base_url}/platforms/shopify/pixel"
    assert sent["body"]["order_id"] == "5550002"
    assert sent["status"] == 202, sent["answer"]

    dropped = {
        "id": 5550002,
        "created_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "total_price": "129.00",
        "note_attributes": [],
        "line_items": [
            {
                "id": 13000002,
                "product_id": int(PRODUCT_ID),
                "variant_id": int(second),
                "quantity": 1,
                "price": "129.00",
                "properties": [],
            }
        ],
    }
    url = f"{setup.gateway.base_url}/platforms/shopify/webhooks"
    answer = setup.fake.deliver_webhook(url, "orders/create", SHOP, dropped)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 120
    while True:
        attribution = _summary(setup)["attribution"]
        if attribution["orders"] > before["orders"]:
            break
        assert time.monotonic() < deadline, f"the order never arrived: {attribution}"
        time.sleep(0.5)
    assert attribution["orders"] == before["orders"] + 1
    assert attribution["attributed_orders"] == before["attributed_orders"] + 1
