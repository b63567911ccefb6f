"""A fake Magento 2 for tests, written from Magento's public developer documentation (not
from its code): the integration's OAuth 1.0a token endpoints, the REST catalog and orders
with ``searchCriteria``, and what Magento posts to an integration's endpoint URL.

It encodes our reading of the docs summarised in ``/work/shared/design/PLATFORMS.md``
(Magento section). The OAuth 1.0a endpoints are oauthlib's own server classes
(``RequestTokenEndpoint``, ``AccessTokenEndpoint``, ``ResourceEndpoint``) with a request
validator holding the fake's consumers and tokens: oauthlib, not our code, checks every
signature our client sends (HMAC-SHA256 only, as Magento signs). Stores live on any number of
hosts on ``127.0.0.1:0``; point ``TRYON_PLATFORM_API_BASE_URL`` at ``.base_url`` and
``https://{host}/...`` lands here as ``{base_url}/{host}/...``. The signatures are checked
against the original ``https://{host}/...`` URL, as the store would see it.

Implemented:

- ``create_integration(host)``: a consumer (key, secret) and its verifier, as Magento makes
  them when the merchant clicks *Activate*; ``activation_form(host)`` is the form Magento
  posts to the endpoint URL.
- ``POST /{host}/oauth/token/request`` (signed by the consumer, ``oauth_callback``
  required by oauthlib) -> ``oauth_token=..&oauth_token_secret=..``; ``POST
  /{host}/oauth/token/access`` (signed with the request token, ``oauth_verifier`` of that
  consumer) -> the access token (no expiry). Errors: 400/401 form-encoded, as oauthlib says.
- ``/{host}/rest/V1/...`` signed with the access token (401 JSON otherwise): ``GET
  products`` (filters ``visibility`` ``in``, ``entity_id`` ``eq``; ``pageSize``,
  ``currentPage``; a page past the end answers the last page again, as Magento does), ``GET
  configurable-products/{sku}/children``, ``GET categories/list``, ``GET store/storeConfigs``,
  ``GET orders`` (filter ``updated_at`` ``gteq``, sorted).
- ``GET /{host}/media/catalog/product/{file}``: image bytes added with ``add_image``.
- ``revoke(host)``: the merchant deleted the integration (every token refused).

Not implemented: ACL checks per resource (the token may read everything), store views and
scopes, REST writes, rate limits, Adobe Commerce webhooks, the admin UI.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)

from testkit.fakes.server import Answer, FakeServer, json_answer

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _key() -> str:
    """32 letters and digits, as Magento's consumer keys, secrets, tokens and verifiers."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))


@dataclass
class RecordedRequest:
    method: str
    host: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""
    """The query string as it travelled (``searchCriteria%5BpageSize%5D=...``)."""


@dataclass
class _Store:
    host: str
    consumers: dict[str, str] = field(default_factory=dict)
    """consumer key -> consumer secret"""
    verifiers: dict[str, str] = field(default_factory=dict)
    """consumer key -> its verifier"""
    request_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    """token -> (secret, consumer key)"""
    access_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)


class _Validator(RequestValidator):  # type: ignore[misc]
    """oauthlib's questions, answered from the fake's tables for one store."""

    def __init__(self, store: _Store, nonces: set[tuple[str, str, str]]) -> None:
        super().__init__()
        self.store = store
        self.nonces = nonces

    # Magento's keys are 32 letters and digits; authlib's nonces 30.
    client_key_length = (16, 64)
    request_token_length = (16, 64)
    access_token_length = (16, 64)
    verifier_length = (16, 64)
    nonce_length = (16, 64)

    @property
    def allowed_signature_methods(self) -> list[str]:
        return ["HMAC-SHA256"]

    @property
    def enforce_ssl(self) -> bool:
        return True

    @property
    def dummy_client(self) -> str:
        return "dummyclientdummyclientdummyclien"

    @property
    def dummy_request_token(self) -> str:
        return "dummyrequestdummyrequestdummyreq"

    @property
    def dummy_access_token(self) -> str:
        return "dummyaccessdummyaccessdummyacces"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key in self.store.consumers

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.store.consumers.get(client_key, "dummy-secret")

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Any,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        seen = (client_key, timestamp, nonce)
        if seen in self.nonces:
            return False
        self.nonces.add(seen)
        return True

    def get_default_realms(self, client_key: str, request: Any) -> list[str]:
        return []

    def validate_requested_realms(self, client_key: str, realms: Any, request: Any) -> bool:
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return redirect_uri == "oob"

    def save_request_token(self, token: Mapping[str, str], request: Any) -> None:
        self.store.request_tokens[token["oauth_token"]] = (
            token["oauth_token_secret"],
            request.client_key,
        )

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        found = self.store.request_tokens.get(token)
        return found is not None and found[1] == client_key

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        found = self.store.request_tokens.get(token)
        return found[0] if found and found[1] == client_key else "dummy-secret"

    def validate_verifier(self, client_key: str, token: str, verifier: str, request: Any) -> bool:
        return self.store.verifiers.get(client_key) == verifier

    def get_realms(self, token: str, request: Any) -> list[str]:
        return []

    def invalidate_request_token(self, client_key: str, request_token: str, request: Any) -> None:
        self.store.request_tokens.pop(request_token, None)

    def save_access_token(self, token: Mapping[str, str], request: Any) -> None:
        self.store.access_tokens[token["oauth_token"]] = (
            token["oauth_token_secret"],
            request.client_key,
        )

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        found = self.store.access_tokens.get(token)
        return found is not None and found[1] == client_key

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        found = self.store.access_tokens.get(token)
        return found[0] if found and found[1] == client_key else "dummy-secret"

    def validate_realms(
        self,
        client_key: str,
        token: str,
        request: Any,
        uri: str | None = None,
        realms: Any = None,
    ) -> bool:
        return True


def _criteria(query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``searchCriteria[...]`` pairs as ``{filters: [(field, value, condition)], sort,
    page_size, current_page}``."""
    filters: dict[tuple[str, str], dict[str, str]] = {}
    out: dict[str, Any] = {"sort": None, "page_size": 20, "current_page": 1}
    sort: dict[str, str] = {}
    for key, value in query:
        parts = key.replace("]", "").split("[")
        if parts[:1] != ["searchCriteria"]:
            continue
        if parts[1:2] == ["filterGroups"] and len(parts) == 6:
            filters.setdefault((parts[2], parts[4]), {})[parts[5]] = value
        elif parts[1:2] == ["sortOrders"] and len(parts) == 4:
            sort[parts[3]] = value
        elif parts[1:] == ["pageSize"]:
            out["page_size"] = int(value)
        elif parts[1:] == ["currentPage"]:
            out["current_page"] = int(value)
    out["filters"] = [
        (f.get("field", ""), f.get("value", ""), f.get("conditionType", "eq"))
        for f in filters.values()
    ]
    if sort:
        out["sort"] = (sort.get("field", ""), sort.get("direction", "ASC"))
    return out


def _matches(item: Mapping[str, Any], filters: Sequence[tuple[str, str, str]]) -> bool:
    for name, value, condition in filters:
        have = item.get(name)
        if condition == "eq" and str(have) != value:
            return False
        if condition == "in" and str(have) not in value.split(","):
            return False
        if condition == "gteq" and not (isinstance(have, str) and have >= value):
            return False
    return True


def _page(items: list[dict[str, Any]], criteria: Mapping[str, Any]) -> dict[str, Any]:
    size = max(1, int(criteria["page_size"]))
    pages = max(1, -(-len(items) // size))
    current = min(max(1, int(criteria["current_page"])), pages)  # Magento: past the end, last
    return {
        "items": items[(current - 1) * size : current * size],
        "search_criteria": {"page_size": size, "current_page": criteria["current_page"]},
        "total_count": len(items),
    }


class FakeMagento(FakeServer):
    """See the module doc. Use as a context manager; ``base_url`` once started."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: dict[str, _Store] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self.requests: list[RecordedRequest] = []
        self._nonces: set[tuple[str, str, str]] = set()
        self._lock = threading.RLock()
        self._ids = 1000
        self.refuse_store_configs = False

    # -- setup --------------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def add_store(self, host: str) -> _Store:
        with self._lock:
            return self.stores.setdefault(host, _Store(host=host))

    def create_integration(self, host: str) -> tuple[str, str, str]:
        """(consumer key, consumer secret, verifier), as *Activate* makes them."""
        store = self.add_store(host)
        key, secret, verifier = _key(), _key(), _key()
        with self._lock:
            store.consumers[key] = secret
            store.verifiers[key] = verifier
        return key, secret, verifier

    def activation_form(
        self, host: str, integration: tuple[str, str, str], *, base_url: str | None = None
    ) -> dict[str, str]:
        """What Magento posts to the integration's endpoint URL."""
        key, secret, verifier = integration
        return {
            "oauth_consumer_key": key,
            "oauth_consumer_secret": secret,
            "store_base_url": base_url or f"https://{host}/",
            "oauth_verifier": verifier,
        }

    def revoke(self, host: str) -> None:
        with self._lock:
            self.stores[host].access_tokens.clear()

    def add_image(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """An image under ``/media/catalog/product``; returns its ``file`` (``/a/b/name``)."""
        file = f"/{name[0]}/{name[1]}/{name}"
        self.images[file] = (data, content_type)
        return file

    def add_category(self, host: str, name: str) -> int:
        cid = self._new_id()
        self.stores[host].categories[cid] = name
        return cid

    def add_product(
        self,
        host: str,
        *,
        name: str,
        sku: str | None = None,
        price: float = 10.0,
        categories: Sequence[int] = (),
        images: Sequence[str] = (),
        visibility: int = 4,
        status: int = 1,
        children: Sequence[Mapping[str, Any]] = (),
        meta_keyword: str = "",
    ) -> int:
        """A product (configurable when ``children`` are given: ``{"name", "sku", "price"}``,
        created as invisible simple products)."""
        pid = self._new_id()
        store = self.stores[host]
        sku = sku or f"SKU-{pid}"
        child_rows = []
        for child in children:
            cid = self._new_id()
            row = self._product_row(
                cid,
                name=str(child["name"]),
                sku=str(child["sku"]),
                price=float(child.get("price", price)),
                type_id="simple",
                visibility=1,
                status=1,
                categories=(),
                images=(),
                meta_keyword="",
            )
            store.products[cid] = row
            child_rows.append(row)
        row = self._product_row(
            pid,
            name=name,
            sku=sku,
            price=price,
            type_id="configurable" if children else "simple",
            visibility=visibility,
            status=status,
            categories=categories,
            images=images,
            meta_keyword=meta_keyword,
        )
        if children:
            row["extension_attributes"]["configurable_product_links"] = [
                c["id"] for c in child_rows
            ]
            store.children[sku] = child_rows
        store.products[pid] = row
        return pid

    def _product_row(
        self,
        pid: int,
        *,
        name: str,
        sku: str,
        price: float,
        type_id: str,
        visibility: int,
        status: int,
        categories: Sequence[int],
        images: Sequence[str],
        meta_keyword: str,
    ) -> dict[str, Any]:
        now = datetime.now(UTC).strftime(TIME_FORMAT)
        return {
            "id": pid,
            "sku": sku,
            "name": name,
            "attribute_set_id": 4,
            "price": price,
            "status": status,
            "visibility": visibility,
            "type_id": type_id,
            "created_at": now,
            "updated_at": now,
            "extension_attributes": {
                "website_ids": [1],
                "category_links": [{"position": 0, "category_id": str(c)} for c in categories],
            },
            "media_gallery_entries": [
                {
                    "id": i + 1,
                    "media_type": "image",
                    "label": None,
                    "position": i + 1,
                    "disabled": False,
                    "types": ["image", "small_image", "thumbnail"] if i == 0 else [],
                    "file": file,
                }
                for i, file in enumerate(images)
            ],
            "custom_attributes": [
                {"attribute_code": "url_key", "value": name.lower().replace(" ", "-")},
                {"attribute_code": "meta_keyword", "value": meta_keyword},
                {"attribute_code": "category_ids", "value": [str(c) for c in categories]},
            ],
        }

    def delete_product(self, host: str, pid: int) -> None:
        self.stores[host].products.pop(pid, None)

    def add_order(
        self,
        host: str,
        *,
        lines: Sequence[Mapping[str, Any]],
        currency: str = "EUR",
        state: str = "new",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """An order as ``GET /V1/orders`` gives it. ``lines``: ``{"product_id", "price",
        "qty", "variant_id"?, "tryon_session"?, "tryon_widget_session"?}`` (a variant makes a
        configurable parent item with its simple child item, as Magento stores them; the
        sessions are our module's extension attributes on the parent item)."""
        oid = self._new_id()
        when = (created_at or datetime.now(UTC)).strftime(TIME_FORMAT)
        items: list[dict[str, Any]] = []
        total = 0.0
        for line in lines:
            item_id = self._new_id()
            qty = float(line.get("qty", 1))
            price = float(line["price"])
            total += qty * price
            parent: dict[str, Any] = {
                "item_id": item_id,
                "order_id": oid,
                "product_id": int(line["product_id"]),
                "product_type": "configurable" if line.get("variant_id") else "simple",
                "sku": f"SKU-{line['product_id']}",
                "qty_ordered": qty,
                "price": price,
                "price_incl_tax": price,
                "row_total": qty * price,
            }
            extension = {
                k: line[k] for k in ("tryon_session", "tryon_widget_session") if line.get(k)
            }
            if extension:
                parent["extension_attributes"] = extension
            items.append(parent)
            if line.get("variant_id"):
                items.append(
                    {
                        "item_id": self._new_id(),
                        "order_id": oid,
                        "parent_item_id": item_id,
                        "product_id": int(line["variant_id"]),
                        "product_type": "simple",
                        "sku": f"SKU-{line['variant_id']}",
                        "qty_ordered": qty,
                        "price": 0,
                    }
                )
        order = {
            "entity_id": oid,
            "increment_id": f"{oid:09d}",
            "created_at": when,
            "updated_at": when,
            "state": state,
            "status": {"new": "pending", "processing": "processing"}.get(state, state),
            "grand_total": round(total, 4),
            "order_currency_code": currency,
            "base_currency_code": currency,
            "total_refunded": None,
            "items": items,
        }
        self.stores[host].orders[oid] = order
        return order

    def update_order(self, host: str, oid: int, **changes: Any) -> dict[str, Any]:
        """Change an order (``state``, ``total_refunded``...); ``updated_at`` moves to now."""
        order = self.stores[host].orders[oid]
        order.update(changes)
        order["updated_at"] = datetime.now(UTC).strftime(TIME_FORMAT)
        return order

    # -- serving ------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        segments = parts.path.lstrip("/").split("/", 1)
        host, rest = segments[0], "/" + (segments[1] if len(segments) > 1 else "")
        query = parse_qsl(parts.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(
                RecordedRequest(method, host, rest, query, dict(headers), body, parts.query)
            )
            store = self.stores.get(host)
        if rest.startswith("/media/catalog/product/") and method == "GET":
            image = self.images.get(unquote(rest[len("/media/catalog/product") :]))
            if image is None:
                return 404, {"Content-Type": "text/plain"}, b"no such image"
            return 200, {"Content-Type": image[1]}, image[0]
        if store is None:
            return 404, {"Content-Type": "text/plain"}, b"no such store"
        # The URL as the store sees it: what the client signed.
        uri = f"https://{host}{rest}" + (f"?{parts.query}" if parts.query else "")
        validator = _Validator(store, self._nonces)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        if rest == "/oauth/token/request" and method == "POST":
            with self._lock:
                answer_headers, answer, status = RequestTokenEndpoint(
                    validator
                ).create_request_token_response(uri, method, body or None, dict(headers))
            return status, {**form, **answer_headers}, (answer or "").encode()
        if rest == "/oauth/token/access" and method == "POST":
            with self._lock:
                answer_headers, answer, status = AccessTokenEndpoint(
                    validator
                ).create_access_token_response(uri, method, body or None, dict(headers))
            return status, {**form, **answer_headers}, (answer or "").encode()
        if not rest.startswith("/rest/V1/"):
            return 404, {"Content-Type": "text/plain"}, b"not found"
        with self._lock:
            valid, _ = ResourceEndpoint(validator).validate_protected_resource_request(
                uri, method, body or None, dict(headers)
            )
        if not valid:
            return json_answer(
                401, {"message": "The consumer isn't authorized to access %resources."}
            )
        return self._rest(store, method, rest[len("/rest/V1") :], query)

    def _rest(
        self, store: _Store, method: str, path: str, query: list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        if method != "GET":
            return json_answer(405, {"message": "Request does not match any route."})
        criteria = _criteria(query)
        if path == "/products":
            rows = sorted(store.products.values(), key=lambda p: p["id"])
            picked = [dict(p, entity_id=p["id"]) for p in rows]
            found = [p for p in picked if _matches(p, criteria["filters"])]
            for p in found:
                p.pop("entity_id", None)
            return json_answer(200, _page(found, criteria))
        if path.startswith("/configurable-products/") and path.endswith("/children"):
            sku = unquote(path[len("/configurable-products/") : -len("/children")])
            return json_answer(200, store.children.get(sku, []))
        if path == "/categories/list":
            items = [{"id": c, "name": n, "is_active": True} for c, n in store.categories.items()]
            return json_answer(200, _page(items, criteria))
        if path == "/store/storeConfigs":
            if self.refuse_store_configs:  # the integration lacks Magento_Backend::store
                return json_answer(403, {"message": "The consumer isn't authorized."})
            media = f"{self.base_url}/{store.host}/media/"
            return json_answer(
                200,
                [
                    {
                        "id": 1,
                        "code": "default",
                        "base_currency_code": "EUR",
                        "base_media_url": media,
                        "secure_base_media_url": media,
                        "base_url": f"https://{store.host}/",
                        "secure_base_url": f"https://{store.host}/",
                    }
                ],
            )
        if path == "/orders":
            rows = [o for o in store.orders.values() if _matches(o, criteria["filters"])]
            if criteria["sort"] is not None:
                name, direction = criteria["sort"]
                rows.sort(key=lambda o: str(o.get(name)), reverse=direction == "DESC")
            return json_answer(200, _page(rows, criteria))
        return json_answer(404, {"message": "Request does not match any route."})
