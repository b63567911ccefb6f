"""The BigCommerce storefront loader on a Stencil-shaped product page, in chromium.

A real gateway (uvicorn in a thread, SQLite) with a BigCommerce store installed against the
fake BigCommerce; its worker registers the loader through the Scripts API, and the page
includes exactly the ``src`` the fake received, with its ``integrity``. The page is shaped
like Cornerstone's product view (``form[data-cart-item-add]`` with the hidden ``product_id``
and ``attribute[...]`` option selects) and is served on ``localhost`` with the storefront's
own endpoints the loader calls (``/remote/v1/product-attributes/{id}``, the Storefront Cart
API). Checked: the loader finds the product, follows the selected variant, loads the pinned SDK
with the shop's key, and after the widget's ``add_to_cart`` adds the line to the cart and sends
``add_to_cart`` with the cart id as ``cart_token`` (what the order's ``cart_id`` joins), once.

Then the order placed with that cart arrives as BigCommerce's light hook (with the store's
secret header); the worker fetches it from the fake and the dashboard's metrics
(``/v1/metrics/summary``) count it as attributed: the only link between the order and the
try-on session is the cart id the loader reported.

The product is synced from the fake first (image through the SSRF-safe fetcher, try-on asset
prepared), so the SDK shows its button; the shopper's try-on is real (photo mode, the
astronaut photo) and "Add to cart" is the widget's own.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
import uvicorn
from sqlalchemy import select

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.keys import service as keys
from gateway.keys.models import ApiKey, KeyKind
from gateway.main import create_app
from gateway.platforms import installs, mapping
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, hook_secret
from gateway.platforms.context import build_context
from gateway.platforms.protocol import InstallGrant, Tokens
from gateway.platforms.worker import Worker
from gateway.products.models import Product
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from testkit.fakes.bigcommerce import FakeBigCommerce
from testkit.images import load_bgr
from tests.gateway.tryon_support import demo_product_image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "bigcommerce-e2e"
CHROMIUM = os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium")
CLIENT_ID, SECRET = "bc-e2e-client", "bc-e2e-secret-" + "0" * 40
STORE_HASH = "e2e42"
PRODUCT = 111
VARIANTS = {"1": 501, "2": 502}  # option value id -> v3 variant id


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Storefront:
    """A Stencil-shaped product page and the storefront endpoints the loader calls."""

    def __init__(self, script_tag: str) -> None:
        self.script_tag = script_tag
        self.carts: dict[str, list[dict[str, Any]]] = {}
        self.asked: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self) -> bytes:
        return f"""<!doctype html><html><head><meta charset=utf-8><title>Round frames</title>
</head><body>
<main class="page"><div class="productView" data-product-id="{PRODUCT}">
<h1 class="productView-title">Round frames</h1>
<form class="form" method="post" action="/cart.php" enctype="multipart/form-data"
      data-cart-item-add>
  <input type="hidden" name="action" value="add">
  <input type="hidden" name="product_id" value="{PRODUCT}">
  <div data-product-option-change>
    <label>Colour <select name="attribute[101]">
      <option value="1" selected>Black</option><option value="2">Gold</option>
    </select></label>
  </div>
  <input type="number" name="qty[]" value="1">
  <input type="submit" value="Add to Cart" id="form-action-addToCart">
</form></div></main>
{self.script_tag}
</body></html>""".encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.startswith("/products/round-frames"):
                    self._send(200, owner.page(), "text/html; charset=utf-8")
                elif self.path == "/api/storefront/carts":
                    carts = [{"id": cid, "lineItems": items} for cid, items in owner.carts.items()]
                    self._send(200, json.dumps(carts).encode())
                else:
                    self._send(404, b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path == f"/remote/v1/product-attributes/{PRODUCT}":
                    owner.asked.append(body.decode("latin-1"))
                    picked = "2" if b'name="attribute[101]"\r\n\r\n2' in body else "1"
                    answer = {"data": {"v3_variant_id": VARIANTS[picked]}}
                    self._send(200, json.dumps(answer).encode())
                elif self.path == "/api/storefront/carts":
                    cart_id = "c0ffee00-1111-4222-8333-444455556666"
                    owner.carts[cart_id] = json.loads(body)["lineItems"]
                    self._send(200, json.dumps({"id": cart_id}).encode())
                elif self.path.startswith("/api/storefront/carts/"):
                    cart_id = self.path.split("/")[4]
                    owner.carts.setdefault(cart_id, []).extend(json.loads(body)["lineItems"])
                    self._send(200, json.dumps({"id": cart_id}).encode())
                else:
                    self._send(404, b"{}")

        return Handler


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Any, str, FakeBigCommerce]]:
    port = _port()
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    migrate.upgrade(url)
    with FakeBigCommerce(CLIENT_ID, SECRET, redirect_uri="https://x") as fake:
        fake.add_store(STORE_HASH)
        settings = GatewaySettings(
            env="test",
            secret_key="e2e-" + "k" * 40,
            data_dir=tmp_path / "var",
            database_url=url,
            bigcommerce_client_id=CLIENT_ID,
            bigcommerce_client_secret=SECRET,
            platform_api_base_url=fake.base_url,
            public_url=f"http://127.0.0.1:{port}",
            platform_worker=False,
        )
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.05)
        try:
            yield app, settings.public_url, fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.engine.dispose()


def test_the_loader_on_a_stencil_product_page(
    gateway: tuple[Any, str, FakeBigCommerce], tmp_path: Path
) -> None:
    if not os.access(CHROMIUM, os.X_OK) or shutil.which("node") is None:
        pytest.fail("chromium and node are needed for the browser test")
    if not (REPO / "sdk_js/dist/tryon.js").is_file():
        pytest.fail("sdk_js/dist/tryon.js is missing: run `make sdk`")
    app, public_url, fake = gateway
    category = fake.add_category(STORE_HASH, "Sunglasses")
    fake.add_product(
        STORE_HASH,
        product_id=PRODUCT,
        name="Round frames",
        categories=[category],
        images=[fake.add_image("round.png", data=demo_product_image("glasses-round-black"))],
        variants=[
            {"id": VARIANTS["1"], "sku": "RF-B", "price": 129, "options": {"Colour": "Black"}},
            {"id": VARIANTS["2"], "sku": "RF-G", "price": 129, "options": {"Colour": "Gold"}},
        ],
    )
    with session_scope(app.state.engine) as session:
        store = installs.complete_install(
            session=session,
            settings=app.state.settings,
            platform=Platform.BIGCOMMERCE,
            grant=InstallGrant(
                shop=f"store-{STORE_HASH}.mybigcommerce.com",
                tokens=Tokens(access_token=fake.issue_token(STORE_HASH), scopes=()),
                extra={"store_hash": STORE_HASH},
            ),
        )
        store_id, merchant_id = store.id, store.merchant_id
        mapping.replace_rules(
            session=session, store=store, rules=[("collection", "Sunglasses", "eyewear")]
        )
    ctx = build_context(
        settings=app.state.settings, engine=app.state.engine, runtime=app.state.runtime, app=app
    )
    worker = Worker(ctx)
    for _ in range(10):  # the hooks + script job, the catalog sync
        if worker.run_once() is None:
            break
    ctx.client.close()
    with session_scope(app.state.engine) as session:
        synced = session.scalars(select(Product)).all()
        assert [p.external_id for p in synced] == [str(PRODUCT)]
    (script,) = fake.stores[STORE_HASH].scripts.values()
    tag = (
        f'<script src="{html.escape(script["src"])}" '
        f'integrity="{html.escape(script["integrity_hashes"][0])}" crossorigin="anonymous" '
        "defer></script>"
    )
    shop = Storefront(tag)
    with session_scope(app.state.engine) as session:
        live = session.get(Store, store_id)
        assert live is not None
        key = session.scalar(select(ApiKey).where(ApiKey.id == live.widget_key_id))
        assert key is not None
        key.allowed_origins = [*key.allowed_origins, shop.origin]  # the test page's origin
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / "loader.json"
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), load_bgr("astronaut"), [cv2.IMWRITE_JPEG_QUALITY, 92])
    try:
        subprocess.run(
            [
                "node",
                str(Path(__file__).with_name("loader.mjs")),
                f"{shop.origin}/products/round-frames/",
                str(out),
                str(photo),
            ],
            check=True,
            timeout=120,
            cwd=REPO,
        )
    finally:
        shop.server.shutdown()
        shop.server.server_close()
    result = json.loads(out.read_text())
    assert result["errors"] == [], result
    assert result["product"] == str(PRODUCT)
    assert result["firstVariant"] == str(VARIANTS["1"])
    assert result["pickedVariant"] == str(VARIANTS["2"])
    sdk = result["sdkScript"]
    assert sdk is not None
    assert sdk["src"].startswith(f"{public_url}/sdk/")
    assert sdk["integrity"].startswith("sha384-")
    assert sdk["key"].startswith("pk_")
    assert result["buttonShown"] is True  # the SDK mounted its button for the synced product
    assert result["widgetSaidAdded"] is True  # the loader said yes to the add-to-cart contract
    assert shop.carts == {
        "c0ffee00-1111-4222-8333-444455556666": [
            {"productId": PRODUCT, "quantity": 1, "variantId": VARIANTS["2"]}
        ]
    }
    sent = [json.loads(b) for b in result["events"] if b]
    carried = [
        e
        for batch in sent
        for e in batch["events"]
        if e["type"] == "add_to_cart" and e["properties"].get("cart_token")
    ]
    assert carried
    assert carried[0]["properties"]["cart_token"] == "c0ffee00-1111-4222-8333-444455556666"
    # One add to cart, one event: the SDK's own, carrying the cart id the loader answered with
    # (a second copy from the loader would count the add twice in the funnel).
    adds = [e for batch in sent for e in batch["events"] if e["type"] == "add_to_cart"]
    widget_adds = [e for e in adds if e["properties"].get("quantity") != 2]
    assert [e["event_id"] for e in widget_adds] == [carried[0]["event_id"]]
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", carried[0]["widget_session_id"])
    assert carried[0]["tryon_session_id"]  # the SDK's own session of the try-on
    assert result["eventsStatus"] == 202  # the gateway took it from the shop's origin
    # The page's own button: the loader reported the add with TryOn.addedToCart (what counts a
    # holdout shopper's add), once, with the cart's id, in this page's widget session.
    (own,) = [e for e in adds if e["properties"].get("quantity") == 2]
    assert own["properties"]["cart_token"] == "c0ffee00-1111-4222-8333-444455556666"
    assert (own["product_id"], own["variant_id"]) == (str(PRODUCT), str(VARIANTS["2"]))
    assert own["widget_session_id"] == carried[0]["widget_session_id"]
    assert own.get("tryon_session_id") is None
    assert result["ownStatus"] == 202

    # The order placed with that cart: BigCommerce's light hook -> the worker fetches the
    # order -> a purchase with cart_id as cart_token -> attributed on the dashboard.
    cart_id = "c0ffee00-1111-4222-8333-444455556666"
    order = fake.add_order(
        STORE_HASH, cart_id=cart_id, lines=[(PRODUCT, VARIANTS["2"], 1, "129.0000")], currency="EUR"
    )
    body = fake.hook_body(STORE_HASH, "store/order/created", order)
    secret_header = {
        "Content-Type": "application/json",
        HOOK_HEADER: hook_secret(client_secret=SECRET, store_hash=STORE_HASH),
    }
    answer = httpx.post(
        f"{public_url}/platforms/bigcommerce/webhooks", content=body, headers=secret_header
    )
    assert answer.status_code == 200
    ctx = build_context(
        settings=app.state.settings, engine=app.state.engine, runtime=app.state.runtime, app=app
    )
    worker = Worker(ctx)
    for _ in range(10):
        if worker.run_once() is None:
            break
    ctx.client.close()
    with session_scope(app.state.engine) as session:
        _, secret_key = keys.create(session=session, merchant_id=merchant_id, kind=KeyKind.SECRET)
    deadline = time.monotonic() + 60
    while True:
        summary = httpx.get(
            f"{public_url}/v1/metrics/summary",
            headers={"Authorization": f"Bearer {secret_key}"},
            timeout=30,
        )
        assert summary.status_code == 200, summary.text
        attribution = summary.json()["attribution"]
        if attribution["attributed_orders"] >= 1:
            break
        assert time.monotonic() < deadline, f"not attributed: {attribution}"
        time.sleep(0.5)
    assert attribution["attributed_orders"] == 1
    assert float(attribution["attributed_revenue"]["EUR"]) == 129.0
