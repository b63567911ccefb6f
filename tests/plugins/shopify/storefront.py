"""A Shopify storefront stand-in on loopback for the theme app extension's browser test.

Product pages are the fixture template ``theme/product.liquid`` with the app block and the app
embed rendered into it by python-liquid (``liquid_shopify``); ``/assets/<file>`` serves the
extension's real assets. The cart endpoints the block's script and the product form call
(``POST /cart/add`` as a form, ``/cart/add.js`` and ``/cart/update.js`` as JSON, with the
``/fr/`` locale prefix too) answer as Shopify's Ajax Cart API does, and record what they got.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.plugins.shopify import liquid_shopify

THEME = Path(__file__).with_name("theme")
IMAGES = liquid_shopify.REPO / "ml_service" / "demo_assets"
LANGUAGES = ("en", "fr")


@dataclass
class Posted:
    path: str
    form: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None


@dataclass
class Store:
    """What the store serves (products by handle, block and embed settings) and was sent."""

    shop: str
    products: dict[str, dict[str, Any]]
    embed_settings: dict[str, Any]
    block_settings: dict[str, Any]
    embed_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per product handle: embed settings that differ (a tampered integrity hash)."""
    posted: list[Posted] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    base_url: str = ""

    def record(self, posted: Posted) -> None:
        with self.changed:
            self.posted.append(posted)
            self.changed.notify_all()

    def wait_for(self, path: str, *, timeout_s: float = 30) -> Posted:
        """The first request posted to ``path`` (without a locale prefix), waiting for it."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                for p in self.posted:
                    if p.path == path:
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing was posted to {path}: {self.posted}")
                self.changed.wait(left)

    def page(self, handle: str, *, language: str, variant: str | None) -> str | None:
        product = self.products.get(handle)
        if product is None:
            return None
        chosen = next(
            (v for v in product["variants"] if str(v["id"]) == variant),
            product["variants"][0],
        )
        product = {**product, "selected_or_first_available_variant": chosen}
        request = {"design_mode": False, "locale": {"iso_code": language}}
        root = "/" if language == "en" else f"/{language}/"
        button = liquid_shopify.load_block("tryon-button")
        embed = liquid_shopify.load_block("tryon-embed")
        block_html = liquid_shopify.render_block(
            button,
            language=language,
            product=product,
            request=request,
            block={
                "id": "AbCdEf123",
                "settings": {**button.defaults(), **self.block_settings},
                "shopify_attributes": 'data-shopify-editor-block="{}"',
            },
        )
        embed_html = liquid_shopify.render_block(
            embed,
            language=language,
            request=request,
            block={
                "id": "EmBeD456",
                "settings": {
                    **embed.defaults(),
                    **self.embed_settings,
                    **self.embed_overrides.get(handle, {}),
                },
            },
        )
        template = product.get("template", "product")
        return liquid_shopify.render(
            (THEME / f"{template}.liquid").read_text(),
            language=language,
            product=product,
            request=request,
            shop=self.shop,
            shop_name="Lunettes & Co (test store)",
            routes_root=root,
            embed_html=embed_html,
            block_html=block_html,
            block_javascript=button.schema["javascript"],
            block_stylesheet=button.schema["stylesheet"],
        )


def _handler(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: object) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _route(self) -> tuple[str, str, dict[str, list[str]]]:
            url = urlsplit(self.path)
            path = url.path
            language = "en"
            for lang in LANGUAGES:
                if path.startswith(f"/{lang}/"):
                    language, path = lang, path[len(lang) + 1 :]
            return language, path, parse_qs(url.query)

        def do_GET(self) -> None:
            language, path, query = self._route()
            if path.startswith("/products/"):
                html = store.page(
                    path.removeprefix("/products/"),
                    language=language,
                    variant=next(iter(query.get("variant", [])), None),
                )
                if html is None:
                    self._send(404, b"no such product", "text/plain")
                else:
                    self._send(200, html.encode(), "text/html; charset=utf-8")
            elif path.startswith("/assets/"):
                name = path.removeprefix("/assets/")
                asset = liquid_shopify.EXTENSION / "assets" / name
                if "/" in name or not asset.is_file():
                    self._send(404, b"", "text/plain")
                    return
                kind = "text/css" if name.endswith(".css") else "text/javascript"
                self._send(200, asset.read_bytes(), kind)
            elif path.startswith("/images/") and "/" not in path.removeprefix("/images/"):
                image = IMAGES / path.removeprefix("/images/")
                if image.is_file():
                    self._send(200, image.read_bytes(), "image/png")
                else:
                    self._send(404, b"", "text/plain")
            elif path == "/cart":
                body = json.dumps({"lines": store.lines, "attributes": store.attributes})
                page = '<!doctype html><title>Cart</title><link rel="icon" href="data:,">'
                self._send(200, f"{page}<pre>{body}</pre>".encode(), "text/html")
            else:
                self._send(404, b"", "text/plain")

        def do_POST(self) -> None:
            _, path, _ = self._route()
            length = int(self.headers.get("Content-Length") or 0)
            if length > 64 * 1024:
                self._json(413, {"status": 413, "message": "too large"})
                return
            raw = self.rfile.read(length)
            kind = self.headers.get("Content-Type") or ""
            if path == "/cart/add" and kind.startswith("application/x-www-form-urlencoded"):
                form = parse_qs(raw.decode(), keep_blank_values=True)
                store.record(Posted(path=path, form=form))
                properties = {
                    k.removeprefix("properties[").removesuffix("]"): v[0]
                    for k, v in form.items()
                    if k.startswith("properties[")
                }
                store.lines.append({"id": form["id"][0], "quantity": 1, "properties": properties})
                self.send_response(302)
                self.send_header("Location", "/cart")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path in ("/cart/add.js", "/cart/update.js") and kind.startswith("application/"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"status": 400, "message": "bad JSON"})
                    return
                store.record(Posted(path=path, body=body))
                if path == "/cart/add.js":
                    store.lines.extend(body.get("items", []))
                    self._json(200, {"items": body.get("items", [])})
                else:
                    store.attributes.update(body.get("attributes") or {})
                    self._json(200, {"attributes": store.attributes, "items": store.lines})
            else:
                self._json(404, {"status": 404, "message": "not found"})

    return Handler


@contextmanager
def serving(store: Store, port: int = 0) -> Iterator[Store]:
    """Serve ``store`` on 127.0.0.1 (an ephemeral port unless given) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store.base_url = f"http://localhost:{server.server_address[1]}"
    try:
        yield store
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
