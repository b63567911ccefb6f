"""A fake WooCommerce for tests, written from WooCommerce's public documentation (the REST API
v3 reference, "WooCommerce REST API authentication endpoint" and the webhooks guide), not from
its code: the key exchange, the REST API v3 (products, variations, orders, webhooks) and
webhook deliveries.

It encodes our reading of the docs summarised in ``/work/shared/design/PLATFORMS.md``
(WooCommerce section); the peers check it: WooCommerce's own Python client (``woocommerce``
on PyPI) reads this fake's catalog in the tests, and the signature follows the published
vector. Any number of stores live on one server at ``127.0.0.1:0``; point
``TRYON_PLATFORM_API_BASE_URL`` at ``.base_url`` and ``https://shop.example/wp-json/...``
lands here as ``{base_url}/shop.example/wp-json/...`` (the store's URL path kept).

Implemented:

- ``GET {store}/wc-auth/v1/authorize`` (``app_name``, ``scope`` read/write/read_write,
  ``user_id``, ``return_url``, ``callback_url`` which must be https): 200 with a small
  approval page, 400 otherwise. ``approve`` is the merchant pressing *Approve*: the keys are
  made and ``{key_id, user_id, consumer_key, consumer_secret, key_permissions}`` POSTed as
  JSON to the callback (through a sender the test gives); a non-200 answer deletes the keys,
  as WooCommerce does. Then the browser goes to ``return_url?success=1&user_id=...``.
- ``{store}/wp-json/wc/v3/...`` with HTTP Basic ``consumer_key:consumer_secret`` (401
  ``woocommerce_rest_cannot_view`` otherwise; ``read`` keys cannot write): ``GET products``
  (``per_page`` <= 100, ``page``, ``status``; ``X-WP-Total`` / ``X-WP-TotalPages``), ``GET
  products/{id}`` (404 ``woocommerce_rest_product_invalid_id``), ``GET
  products/{id}/variations``, ``GET orders/{id}`` (line item meta whose key starts with
  ``_`` is hidden unless ``all_item_meta=true``), ``GET/POST webhooks`` (``secret`` only
  with ``context=edit``), ``DELETE webhooks/{id}``. Creating a hook sends the unsigned ping
  ``webhook_id=N`` to its delivery URL.
- ``deliver``: what WooCommerce sends when a resource changes: the JSON body signed with
  ``X-WC-Webhook-Signature`` and the ``X-WC-Webhook-{Source,Topic,Resource,Event,Signature,
  ID,Delivery-ID}`` headers, once (no retries); five failed deliveries disable the hook.
- ``GET /cdn/{name}``: image bytes added with ``add_image``.

Not implemented: OAuth 1.0a over plain http (stores are reached over https), batch
endpoints, coupons and customers, the Action Scheduler's asynchronous delivery, the REST
API's full field set (only what the gateway reads and a few neighbours).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from testkit.fakes.server import Answer, FakeServer, RecordedRequest, json_answer

Sender = Callable[[str, dict[str, str], bytes], int]
"""``(url, headers, body) -> HTTP status``: how the fake reaches the gateway (a TestClient
in-process, httpx against a real server)."""

MAX_FAILURES = 5


@dataclass
class _Store:
    url: str
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    """consumer key -> (key id, consumer secret, permissions)."""


def sign(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature`` as WooCommerce computes it (base64 HMAC-SHA256)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _gmt(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")


class FakeWooCommerce(FakeServer):
    """See the module doc. Use as a context manager; ``base_url`` once started."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: dict[str, _Store] = {}
        """By the store's path prefix here (``shop.example`` or ``shop.example/wp``)."""
        self.images: dict[str, tuple[bytes, str]] = {}
        self.requests: list[RecordedRequest] = []
        self.pings: list[tuple[str, int]] = []
        self.sender: Sender | None = None
        """Where deliveries and pings go; ``None``: nowhere (they count as failures)."""
        self._lock = threading.RLock()
        self._ids = 30

    # -- setup --------------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    @staticmethod
    def prefix_of(store_url: str) -> str:
        parts = urlsplit(store_url)
        return f"{parts.netloc}{parts.path.rstrip('/')}"

    def add_store(self, store_url: str) -> str:
        self.stores[self.prefix_of(store_url)] = _Store(url=store_url.rstrip("/"))
        return store_url

    def store(self, store_url: str) -> _Store:
        return self.stores[self.prefix_of(store_url)]

    def add_keys(self, store_url: str, permissions: str = "read_write") -> tuple[int, str, str]:
        """Keys as WooCommerce makes them (``ck_``/``cs_`` and 40 hex digits)."""
        key_id = self._new_id()
        ck, cs = "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)
        self.store(store_url).keys[ck] = (key_id, cs, permissions)
        return key_id, ck, cs

    def add_image(self, name: str, content: bytes, content_type: str = "image/png") -> str:
        self.images[name] = (content, content_type)
        return f"{self.base_url}/cdn/{name}"

    def add_product(
        self,
        store_url: str,
        *,
        name: str,
        categories: Sequence[str] = (),
        tags: Sequence[str] = (),
        images: Sequence[str] = (),
        variations: Sequence[Mapping[str, Any]] = (),
        status: str = "publish",
        sku: str = "",
        price: str = "10.00",
    ) -> int:
        """A product; with ``variations`` (``{"sku", "price", "attributes": {name: option},
        "image"}``) a variable one, else a simple one."""
        pid = self._new_id()
        made = []
        for v in variations:
            vid = self._new_id()
            made.append(
                {
                    "id": vid,
                    "parent_id": pid,
                    "sku": v.get("sku", ""),
                    "price": str(v.get("price", price)),
                    "status": "publish",
                    "image": {"id": vid, "src": v["image"]} if v.get("image") else None,
                    "attributes": [
                        {"id": i + 1, "name": n, "option": o}
                        for i, (n, o) in enumerate(dict(v.get("attributes", {})).items())
                    ],
                }
            )
        slug = "-".join(name.lower().split())
        self.store(store_url).products[pid] = {
            "id": pid,
            "name": name,
            "slug": slug,
            "permalink": f"{store_url.rstrip('/')}/product/{slug}/",
            "type": "variable" if made else "simple",
            "status": status,
            "sku": sku,
            "price": price,
            "date_modified_gmt": _gmt(),
            "categories": [
                {"id": i + 1, "name": c, "slug": "-".join(c.lower().split())}
                for i, c in enumerate(categories)
            ],
            "tags": [{"id": i + 1, "name": t, "slug": t.lower()} for i, t in enumerate(tags)],
            "images": [
                {"id": i + 1, "src": src, "name": "", "alt": ""} for i, src in enumerate(images)
            ],
            "attributes": [],
            "variations": [v["id"] for v in made],
        }
        self.store(store_url).variations[pid] = made
        return pid

    def variation_ids(self, store_url: str, pid: int) -> list[int]:
        return [int(v["id"]) for v in self.store(store_url).variations.get(pid, [])]

    def update_product(self, store_url: str, pid: int, **changes: Any) -> dict[str, Any]:
        product = self.store(store_url).products[pid]
        product.update(changes, date_modified_gmt=_gmt())
        return product

    def delete_product(self, store_url: str, pid: int) -> None:
        self.store(store_url).products.pop(pid, None)

    def add_order(
        self,
        store_url: str,
        *,
        lines: Sequence[tuple[int, int, int, str, str | None]],
        currency: str = "EUR",
        status: str = "processing",
        refunds: Sequence[str] = (),
        widget_session: str | None = None,
    ) -> dict[str, Any]:
        """An order; ``lines``: (product id, variation id or 0, quantity, unit price,
        ``_tryon_session`` or None); ``widget_session``: the ``_tryon_widget_session`` item meta
        the plugin writes on each line (our plugin's meta, stored like any item meta)."""
        oid = self._new_id()
        items = []
        for pid, vid, qty, price, session in lines:
            meta = [{"id": self._new_id(), "key": "_reduced_stock", "value": str(qty)}]
            if session is not None:
                meta.append({"id": self._new_id(), "key": "_tryon_session", "value": session})
            if widget_session is not None:
                meta.append(
                    {"id": self._new_id(), "key": "_tryon_widget_session", "value": widget_session}
                )
            items.append(
                {
                    "id": self._new_id(),
                    "name": self.store(store_url).products.get(pid, {}).get("name", "Item"),
                    "product_id": pid,
                    "variation_id": vid,
                    "quantity": qty,
                    "subtotal": f"{qty * float(price):.2f}",
                    "total": f"{qty * float(price):.2f}",
                    "price": float(price),
                    "meta_data": meta,
                }
            )
        total = sum(float(i["total"]) for i in items)
        order = {
            "id": oid,
            "number": str(oid),
            "status": status,
            "currency": currency,
            "total": f"{total:.2f}",
            "date_created_gmt": _gmt(),
            "date_modified_gmt": _gmt(),
            "line_items": items,
            "refunds": [{"id": self._new_id(), "reason": "", "total": f"-{r}"} for r in refunds],
        }
        self.store(store_url).orders[oid] = order
        return order

    # -- the key exchange ---------------------------------------------------------------------

    def approve(
        self, authorize_url: str, *, permissions: str | None = None, keys_of: str | None = None
    ) -> tuple[int, str]:
        """The merchant approves: keys made and POSTed to ``callback_url`` through
        ``sender``; ``(callback status, the return URL the browser goes to)``. ``keys_of``:
        the keys of another store (a hostile test); ``permissions``: what WooCommerce says
        (defaults to the requested scope). A non-200 answer deletes the keys."""
        parts = urlsplit(authorize_url)
        query = dict(parse_qsl(parts.query))
        prefix = parts.path.split("/wc-auth/")[0].lstrip("/")
        store_url = self.stores[prefix].url
        key_id, ck, cs = self.add_keys(keys_of or store_url, permissions or query["scope"])
        body = json.dumps(
            {
                "key_id": key_id,
                "user_id": query["user_id"],
                "consumer_key": ck,
                "consumer_secret": cs,
                "key_permissions": permissions or query["scope"],
            }
        ).encode()
        status = self._send(query["callback_url"], {"Content-Type": "application/json"}, body)
        if status != 200:
            self.store(keys_of or store_url).keys.pop(ck, None)
            return (
                status,
                f"{query['return_url']}?{urlencode({'success': '0', 'user_id': query['user_id']})}",
            )
        return (
            status,
            f"{query['return_url']}?{urlencode({'success': '1', 'user_id': query['user_id']})}",
        )

    # -- webhooks -----------------------------------------------------------------------------

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if self.sender is None:
            return 0
        try:
            return self.sender(url, headers, body)
        except Exception:  # a delivery that cannot be made is a failed delivery
            return 0

    def deliver(
        self,
        store_url: str,
        topic: str,
        payload: Mapping[str, Any],
        *,
        secret: str | None = None,
        delivery_id: str | None = None,
    ) -> list[int]:
        """Send ``payload`` to every active hook of ``topic`` once; the statuses. ``secret``
        overrides the hook's (a forged delivery)."""
        store = self.store(store_url)
        resource, event = topic.split(".", 1)
        body = json.dumps(payload).encode()
        statuses = []
        for hook in list(store.hooks.values()):
            if hook["topic"] != topic or hook["status"] != "active":
                continue
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.1.9)",
                "X-WC-Webhook-Source": store.url + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": sign(
                    secret if secret is not None else hook["secret"], body
                ),
                "X-WC-Webhook-ID": str(hook["id"]),
                "X-WC-Webhook-Delivery-ID": delivery_id or secrets.token_hex(16),
            }
            status = self._send(hook["delivery_url"], headers, body)
            statuses.append(status)
            if 200 <= status < 300:
                hook["failure_count"] = 0
            else:
                hook["failure_count"] += 1
                if hook["failure_count"] >= MAX_FAILURES:
                    hook["status"] = "disabled"
        return statuses

    def hooks(self, store_url: str) -> list[dict[str, Any]]:
        return list(self.store(store_url).hooks.values())

    # -- HTTP -----------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            self.requests.append(RecordedRequest(method, parts.path, query, headers, body))
        if parts.path.startswith("/cdn/"):
            image = self.images.get(parts.path[len("/cdn/") :])
            if image is None or method != "GET":
                return 404, {"Content-Type": "text/plain"}, b"not found"
            return 200, {"Content-Type": image[1]}, image[0]
        for prefix, store in sorted(self.stores.items(), key=lambda kv: -len(kv[0])):
            head = f"/{prefix}"
            if parts.path == head or parts.path.startswith(head + "/"):
                rest = parts.path[len(head) :]
                if rest == "/wc-auth/v1/authorize" and method == "GET":
                    return self._authorize(query)
                if rest.startswith("/wp-json/wc/v3/"):
                    return self._rest(
                        store, method, rest[len("/wp-json/wc/v3") :], query, headers, body
                    )
        return json_answer(404, {"code": "rest_no_route", "message": "No route was found"})

    def _authorize(self, query: dict[str, str]) -> Answer:
        missing = [
            k
            for k in ("app_name", "scope", "user_id", "return_url", "callback_url")
            if not query.get(k)
        ]
        if missing or query["scope"] not in {"read", "write", "read_write"}:
            return 400, {"Content-Type": "text/plain"}, b"Error: invalid request"
        if not query["callback_url"].startswith("https://"):
            return (
                400,
                {"Content-Type": "text/plain"},
                b"Error: The callback_url needs to be over SSL",
            )
        page = f"<h1>{query['app_name']} would like to connect</h1><button>Approve</button>"
        return 200, {"Content-Type": "text/html"}, page.encode()

    def _auth(self, store: _Store, headers: dict[str, str]) -> str | None:
        value = headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            ck, _, cs = base64.b64decode(value[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        found = store.keys.get(ck)
        if found is None or not hmac.compare_digest(found[1], cs):
            return None
        return found[2]

    def _rest(
        self,
        store: _Store,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Answer:
        permissions = self._auth(store, headers)
        if permissions is None:
            return json_answer(
                401,
                {
                    "code": "woocommerce_rest_cannot_view",
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
            )
        if method != "GET" and permissions == "read":
            return json_answer(
                401,
                {
                    "code": "woocommerce_rest_cannot_create",
                    "message": "Sorry, you are not allowed to create resources.",
                    "data": {"status": 401},
                },
            )
        segments = [s for s in path.split("/") if s]
        if method == "GET" and segments == ["products"]:
            rows = sorted(store.products.values(), key=lambda p: p["id"])
            wanted = query.get("status", "any")
            if wanted != "any":
                rows = [p for p in rows if p["status"] == wanted]
            return _paged(rows, query)
        if method == "GET" and len(segments) == 2 and segments[0] == "products":
            product = store.products.get(int(segments[1])) if segments[1].isdigit() else None
            if product is None:
                return json_answer(
                    404,
                    {
                        "code": "woocommerce_rest_product_invalid_id",
                        "message": "Invalid ID.",
                        "data": {"status": 404},
                    },
                )
            return json_answer(200, product)
        if (
            method == "GET"
            and len(segments) == 3
            and segments[0] == "products"
            and segments[2] == "variations"
        ):
            pid = int(segments[1]) if segments[1].isdigit() else 0
            return _paged(store.variations.get(pid, []), query)
        if method == "GET" and len(segments) == 2 and segments[0] == "orders":
            order = store.orders.get(int(segments[1])) if segments[1].isdigit() else None
            if order is None:
                return json_answer(
                    404,
                    {
                        "code": "woocommerce_rest_shop_order_invalid_id",
                        "message": "Invalid ID.",
                        "data": {"status": 404},
                    },
                )
            shown = json.loads(json.dumps(order))
            if query.get("all_item_meta") != "true":
                for item in shown["line_items"]:
                    item["meta_data"] = [
                        m for m in item["meta_data"] if not m["key"].startswith("_")
                    ]
            return json_answer(200, shown)
        if segments == ["webhooks"] and method == "GET":
            rows = [dict(h) for h in sorted(store.hooks.values(), key=lambda h: h["id"])]
            if query.get("context") != "edit":
                for row in rows:
                    row.pop("secret", None)
            return _paged(rows, query)
        if segments == ["webhooks"] and method == "POST":
            data = json.loads(body or b"{}")
            if not isinstance(data, dict) or not data.get("topic") or not data.get("delivery_url"):
                return json_answer(
                    400,
                    {
                        "code": "rest_missing_callback_param",
                        "message": "Missing parameter(s): topic, delivery_url",
                        "data": {"status": 400},
                    },
                )
            hid = self._new_id()
            resource, event = str(data["topic"]).split(".", 1)
            hook = {
                "id": hid,
                "name": data.get("name", ""),
                "status": data.get("status", "active"),
                "topic": data["topic"],
                "resource": resource,
                "event": event,
                "delivery_url": data["delivery_url"],
                "secret": data.get("secret") or secrets.token_hex(16),
                "failure_count": 0,
                "date_created_gmt": _gmt(),
            }
            store.hooks[hid] = hook
            # WooCommerce pings a new hook's URL with an unsigned form body.
            ping = self._send(
                hook["delivery_url"],
                {"Content-Type": "application/x-www-form-urlencoded"},
                f"webhook_id={hid}".encode(),
            )
            self.pings.append((hook["delivery_url"], ping))
            return json_answer(201, hook)
        if len(segments) == 2 and segments[0] == "webhooks" and method == "DELETE":
            hook = store.hooks.pop(int(segments[1]), None) if segments[1].isdigit() else None
            if hook is None:
                return json_answer(
                    404,
                    {
                        "code": "woocommerce_rest_webhook_invalid_id",
                        "message": "Invalid ID.",
                        "data": {"status": 404},
                    },
                )
            return json_answer(200, hook)
        return json_answer(
            404,
            {
                "code": "rest_no_route",
                "message": "No route was found matching the URL and request method.",
                "data": {"status": 404},
            },
        )


def _paged(rows: Sequence[Any], query: dict[str, str]) -> Answer:
    per_page = int(query.get("per_page", "10")) if query.get("per_page", "10").isdigit() else 10
    page = int(query.get("page", "1")) if query.get("page", "1").isdigit() else 1
    if not 1 <= per_page <= 100:
        return json_answer(
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): per_page",
                "data": {"status": 400},
            },
        )
    pages = max(1, -(-len(rows) // per_page))
    chunk = list(rows[(page - 1) * per_page : page * per_page])
    status, headers, payload = json_answer(200, chunk)
    headers |= {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}
    return status, headers, payload


__all__ = ["FakeWooCommerce", "RecordedRequest", "sign"]
