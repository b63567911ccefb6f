"""A fake BigCommerce for tests, written from BigCommerce's public developer documentation
(not from its code): the OAuth token endpoint, the v3 catalog, hooks and Scripts APIs, the v2
orders and store APIs, light hook deliveries and the signed callback payloads.

It encodes our reading of the docs summarised in ``/work/shared/design/PLATFORMS.md``
(BigCommerce section); the cryptography is checked by peers in the tests: BigCommerce's own
Python client (``bigcommerce`` on PyPI) verifies the JWTs minted here, and the Standard
Webhooks library (``standardwebhooks``) signs deliveries. It serves one app (``client_id``,
``client_secret``, one registered ``redirect_uri``) for any number of stores on
``127.0.0.1:0``; point ``TRYON_PLATFORM_API_BASE_URL`` at ``.base_url`` and
``https://login.bigcommerce.com/...`` / ``https://api.bigcommerce.com/...`` land here as
``{base_url}/login.bigcommerce.com/...`` / ``{base_url}/api.bigcommerce.com/...``.

Implemented:

- ``POST /login.bigcommerce.com/oauth2/token`` (JSON): ``client_id``, ``client_secret``,
  ``code`` (one-time, from ``install_code``), ``context`` (the code's store), ``scope``,
  ``grant_type=authorization_code``, ``redirect_uri`` identical to the registered one; answers
  ``{access_token, scope, user, owner, context, account_uuid}``; errors 400/401 JSON.
- ``/api.bigcommerce.com/stores/{hash}/...`` with ``X-Auth-Token`` (401 otherwise):
  ``GET v3/catalog/products`` (``page``, ``limit`` <= 250, ``include=variants,images``) with
  ``meta.pagination`` (``links.next`` as ``?page=N&limit=L``), ``GET v3/catalog/products/{id}``
  (404 when gone), ``GET v3/catalog/categories``; ``GET/POST v3/hooks``, ``DELETE
  v3/hooks/{id}`` (destination must be https); ``GET/POST v3/content/scripts``,
  ``PUT/DELETE v3/content/scripts/{uuid}``; ``GET v2/orders/{id}``, ``GET
  v2/orders/{id}/products``, ``GET v2/store``.
- Rate limits: ``inject`` answers the next N matching requests (e.g. 429 with
  ``X-Rate-Limit-Time-Reset-Ms``).
- ``deliver_hook``: POSTs a light payload ``{scope, store_id, producer, data{type,id}, hash,
  created_at}`` to each active hook of the scope with the headers the hook was created with,
  optionally signed with Standard Webhooks headers; retries on non-2xx.
- ``signed_payload_jwt`` / ``signed_payload``: what BigCommerce puts on load, uninstall and
  remove_user URLs.
- ``GET /cdn/{name}``: image bytes added with ``add_image``.

Not implemented: the real rate-limit windows, product modifiers, the v3 orders beta, channels
and sites, the Storefront API (the e2e page fakes the storefront's cart endpoints itself),
hook retry schedules (the fake retries at once), BigCommerce's own hook deactivation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt

from testkit.fakes.server import FakeServer, RecordedRequest, json_answer

LOGIN = "login.bigcommerce.com"
API = "api.bigcommerce.com"


@dataclass
class _Store:
    store_hash: str
    store_id: int
    secure_url: str
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    order_products: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class _Injection:
    match: str
    status: int
    headers: dict[str, str]
    body: bytes
    remaining: int


class FakeBigCommerce(FakeServer):
    """See the module doc. Use as a context manager; ``base_url`` once started."""

    def __init__(self, client_id: str, client_secret: str, *, redirect_uri: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.stores: dict[str, _Store] = {}
        self.tokens: dict[str, str] = {}
        self.codes: dict[str, tuple[str, str]] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self.requests: list[RecordedRequest] = []
        self._injections: list[_Injection] = []
        self._lock = threading.RLock()
        self._ids = 100

    # -- setup --------------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def add_store(self, store_hash: str, *, secure_url: str = "") -> str:
        with self._lock:
            self.stores[store_hash] = _Store(
                store_hash=store_hash,
                store_id=1_000_000 + len(self.stores),
                secure_url=secure_url or f"https://store-{store_hash}.mybigcommerce.com",
            )
        return store_hash

    def add_category(self, store_hash: str, name: str) -> int:
        cid = self._new_id()
        self.stores[store_hash].categories[cid] = name
        return cid

    def add_product(
        self,
        store_hash: str,
        *,
        name: str,
        categories: Sequence[int] = (),
        search_keywords: str = "",
        images: Sequence[str] = (),
        variants: Sequence[Mapping[str, Any]] = (),
        brand_name: str = "",
        is_visible: bool = True,
        product_id: int | None = None,
    ) -> int:
        """A product; ``variants``: ``{"sku", "price", "options": {name: label}}`` and an
        optional ``"id"`` (ids are allocated otherwise)."""
        pid = product_id or self._new_id()
        made = [
            {
                "id": v.get("id") or self._new_id(),
                "product_id": pid,
                "sku": v.get("sku", ""),
                "price": v.get("price"),
                "calculated_price": v.get("price"),
                "option_values": [
                    {"id": i + 1, "label": label, "option_display_name": name_}
                    for i, (name_, label) in enumerate(dict(v.get("options", {})).items())
                ],
            }
            for v in variants
        ] or [
            {"id": self._new_id(), "product_id": pid, "sku": "", "price": 10, "option_values": []}
        ]
        self.stores[store_hash].products[pid] = {
            "id": pid,
            "name": name,
            "type": "physical",
            "sku": "",
            "price": made[0].get("price") or 0,
            "categories": list(categories),
            "search_keywords": search_keywords,
            "brand_name": brand_name,
            "is_visible": is_visible,
            "custom_url": {"url": "/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + "/"},
            "images": [
                {
                    "id": i + 1,
                    "product_id": pid,
                    "is_thumbnail": i == 0,
                    "sort_order": i,
                    "url_zoom": url,
                    "url_standard": url,
                }
                for i, url in enumerate(images)
            ],
            "variants": made,
        }
        return pid

    def update_product(self, store_hash: str, pid: int, **changes: Any) -> None:
        self.stores[store_hash].products[pid].update(changes)

    def delete_product(self, store_hash: str, pid: int) -> None:
        self.stores[store_hash].products.pop(pid, None)

    def variant_ids(self, store_hash: str, pid: int) -> list[int]:
        return [int(v["id"]) for v in self.stores[store_hash].products[pid]["variants"]]

    def add_order(
        self,
        store_hash: str,
        *,
        cart_id: str,
        lines: Sequence[tuple[int, int | None, int, str]],
        currency: str = "USD",
        status_id: int = 11,
        refunded_amount: str = "0.0000",
    ) -> int:
        """An order; ``lines``: (product id, variant id, quantity, unit price incl. tax)."""
        oid = self._new_id()
        total = sum(q * float(p) for _, _, q, p in lines)
        self.stores[store_hash].orders[oid] = {
            "id": oid,
            "customer_id": 0,
            # RFC 2822 as the v2 API gives it; now, so the pipeline takes the purchase.
            "date_created": format_datetime(datetime.now(UTC)),
            "status_id": status_id,
            "status": "Awaiting Fulfillment",
            "total_inc_tax": f"{total:.4f}",
            "total_ex_tax": f"{total:.4f}",
            "currency_code": currency,
            "cart_id": cart_id,
            "refunded_amount": refunded_amount,
        }
        self.stores[store_hash].order_products[oid] = [
            {
                "id": self._new_id(),
                "order_id": oid,
                "product_id": pid,
                "variant_id": vid,
                "quantity": qty,
                "price_inc_tax": price,
                "base_price": price,
            }
            for pid, vid, qty, price in lines
        ]
        return oid

    def update_order(self, store_hash: str, oid: int, **changes: Any) -> None:
        self.stores[store_hash].orders[oid].update(changes)

    def add_image(
        self, name: str, *, size: tuple[int, int] = (16, 16), data: bytes | None = None
    ) -> str:
        """Serve ``data`` (PNG bytes) or a flat PNG at ``{base_url}/cdn/{name}``."""
        from PIL import Image

        if data is None:
            buffer = io.BytesIO()
            Image.new("RGB", size, (40, 80, 120)).save(buffer, format="PNG")
            data = buffer.getvalue()
        self.images[name] = (data, "image/png")
        return f"{self.base_url}/cdn/{name}"

    def inject(
        self,
        match: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests whose path contains ``match`` get this answer."""
        payload = json.dumps(body if body is not None else {"status": status}).encode()
        with self._lock:
            self._injections.append(
                _Injection(
                    match,
                    status,
                    {"Content-Type": "application/json", **dict(headers or {})},
                    payload,
                    times,
                )
            )

    # -- OAuth and callbacks --------------------------------------------------------------------

    def install_code(self, store_hash: str, *, scope: str) -> str:
        """What BigCommerce puts on the auth callback: a one-time code for this store."""
        code = secrets.token_hex(16)
        with self._lock:
            self.codes[code] = (store_hash, scope)
        return code

    def issue_token(self, store_hash: str) -> str:
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens[token] = store_hash
        return token

    def revoke_tokens(self, store_hash: str) -> None:
        with self._lock:
            for token in [t for t, h in self.tokens.items() if h == store_hash]:
                del self.tokens[token]

    def signed_payload_jwt(
        self,
        store_hash: str,
        *,
        user_id: int = 9128,
        owner_id: int = 9128,
        lifetime_s: int = 300,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """The ``signed_payload_jwt`` BigCommerce adds to load/uninstall/remove_user."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "aud": self.client_id,
            "iss": "bc",
            "iat": issued,
            "nbf": issued - 5,
            "exp": issued + lifetime_s,
            "jti": uuid.uuid4().hex,
            "sub": f"stores/{store_hash}",
            "user": {"id": user_id, "email": "merchant@example.com", "locale": "en-US"},
            "owner": {"id": owner_id, "email": "merchant@example.com"},
            "url": "/",
            "channel_id": None,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.client_secret, algorithm="HS256")

    def signed_payload(
        self, store_hash: str, *, timestamp: float | None = None, user_id: int = 9128
    ) -> str:
        """The legacy ``signed_payload``: base64(json).base64(hex HMAC-SHA256)."""
        data = json.dumps(
            {
                "user": {"id": user_id, "email": "merchant@example.com"},
                "owner": {"id": user_id, "email": "merchant@example.com"},
                "context": f"stores/{store_hash}",
                "store_hash": store_hash,
                "timestamp": timestamp if timestamp is not None else time.time(),
            }
        ).encode()
        mac = hmac.new(self.client_secret.encode(), data, hashlib.sha256).hexdigest()
        return base64.b64encode(data).decode() + "." + base64.b64encode(mac.encode()).decode()

    # -- hooks --------------------------------------------------------------------------------

    def hook_body(
        self, store_hash: str, scope: str, resource_id: int, *, created_at: int | None = None
    ) -> bytes:
        kind = scope.split("/")[1]
        data = {"type": kind, "id": resource_id}
        digest = hashlib.sha1(json.dumps(data).encode()).hexdigest()
        return json.dumps(
            {
                "scope": scope,
                "store_id": str(self.stores[store_hash].store_id),
                "producer": f"stores/{store_hash}",
                "data": data,
                "hash": digest,
                "created_at": created_at if created_at is not None else int(time.time()),
            }
        ).encode()

    def hook_requests(
        self,
        store_hash: str,
        scope: str,
        resource_id: int,
        *,
        standard_key: bytes | None = None,
        created_at: int | None = None,
    ) -> list[tuple[str, bytes, dict[str, str]]]:
        """(destination, body, headers) of what ``deliver_hook`` would POST, one per hook."""
        body = self.hook_body(store_hash, scope, resource_id, created_at=created_at)
        found = []
        for hook in list(self.stores[store_hash].hooks.values()):
            if hook["scope"] != scope or not hook["is_active"]:
                continue
            headers = {"Content-Type": "application/json", **hook["headers"]}
            if standard_key is not None:
                msg_id = f"msg_{uuid.uuid4().hex}"
                stamp = str(int(time.time()))
                content = f"{msg_id}.{stamp}.".encode() + body
                mac = base64.b64encode(
                    hmac.new(standard_key, content, hashlib.sha256).digest()
                ).decode()
                headers |= {
                    "webhook-id": msg_id,
                    "webhook-timestamp": stamp,
                    "webhook-signature": f"v1,{mac}",
                }
            found.append((str(hook["destination"]), body, headers))
        return found

    def deliver_hook(
        self,
        store_hash: str,
        scope: str,
        resource_id: int,
        *,
        standard_key: bytes | None = None,
        retries: int = 2,
    ) -> list[httpx.Response]:
        """POST a light payload to every active hook of ``scope``, retrying non-2xx."""
        answers: list[httpx.Response] = []
        for url, body, headers in self.hook_requests(
            store_hash, scope, resource_id, standard_key=standard_key
        ):
            for _ in range(retries + 1):
                response = httpx.post(url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    break
            answers.append(response)
        return answers

    # -- serving ------------------------------------------------------------------------------

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"error": "invalid_request", "error_description": "not JSON"})
        if not isinstance(params, dict):
            return _json(400, {"error": "invalid_request", "error_description": "not an object"})
        if params.get("client_id") != self.client_id or not hmac.compare_digest(
            str(params.get("client_secret", "")), self.client_secret
        ):
            return _json(401, {"error": "invalid_client", "error_description": "Invalid client"})
        if params.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        if params.get("redirect_uri") != self.redirect_uri:
            return _json(400, {"error": "invalid_request", "error_description": "redirect_uri"})
        with self._lock:
            found = self.codes.pop(str(params.get("code", "")), None)
        if found is None:
            return _json(400, {"error": "invalid_grant", "error_description": "Invalid code"})
        store_hash, scope = found
        if params.get("context") != f"stores/{store_hash}":
            return _json(400, {"error": "invalid_request", "error_description": "context"})
        return _json(
            200,
            {
                "access_token": self.issue_token(store_hash),
                "scope": scope,
                "user": {"id": 9128, "username": "merchant", "email": "merchant@example.com"},
                "owner": {"id": 9128, "username": "merchant", "email": "merchant@example.com"},
                "context": f"stores/{store_hash}",
                "account_uuid": str(uuid.uuid4()),
            },
        )

    def _page(
        self, items: list[Any], query: Mapping[str, str], *, default_limit: int = 50
    ) -> dict[str, Any]:
        limit = min(int(query.get("limit", default_limit) or default_limit), 250)
        page = max(int(query.get("page", 1) or 1), 1)
        total_pages = max((len(items) + limit - 1) // limit, 1)
        chunk = items[(page - 1) * limit : page * limit]
        links = {"current": f"?page={page}&limit={limit}"}
        if page < total_pages:
            links["next"] = f"?page={page + 1}&limit={limit}"
        return {
            "data": chunk,
            "meta": {
                "pagination": {
                    "total": len(items),
                    "count": len(chunk),
                    "per_page": limit,
                    "current_page": page,
                    "total_pages": total_pages,
                    "links": links,
                }
            },
        }

    def _product_view(self, product: Mapping[str, Any], include: str) -> dict[str, Any]:
        wanted = set(include.split(","))
        view = {k: v for k, v in product.items() if k not in {"variants", "images"}}
        if "variants" in wanted:
            view["variants"] = product["variants"]
        if "images" in wanted:
            view["images"] = product["images"]
        return view

    def _api(
        self, method: str, store: _Store, rest: str, query: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        include = query.get("include", "")
        if rest == "/v3/catalog/products" and method == "GET":
            items = [self._product_view(p, include) for _, p in sorted(store.products.items())]
            return _json(200, self._page(items, query))
        if m := re.fullmatch(r"/v3/catalog/products/([0-9]+)", rest):
            product = store.products.get(int(m.group(1)))
            if product is None:
                return _json(404, {"status": 404, "title": "The requested product was not found"})
            return _json(200, {"data": self._product_view(product, include), "meta": {}})
        if rest == "/v3/catalog/categories" and method == "GET":
            items = [{"id": c, "name": n} for c, n in sorted(store.categories.items())]
            return _json(200, self._page(items, query))
        if rest == "/v3/hooks":
            if method == "GET":
                return _json(200, self._page(list(store.hooks.values()), query))
            if method == "POST":
                hook = json.loads(body)
                if not str(hook.get("destination", "")).startswith("https://"):
                    return _json(422, {"status": 422, "title": "destination must be https"})
                hid = self._new_id()
                store.hooks[hid] = {
                    "id": hid,
                    "scope": hook["scope"],
                    "destination": hook["destination"],
                    "is_active": bool(hook.get("is_active", True)),
                    "headers": dict(hook.get("headers") or {}),
                    "store_hash": store.store_hash,
                }
                return _json(200, {"data": store.hooks[hid], "meta": {}})
        if (m := re.fullmatch(r"/v3/hooks/([0-9]+)", rest)) and method == "DELETE":
            removed = store.hooks.pop(int(m.group(1)), None)
            return _json(200 if removed else 404, {"data": removed or {}})
        if rest == "/v3/content/scripts":
            if method == "GET":
                return _json(200, self._page(list(store.scripts.values()), query))
            if method == "POST":
                script = json.loads(body)
                script["uuid"] = str(uuid.uuid4())
                store.scripts[script["uuid"]] = script
                return _json(200, {"data": script, "meta": {}})
        if m := re.fullmatch(r"/v3/content/scripts/([0-9a-f-]{36})", rest):
            if m.group(1) not in store.scripts:
                return _json(404, {"status": 404})
            if method == "PUT":
                store.scripts[m.group(1)].update(json.loads(body))
                return _json(200, {"data": store.scripts[m.group(1)]})
            if method == "DELETE":
                store.scripts.pop(m.group(1))
                return 204, {}, b""
        if m := re.fullmatch(r"/v2/orders/([0-9]+)", rest):
            order = store.orders.get(int(m.group(1)))
            return _json(200, order) if order else _json(404, [{"status": 404}])
        if m := re.fullmatch(r"/v2/orders/([0-9]+)/products", rest):
            lines = store.order_products.get(int(m.group(1)))
            return _json(200, lines) if lines is not None else _json(404, [{"status": 404}])
        if rest == "/v2/store":
            return _json(
                200,
                {
                    "id": store.store_hash,
                    "domain": urlsplit(store.secure_url).hostname,
                    "secure_url": store.secure_url,
                },
            )
        return _json(404, {"status": 404, "title": "Not Found"})

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = parts.path
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, headers, body))
            for injection in self._injections:
                if injection.remaining > 0 and injection.match in path:
                    injection.remaining -= 1
                    return injection.status, injection.headers, injection.body
        if method == "GET" and path.startswith("/cdn/"):
            image = self.images.get(path[len("/cdn/") :])
            if image is None:
                return 404, {"Content-Type": "text/plain"}, b"Not Found"
            return 200, {"Content-Type": image[1]}, image[0]
        if path == f"/{LOGIN}/oauth2/token" and method == "POST":
            return self._token(body)
        m = re.fullmatch(rf"/{re.escape(API)}/stores/([a-z0-9]+)(/.*)", path)
        if m is None:
            return _json(404, {"status": 404, "title": "Not Found"})
        store = self.stores.get(m.group(1))
        if store is None:
            return _json(404, {"status": 404, "title": "Store not found"})
        if self.tokens.get(headers.get("x-auth-token", "")) != store.store_hash:
            return _json(401, {"status": 401, "title": "Unauthorized"})
        with self._lock:
            return self._api(method, store, m.group(2), query, body)


_json = json_answer


__all__ = ["FakeBigCommerce", "RecordedRequest"]
