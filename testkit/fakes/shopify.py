"""A fake Shopify for tests, written from Shopify's public documentation (not from its code).

It encodes our reading of the docs summarised in ``/work/shared/design/PLATFORMS.md``; the
self-tests check its cryptography against Shopify's own libraries (the ``ShopifyAPI`` PyPI
package and ``@shopify/shopify-api`` on Node, see ``tests/peers/shopify``) and the published
vectors. It serves one app (``api_key``/``api_secret``) for any number of shops on
``127.0.0.1:0``; point ``TRYON_PLATFORM_API_BASE_URL`` at ``.base_url`` and every
``https://{shop}/...`` call lands here as ``{base_url}/{shop}/...``.

Implemented:

- OAuth: ``GET /{shop}/admin/oauth/authorize`` (client_id, scope, redirect_uri, state; the
  redirect URI must be one of ``redirect_uris`` when given) approves at once (no merchant
  login or consent screen) and answers 302 to ``redirect_uri`` with ``code``, ``hmac``,
  ``host``, ``shop``, ``state``, ``timestamp`` signed as Shopify signs them (hex
  HMAC-SHA256 of the sorted ``k=v&...`` pairs without ``hmac``).
  ``POST /{shop}/admin/oauth/access_token`` (form or JSON): the authorization code grant
  (one-time codes; ``expiring=1`` adds ``expires_in`` 3600, ``refresh_token`` and
  ``refresh_token_expires_in``), ``grant_type=refresh_token`` (rotates the refresh token),
  and token exchange (``urn:ietf:params:oauth:grant-type:token-exchange`` with a session token
  JWT checked here: HS256 only, signature with the app secret, ``aud``, ``dest``, ``exp``,
  ``nbf``). Errors are 400 ``{"error", "error_description"}``.
- ``DELETE /{shop}/admin/api_permissions/current.json``: revokes every token of the shop.
- ``POST /{shop}/admin/api/{version}/graphql.json``: ``X-Shopify-Access-Token`` checked (401
  ``{"errors": "[API] Invalid API key or access token ..."}``), the query executed with
  graphql-core against a small subset of the Admin API schema (``SCHEMA_SDL``): ``products``
  (first/after/query; cursor pagination), ``product(id)``, ``shop``, ``webhookSubscriptions``,
  ``webhookSubscriptionCreate``/``Delete`` (with ``userErrors``). Unknown fields fail
  validation as on Shopify. Every answer carries ``extensions.cost`` (an approximation of
  Shopify's calculated query cost; above 1000 a query is refused with ``MAX_COST_EXCEEDED``)
  from a per-shop leaky bucket (``set_bucket``: maximum,
  available, restore rate, on an injectable clock); a query costing more than is available
  gets ``THROTTLED``.
- Webhooks: ``deliver_webhook`` POSTs like Shopify (``X-Shopify-Hmac-Sha256`` base64 HMAC of
  the raw body, Topic, Shop-Domain, Webhook-Id, Event-Id, API-Version, Triggered-At) and
  retries on non-2xx with the same webhook id.
- ``GET /cdn/{name}``: image bytes added with ``add_image`` (real PNG/JPEG/WebP from Pillow).
- ``inject``: the next N matching requests answer a given status/body/headers (429 with
  ``Retry-After``, 5xx, ...); ``inject_graphql_errors`` the next GraphQL answers' ``errors``.
- ``requests``: every request received (method, path, query, headers, body).

Not implemented (tests must not rely on them): REST Admin API resources, online (per-user)
tokens beyond the token-exchange answer's shape, Shopify's exact cost calculation, search
syntax beyond ``status:``, ``product_type:``, ``tag:``, ``title:``, ``id:>N``,
``updated_at:>...`` and bare words, bulk operations, metafields, markets, webhook
``includeFields``/``filter`` semantics, EventBridge/PubSub endpoints, rate limits other than
the GraphQL cost bucket, Shopify's retry schedule (the fake retries at once), and compliance
topics as API subscriptions (Shopify takes those from ``shopify.app.toml`` only).
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import graphql
import httpx

from testkit.fakes.server import Answer, FakeServer, RecordedRequest, json_answer

API_VERSION = "2025-10"
SHOP_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"
EXPIRING_TOKEN_S = 3600
REFRESH_TOKEN_S = 90 * 86400
MUTATION_COST = 10
MAX_QUERY_COST = 1000
"""Shopify refuses any single query whose requested cost is above this (``MAX_COST_EXCEEDED``)."""

SCHEMA_SDL = """
scalar URL
scalar Money
scalar DateTime

type Query {
  products(first: Int, after: String, last: Int, before: String, query: String,
           sortKey: ProductSortKeys, reverse: Boolean): ProductConnection!
  product(id: ID!): Product
  shop: Shop!
  webhookSubscriptions(first: Int, after: String, topics: [WebhookSubscriptionTopic!],
                       callbackUrl: URL, uri: String): WebhookSubscriptionConnection!
}

type Mutation {
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
                            webhookSubscription: WebhookSubscriptionInput!):
    WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}

enum ProductSortKeys { ID TITLE UPDATED_AT CREATED_AT PRODUCT_TYPE }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum WebhookSubscriptionFormat { JSON XML }
enum WebhookSubscriptionTopic {
  APP_UNINSTALLED PRODUCTS_CREATE PRODUCTS_UPDATE PRODUCTS_DELETE
  ORDERS_CREATE ORDERS_UPDATED ORDERS_PAID ORDERS_CANCELLED ORDERS_FULFILLED
  REFUNDS_CREATE COLLECTIONS_CREATE COLLECTIONS_UPDATE COLLECTIONS_DELETE SHOP_UPDATE
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Image { id: ID url: URL! altText: String width: Int height: Int }
type ImageEdge { cursor: String! node: Image! }
type ImageConnection { nodes: [Image!]! edges: [ImageEdge!]! pageInfo: PageInfo! }

type Collection { id: ID! handle: String! title: String! }
type CollectionEdge { cursor: String! node: Collection! }
type CollectionConnection {
  nodes: [Collection!]! edges: [CollectionEdge!]! pageInfo: PageInfo!
}

type ProductOption { id: ID! name: String! position: Int! values: [String!]! }
type SelectedOption { name: String! value: String! }

type ProductVariant {
  id: ID!
  legacyResourceId: String!
  title: String!
  sku: String
  price: Money!
  availableForSale: Boolean!
  selectedOptions: [SelectedOption!]!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  nodes: [ProductVariant!]! edges: [ProductVariantEdge!]! pageInfo: PageInfo!
}

type Product {
  id: ID!
  legacyResourceId: String!
  title: String!
  handle: String!
  productType: String!
  vendor: String!
  tags: [String!]!
  status: ProductStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  onlineStoreUrl: URL
  featuredImage: Image
  images(first: Int, after: String): ImageConnection!
  collections(first: Int, after: String): CollectionConnection!
  options(first: Int): [ProductOption!]!
  variants(first: Int, after: String): ProductVariantConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { nodes: [Product!]! edges: [ProductEdge!]! pageInfo: PageInfo! }

type Domain { id: ID! host: String! url: URL! }
type Shop {
  id: ID!
  name: String!
  email: String!
  currencyCode: String!
  myshopifyDomain: String!
  primaryDomain: Domain!
}

type WebhookHttpEndpoint { callbackUrl: URL! }
union WebhookSubscriptionEndpoint = WebhookHttpEndpoint
type WebhookSubscription {
  id: ID!
  topic: WebhookSubscriptionTopic!
  format: WebhookSubscriptionFormat!
  callbackUrl: URL!
  uri: String!
  endpoint: WebhookSubscriptionEndpoint!
  includeFields: [String!]!
  createdAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  nodes: [WebhookSubscription!]! edges: [WebhookSubscriptionEdge!]! pageInfo: PageInfo!
}
input WebhookSubscriptionInput {
  callbackUrl: URL
  uri: String
  format: WebhookSubscriptionFormat
  includeFields: [String!]
}
type UserError { field: [String!] message: String! }
type WebhookSubscriptionCreatePayload {
  webhookSubscription: WebhookSubscription
  userErrors: [UserError!]!
}
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }
"""

_CONNECTION_FIELDS = {"products", "images", "collections", "variants", "webhookSubscriptions"}


def shopify_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's OAuth ``hmac``: hex HMAC-SHA256 of the sorted ``k=v`` pairs, ``hmac`` left out."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_hmac(body: bytes, secret: str) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_token(
    *,
    api_key: str,
    api_secret: str,
    shop: str,
    now: float | None = None,
    lifetime_s: int = 60,
    user_id: str = "42",
    algorithm: str = "HS256",
    **overrides: Any,
) -> str:
    """A session token as App Bridge gives an embedded app (JWT HS256 with the app secret).

    ``overrides`` replace claims (``aud="x"``, ``exp=0``) to build forged or stale tokens.
    """
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": user_id,
        "exp": issued + lifetime_s,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": secrets.token_hex(16),
    }
    claims.update(overrides)
    header = {"alg": algorithm, "typ": "JWT"}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    digest = hashlib.sha512 if algorithm == "HS512" else hashlib.sha256
    signature = hmac.new(api_secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64url(signature)}"


@dataclass
class _Variant:
    id: int
    title: str
    sku: str
    price: str
    options: dict[str, str]
    available: bool = True


@dataclass
class _Product:
    id: int
    title: str
    handle: str
    product_type: str
    tags: list[str]
    collections: list[tuple[str, str]]
    images: list[str]
    variants: list[_Variant]
    status: str
    vendor: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Subscription:
    id: int
    topic: str
    uri: str
    format: str
    include_fields: list[str]
    created_at: datetime


@dataclass
class _Token:
    shop: str
    scopes: str
    expires_at: float | None


@dataclass
class _Bucket:
    maximum: float = 2000.0
    available: float = 2000.0
    restore_rate: float = 100.0
    at: float | None = None


@dataclass
class _Shop:
    domain: str
    name: str
    primary_host: str
    products: dict[int, _Product] = field(default_factory=dict)
    subscriptions: dict[int, _Subscription] = field(default_factory=dict)
    bucket: _Bucket = field(default_factory=_Bucket)
    installed: bool = False


@dataclass
class _Injection:
    match: str
    status: int
    body: bytes
    headers: dict[str, str]
    remaining: int


class FakeShopify(FakeServer):
    """A local Shopify for one app; use as a context manager (it serves on 127.0.0.1:0)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        api_version: str = API_VERSION,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        redirect_uris: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.redirect_uris = tuple(redirect_uris)
        """The app's allowed redirect URLs (``shopify.app.toml`` ``[auth] redirect_urls``);
        empty: any http(s) URL."""
        self.api_secret = api_secret
        self.api_version = api_version
        self.clock = clock
        """Drives the GraphQL cost buckets (tests pass a fake clock)."""
        self.wall_clock = wall_clock
        """Drives token expiry, session token checks and OAuth timestamps."""
        self.requests: list[RecordedRequest] = []
        self.images: dict[str, tuple[bytes, str]] = {}
        self.shops: dict[str, _Shop] = {}
        self._lock = threading.RLock()
        self._codes: dict[str, tuple[str, str, str]] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, _Token] = {}
        self._injections: list[_Injection] = []
        self._graphql_errors: list[list[dict[str, Any]]] = []
        self._next_id = 1000
        self._schema = graphql.build_schema(SCHEMA_SDL)

    # -- setting the scene -------------------------------------------------------------------

    def add_shop(self, domain: str, *, name: str | None = None, primary_host: str = "") -> str:
        """A shop the app can be installed on; returns its myshopify domain."""
        if not SHOP_PATTERN.match(domain):
            raise ValueError(f"not a myshopify domain: {domain}")
        with self._lock:
            self.shops[domain] = _Shop(
                domain=domain,
                name=name or domain.split(".", 1)[0],
                primary_host=primary_host or domain,
            )
        return domain

    def _shop(self, shop: str) -> _Shop:
        try:
            return self.shops[shop]
        except KeyError:
            raise KeyError(f"unknown shop {shop}; call add_shop first") from None

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def add_product(
        self,
        shop: str,
        *,
        title: str,
        product_type: str = "",
        tags: Iterable[str] = (),
        collections: Iterable[str] = (),
        images: Iterable[str] = (),
        variants: Sequence[Mapping[str, Any]] = (),
        status: str = "ACTIVE",
        vendor: str = "",
        handle: str | None = None,
    ) -> str:
        """Add a product; its GraphQL id (``gid://shopify/Product/N``).

        ``variants`` are ``{"title", "sku", "price", "options": {name: value}}``; without
        any the product gets Shopify's single ``Default Title`` variant. ``collections`` are
        handles (the title is the handle, capitalised).
        """
        now = datetime.fromtimestamp(self.wall_clock(), UTC)
        product_id = self._new_id()
        built = [
            _Variant(
                id=self._new_id(),
                title=str(v.get("title", "Default Title")),
                sku=str(v.get("sku", "")),
                price=str(v.get("price", "0.00")),
                options={str(k): str(x) for k, x in dict(v.get("options", {})).items()},
                available=bool(v.get("available", True)),
            )
            for v in (
                variants or [{"title": "Default Title", "options": {"Title": "Default Title"}}]
            )
        ]
        product = _Product(
            id=product_id,
            title=title,
            handle=handle or _handleize(title),
            product_type=product_type,
            tags=list(tags),
            collections=[(h, h.replace("-", " ").title()) for h in collections],
            images=list(images),
            variants=built,
            status=status.upper(),
            vendor=vendor or self.shops[shop].name if shop in self.shops else vendor,
            created_at=now,
            updated_at=now,
        )
        with self._lock:
            self._shop(shop).products[product_id] = product
        return f"gid://shopify/Product/{product_id}"

    def update_product(self, shop: str, gid: str, **changes: Any) -> None:
        """Change a product's fields (the ``add_product`` keywords)."""
        with self._lock:
            product = self._shop(shop).products[_legacy_id(gid)]
            for key, value in changes.items():
                if key == "variants":
                    product.variants = [
                        _Variant(
                            id=self._new_id(),
                            title=str(v.get("title", "Default Title")),
                            sku=str(v.get("sku", "")),
                            price=str(v.get("price", "0.00")),
                            options={str(k): str(x) for k, x in dict(v.get("options", {})).items()},
                        )
                        for v in value
                    ]
                elif key == "collections":
                    product.collections = [(h, h.replace("-", " ").title()) for h in value]
                elif key in {"tags", "images"}:
                    setattr(product, key, list(value))
                elif key == "status":
                    product.status = str(value).upper()
                elif key in {"title", "product_type", "handle", "vendor"}:
                    setattr(product, key, value)
                else:
                    raise TypeError(f"unknown product field {key}")
            product.updated_at = datetime.fromtimestamp(self.wall_clock(), UTC)

    def delete_product(self, shop: str, gid: str) -> None:
        with self._lock:
            del self._shop(shop).products[_legacy_id(gid)]

    def add_image(self, name: str, *, kind: str = "png", size: tuple[int, int] = (16, 16)) -> str:
        """Serve a real image at ``{base_url}/cdn/{name}``; its URL."""
        from PIL import Image

        buffer = io.BytesIO()
        formats = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg")}
        formats["webp"] = ("WEBP", "image/webp")
        pil_format, content_type = formats[kind]
        Image.new("RGB", size, (200, 80, 40)).save(buffer, pil_format)
        self.images[name] = (buffer.getvalue(), content_type)
        return f"{self.base_url}/cdn/{name}"

    def set_bucket(
        self,
        shop: str,
        *,
        maximum: float | None = None,
        available: float | None = None,
        restore_rate: float | None = None,
    ) -> None:
        """Set a shop's GraphQL cost bucket (Shopify's standard plan: 2000 max, 100/s)."""
        with self._lock:
            bucket = self._shop(shop).bucket
            self._leak(bucket)
            if maximum is not None:
                bucket.maximum = maximum
            if available is not None:
                bucket.available = available
            if restore_rate is not None:
                bucket.restore_rate = restore_rate

    def inject(
        self,
        match: str,
        *,
        status: int,
        body: bytes | str | Mapping[str, Any] = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests whose path contains ``match`` get this answer instead."""
        if isinstance(body, Mapping):
            raw = json.dumps(body).encode()
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = body
        with self._lock:
            self._injections.append(_Injection(match, status, raw, dict(headers or {}), times))

    def inject_graphql_errors(self, errors: list[dict[str, Any]], *, times: int = 1) -> None:
        """The next ``times`` GraphQL answers carry these ``errors`` (and no ``data``)."""
        with self._lock:
            self._graphql_errors.extend([errors] * times)

    # -- tokens ------------------------------------------------------------------------------

    def issue_token(
        self, shop: str, *, scopes: str = "read_products", expiring: bool = False
    ) -> str:
        """An access token for ``shop`` without the OAuth dance (for tests of later steps)."""
        return self._issue(shop, scopes, expiring)["access_token"]

    def _issue(self, shop: str, scopes: str, expiring: bool) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        now = self.wall_clock()
        answer: dict[str, Any] = {"access_token": token, "scope": scopes}
        expires_at = None
        if expiring:
            expires_at = now + EXPIRING_TOKEN_S
            refresh = "shprt_" + secrets.token_hex(16)
            self._refresh_tokens[refresh] = _Token(shop, scopes, now + REFRESH_TOKEN_S)
            answer |= {
                "expires_in": EXPIRING_TOKEN_S,
                "refresh_token": refresh,
                "refresh_token_expires_in": REFRESH_TOKEN_S,
            }
        with self._lock:
            self._tokens[token] = _Token(shop, scopes, expires_at)
            self._shop(shop).installed = True
        return answer

    def token_shop(self, token: str) -> str | None:
        """The shop a live access token belongs to, ``None`` for a dead or unknown one."""
        found = self._tokens.get(token)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at <= self.wall_clock():
            return None
        return found.shop

    def revoke_tokens(self, shop: str) -> None:
        """What uninstalling the app does to its tokens."""
        with self._lock:
            for store in (self._tokens, self._refresh_tokens):
                for token in [t for t, v in store.items() if v.shop == shop]:
                    del store[token]
            self._shop(shop).installed = False

    # -- OAuth -------------------------------------------------------------------------------

    def authorize_url(self, shop: str, *, redirect_uri: str, scope: str, state: str) -> str:
        """Where Shopify's authorize page is in this fake (what the app redirects to)."""
        query = urlencode(
            {
                "client_id": self.api_key,
                "scope": scope,
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self.base_url}/{shop}/admin/oauth/authorize?{query}"

    def signed_query(self, shop: str, **params: str) -> dict[str, str]:
        """Query parameters as Shopify signs them when it opens the app URL (install)."""
        query = {"shop": shop, "timestamp": str(int(self.wall_clock()))} | params
        query["hmac"] = shopify_hmac(query, self.api_secret)
        return query

    def _authorize(self, shop: str, query: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        if query.get("client_id") != self.api_key:
            return _error(400, "invalid_request", "Oauth error invalid_request: client_id")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("https://", "http://")):
            return _error(400, "invalid_request", "The redirect_uri is missing or not a URL")
        if self.redirect_uris and redirect_uri not in self.redirect_uris:
            return _error(400, "invalid_request", "The redirect_uri is not whitelisted")
        code = secrets.token_hex(16)
        self._codes[code] = (shop, query.get("scope", ""), redirect_uri)
        store = shop.split(".", 1)[0]
        host = base64.b64encode(f"admin.shopify.com/store/{store}".encode()).decode().rstrip("=")
        params = {
            "code": code,
            "host": host,
            "shop": shop,
            "state": query.get("state", ""),
            "timestamp": str(int(self.wall_clock())),
        }
        params["hmac"] = shopify_hmac(params, self.api_secret)
        sep = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{sep}{urlencode(params)}"}, b""

    def _access_token(
        self, shop: str, params: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if params.get("client_id") != self.api_key or not hmac.compare_digest(
            params.get("client_secret", ""), self.api_secret
        ):
            return _error(401, "invalid_client", "Client authentication failed")
        grant = params.get("grant_type", "authorization_code")
        expiring = params.get("expiring") in {"1", "true"}
        if grant == "authorization_code" or ("code" in params and "grant_type" not in params):
            with self._lock:
                found = self._codes.pop(params.get("code", ""), None)
            if found is None or found[0] != shop:
                return _error(
                    400,
                    "invalid_request",
                    "The authorization code was not found or was already used",
                )
            return _json(200, self._issue(shop, found[1], expiring))
        if grant == "refresh_token":
            with self._lock:
                old = self._refresh_tokens.pop(params.get("refresh_token", ""), None)
            if (
                old is None
                or old.shop != shop
                or (old.expires_at is not None and old.expires_at <= self.wall_clock())
            ):
                return _error(400, "invalid_grant", "The refresh token is invalid or expired")
            return _json(200, self._issue(shop, old.scopes, True))
        if grant == TOKEN_EXCHANGE:
            if params.get("subject_token_type") != ID_TOKEN_TYPE:
                return _error(400, "invalid_request", "subject_token_type must be an id_token")
            claims = self._check_session_token(params.get("subject_token", ""))
            if claims is None or claims.get("dest") != f"https://{shop}":
                return _error(400, "invalid_subject_token", "The session token is invalid")
            requested = params.get("requested_token_type", OFFLINE_TOKEN_TYPE)
            if requested not in {OFFLINE_TOKEN_TYPE, ONLINE_TOKEN_TYPE}:
                return _error(400, "invalid_request", "Unknown requested_token_type")
            answer = self._issue(shop, self._granted_scopes(shop), expiring)
            if requested == ONLINE_TOKEN_TYPE:
                answer |= {
                    "expires_in": 86399,
                    "associated_user_scope": answer["scope"],
                    "associated_user": {
                        "id": int(claims.get("sub", 0) or 0),
                        "email": "staff@example.com",
                    },
                }
            return _json(200, answer)
        return _error(400, "unsupported_grant_type", f"Unsupported grant_type {grant}")

    def _granted_scopes(self, shop: str) -> str:
        for token in self._tokens.values():
            if token.shop == shop:
                return token.scopes
        return "read_products,read_orders"

    def _check_session_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid session token, ``None`` otherwise (HS256 only)."""
        try:
            head, body, signature = token.split(".")
            header = json.loads(_b64url_decode(head))
            claims = json.loads(_b64url_decode(body))
            given = _b64url_decode(signature)
        except (ValueError, json.JSONDecodeError):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        expected = hmac.new(
            self.api_secret.encode(), f"{head}.{body}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(given, expected) or not isinstance(claims, dict):
            return None
        now = self.wall_clock()
        leeway = 5
        try:
            if claims.get("aud") != self.api_key:
                return None
            if float(claims["exp"]) < now - leeway or float(claims["nbf"]) > now + leeway:
                return None
        except (KeyError, TypeError, ValueError):
            return None
        return claims

    # -- GraphQL -----------------------------------------------------------------------------

    def _graphql(self, shop: _Shop, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            request = json.loads(body)
            query = request["query"]
            variables = request.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _json(400, {"errors": {"query": "Required parameter missing or invalid"}})
        try:
            document = graphql.parse(query)
        except graphql.GraphQLError as exc:
            return _json(200, {"errors": [exc.formatted]})
        problems = graphql.validate(self._schema, document)
        if problems:
            return _json(200, {"errors": [p.formatted for p in problems]})
        cost = _query_cost(document, variables)
        if cost > MAX_QUERY_COST:
            return _json(
                200,
                {
                    "errors": [
                        {
                            "message": f"Query cost is {cost}, which exceeds the single query "
                            f"max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": cost,
                                "maxCost": MAX_QUERY_COST,
                            },
                        }
                    ]
                },
            )
        with self._lock:
            bucket = shop.bucket
            self._leak(bucket)
            status = {
                "maximumAvailable": bucket.maximum,
                "currentlyAvailable": bucket.available,
                "restoreRate": bucket.restore_rate,
            }
            if cost > bucket.available:
                return _json(
                    200,
                    {
                        "errors": [
                            {
                                "message": "Throttled",
                                "extensions": {
                                    "code": "THROTTLED",
                                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                                },
                            }
                        ],
                        "extensions": {
                            "cost": {
                                "requestedQueryCost": cost,
                                "actualQueryCost": None,
                                "throttleStatus": status,
                            }
                        },
                    },
                )
            bucket.available -= cost
            status["currentlyAvailable"] = bucket.available
            injected = self._graphql_errors.pop(0) if self._graphql_errors else None
        extensions = {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": cost,
                "throttleStatus": status,
            }
        }
        if injected is not None:
            return _json(200, {"errors": injected, "extensions": extensions})
        result = graphql.execute_sync(
            self._schema,
            document,
            root_value=_Root(self, shop),
            variable_values=variables,
            field_resolver=_resolve_field,
            type_resolver=lambda value, info, abstract: "WebhookHttpEndpoint",
        )
        answer: dict[str, Any] = {"data": result.data, "extensions": extensions}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return _json(200, answer)

    def _leak(self, bucket: _Bucket) -> None:
        now = self.clock()
        if bucket.at is not None:
            bucket.available = min(
                bucket.maximum, bucket.available + (now - bucket.at) * bucket.restore_rate
            )
        bucket.at = now

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_headers(
        self,
        topic: str,
        shop: str,
        body: bytes,
        *,
        webhook_id: str | None = None,
        tamper: bool = False,
    ) -> dict[str, str]:
        """The headers Shopify sends with a webhook body (``tamper``: a wrong signature)."""
        signature = webhook_hmac(body, self.api_secret)
        if tamper:
            signature = webhook_hmac(body + b" ", self.api_secret)
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": datetime.fromtimestamp(self.wall_clock(), UTC).isoformat(),
        }

    def deliver_webhook(
        self,
        url: str,
        topic: str,
        shop: str,
        payload: Mapping[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        tamper: bool = False,
        retries: int = 0,
        timeout_s: float = 30.0,
    ) -> httpx.Response:
        """POST a webhook to ``url`` like Shopify; retry up to ``retries`` times on non-2xx.

        Retries keep the webhook id (that is how the receiver dedupes); the fake retries at
        once, not on Shopify's schedule. The last response is returned.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self.webhook_headers(
            topic, shop, body, webhook_id=webhook_id or str(uuid.uuid4()), tamper=tamper
        )
        with httpx.Client(timeout=timeout_s, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
            for _ in range(retries):
                if 200 <= response.status_code < 300:
                    break
                response = client.post(url, content=body, headers=headers)
        return response

    # -- HTTP --------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
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
        segments = path.lstrip("/").split("/", 1)
        shop_domain, rest = segments[0], "/" + (segments[1] if len(segments) > 1 else "")
        shop = self.shops.get(shop_domain)
        if shop is None:
            return _json(404, {"errors": "Not Found"})
        if rest == "/admin/oauth/authorize" and method == "GET":
            return self._authorize(shop_domain, query)
        if rest == "/admin/oauth/access_token" and method == "POST":
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    loaded = json.loads(body or b"{}")
                    params = {str(k): str(v) for k, v in dict(loaded).items()}
                except (ValueError, TypeError):
                    return _error(400, "invalid_request", "The body is not JSON")
            else:
                params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return self._access_token(shop_domain, {**query, **params})
        token_shop = self.token_shop(headers.get("x-shopify-access-token", ""))
        if rest == "/admin/api_permissions/current.json" and method == "DELETE":
            if token_shop != shop_domain:
                return _json(401, {"errors": INVALID_TOKEN})
            self.revoke_tokens(shop_domain)
            return _json(200, {})
        match = re.fullmatch(r"/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json", rest)
        if match and method == "POST":
            if token_shop != shop_domain:
                return _json(401, {"errors": INVALID_TOKEN})
            return self._graphql(shop, body)
        return _json(404, {"errors": "Not Found"})


_json = json_answer


def _error(status: int, error: str, description: str) -> tuple[int, dict[str, str], bytes]:
    return _json(status, {"error": error, "error_description": description})


def _handleize(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


def _legacy_id(gid: str) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


def _cursor(value: int) -> str:
    return base64.b64encode(json.dumps({"last_id": value}).encode()).decode()


def _uncursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.b64decode(cursor))["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise graphql.GraphQLError(f"Invalid cursor for current pagination: {cursor}") from exc


def _connection(
    items: Sequence[Any], ids: Sequence[int], first: int | None, after: str | None
) -> dict[str, Any]:
    if first is None:
        raise graphql.GraphQLError("you must provide one of first or last")
    if not 0 <= first <= 250:
        raise graphql.GraphQLError("The first argument must be between 0 and 250")
    start = _uncursor(after)
    chosen = [(i, x) for i, x in zip(ids, items, strict=True) if i > start]
    page = chosen[:first]
    more = len(chosen) > len(page)
    return {
        "nodes": [x for _, x in page],
        "edges": [{"cursor": _cursor(i), "node": x} for i, x in page],
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(page[0][0]) if page else None,
            "endCursor": _cursor(page[-1][0]) if page else None,
        },
    }


def _matches(product: _Product, query: str | None) -> bool:
    if not query:
        return True
    for term in re.findall(r"(?:[^\s']+|'[^']*')+", query):
        name, _, value = term.partition(":")
        value = value.strip("'\"")
        if not _:
            if term.lower() not in product.title.lower():
                return False
        elif name == "status":
            if product.status.lower() not in value.lower().split(","):
                return False
        elif name == "product_type":
            if product.product_type.lower() != value.lower():
                return False
        elif name == "tag":
            if value.lower() not in (t.lower() for t in product.tags):
                return False
        elif name == "title":
            if value.lower().strip("*") not in product.title.lower():
                return False
        elif name == "id":
            op, number = re.match(r"(>=|<=|>|<)?(\d+)", value).groups()  # type: ignore[union-attr]
            if not _compare(product.id, op, int(number)):
                return False
        elif name == "updated_at":
            op, when = re.match(r"(>=|<=|>|<)?(.+)", value).groups()  # type: ignore[union-attr]
            stamp = datetime.fromisoformat(when.replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            if not _compare(product.updated_at.timestamp(), op, stamp.timestamp()):
                return False
    return True


def _compare(left: float, op: str | None, right: float) -> bool:
    return {
        None: left == right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


class _Root:
    """The GraphQL root for one shop: turns the fake's records into Admin API shapes."""

    def __init__(self, fake: FakeShopify, shop: _Shop) -> None:
        self.fake = fake
        self.shop = shop

    def products(
        self, first: int | None = None, after: str | None = None, query: str | None = None, **_: Any
    ) -> dict[str, Any]:
        with self.fake._lock:
            items = sorted(self.shop.products.values(), key=lambda p: p.id)
        items = [p for p in items if _matches(p, query)]
        return _connection([self._product(p) for p in items], [p.id for p in items], first, after)

    def product(self, id: str) -> dict[str, Any] | None:
        if not id.startswith("gid://shopify/Product/"):
            raise graphql.GraphQLError(f"Invalid global id '{id}'")
        with self.fake._lock:
            found = self.shop.products.get(_legacy_id(id))
        return self._product(found) if found else None

    def shop_(self) -> dict[str, Any]:
        host = self.shop.primary_host
        return {
            "id": f"gid://shopify/Shop/{abs(hash(self.shop.domain)) % 10**9}",
            "name": self.shop.name,
            "email": f"owner@{self.shop.domain}",
            "currencyCode": "USD",
            "myshopifyDomain": self.shop.domain,
            "primaryDomain": {
                "id": "gid://shopify/Domain/1",
                "host": host,
                "url": f"https://{host}",
            },
        }

    def webhook_subscriptions(
        self,
        first: int | None = None,
        after: str | None = None,
        topics: list[str] | None = None,
        callback_url: str | None = None,
        uri: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        with self.fake._lock:
            subs = sorted(self.shop.subscriptions.values(), key=lambda s: s.id)
        wanted = uri or callback_url
        subs = [
            s for s in subs if (not topics or s.topic in topics) and (not wanted or s.uri == wanted)
        ]
        return _connection([_subscription(s) for s in subs], [s.id for s in subs], first, after)

    def webhook_subscription_create(
        self, topic: str, webhook_subscription: dict[str, Any]
    ) -> dict[str, Any]:
        uri = webhook_subscription.get("uri") or webhook_subscription.get("callbackUrl")
        if not uri or not str(uri).startswith("https://"):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": ["webhookSubscription", "callbackUrl"],
                        "message": "Address protocol http:// is not supported"
                        if uri
                        else "Address can't be blank",
                    }
                ],
            }
        with self.fake._lock:
            if any(s.topic == topic and s.uri == uri for s in self.shop.subscriptions.values()):
                return {
                    "webhookSubscription": None,
                    "userErrors": [
                        {
                            "field": ["webhookSubscription", "callbackUrl"],
                            "message": "Address for this topic has already been taken",
                        }
                    ],
                }
            sub = _Subscription(
                id=self.fake._new_id(),
                topic=topic,
                uri=str(uri),
                format=webhook_subscription.get("format") or "JSON",
                include_fields=list(webhook_subscription.get("includeFields") or []),
                created_at=datetime.fromtimestamp(self.fake.wall_clock(), UTC),
            )
            self.shop.subscriptions[sub.id] = sub
        return {"webhookSubscription": _subscription(sub), "userErrors": []}

    def webhook_subscription_delete(self, id: str) -> dict[str, Any]:
        with self.fake._lock:
            found = (
                self.shop.subscriptions.pop(_legacy_id(id), None)
                if id.startswith("gid://shopify/WebhookSubscription/")
                else None
            )
        if found is None:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
            }
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    def _product(self, p: _Product) -> dict[str, Any]:
        images = [
            {
                "id": f"gid://shopify/ProductImage/{p.id}{n}",
                "url": url,
                "altText": None,
                "width": 16,
                "height": 16,
            }
            for n, url in enumerate(p.images)
        ]
        option_names: list[str] = []
        for v in p.variants:
            for name in v.options:
                if name not in option_names:
                    option_names.append(name)
        options = [
            {
                "id": f"gid://shopify/ProductOption/{p.id}{n}",
                "name": name,
                "position": n + 1,
                "values": list(
                    dict.fromkeys(v.options[name] for v in p.variants if name in v.options)
                ),
            }
            for n, name in enumerate(option_names)
        ]
        variants = [
            {
                "id": f"gid://shopify/ProductVariant/{v.id}",
                "legacyResourceId": str(v.id),
                "title": v.title,
                "sku": v.sku or None,
                "price": v.price,
                "availableForSale": v.available,
                "selectedOptions": [{"name": k, "value": x} for k, x in v.options.items()],
            }
            for v in p.variants
        ]
        collections = [
            {"id": f"gid://shopify/Collection/{abs(hash(h)) % 10**9}", "handle": h, "title": t}
            for h, t in p.collections
        ]
        return {
            "id": f"gid://shopify/Product/{p.id}",
            "legacyResourceId": str(p.id),
            "title": p.title,
            "handle": p.handle,
            "productType": p.product_type,
            "vendor": p.vendor,
            "tags": list(p.tags),
            "status": p.status,
            "createdAt": p.created_at.isoformat().replace("+00:00", "Z"),
            "updatedAt": p.updated_at.isoformat().replace("+00:00", "Z"),
            "onlineStoreUrl": f"https://{self.shop.primary_host}/products/{p.handle}"
            if p.status == "ACTIVE"
            else None,
            "featuredImage": images[0] if images else None,
            "images": _Sub(images),
            "collections": _Sub(collections),
            "options": _Sub(options),
            "variants": _Sub(variants),
        }


class _Sub:
    """A nested list that takes ``first``/``after`` arguments (a connection or a plain list)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items


def _subscription(s: _Subscription) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/WebhookSubscription/{s.id}",
        "topic": s.topic,
        "format": s.format,
        "callbackUrl": s.uri,
        "uri": s.uri,
        "endpoint": {"callbackUrl": s.uri},
        "includeFields": s.include_fields,
        "createdAt": s.created_at.isoformat().replace("+00:00", "Z"),
    }


_ROOT_FIELDS = {
    "products": "products",
    "product": "product",
    "shop": "shop_",
    "webhookSubscriptions": "webhook_subscriptions",
    "webhookSubscriptionCreate": "webhook_subscription_create",
    "webhookSubscriptionDelete": "webhook_subscription_delete",
}


def _resolve_field(source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
    name = info.field_name
    if isinstance(source, _Root):
        snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in args.items()}
        return getattr(source, _ROOT_FIELDS[name])(**snake)
    value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
    if isinstance(value, _Sub):
        if name == "options":
            first = args.get("first")
            return value.items[:first] if first is not None else value.items
        ids = list(range(1, len(value.items) + 1))
        return _connection(value.items, ids, args.get("first"), args.get("after"))
    return value


def _query_cost(document: graphql.DocumentNode, variables: Mapping[str, Any]) -> int:
    """Roughly Shopify's calculated cost: 1 per object, connections 2 + first x children."""
    total = 0
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            if definition.operation == graphql.OperationType.MUTATION:
                total += MUTATION_COST
            else:
                total += _selection_cost(definition.selection_set, variables)
    return max(1, total)


def _selection_cost(
    selection_set: graphql.SelectionSetNode | None, variables: Mapping[str, Any]
) -> int:
    if selection_set is None:
        return 0
    cost = 0
    for selection in selection_set.selections:
        if isinstance(selection, graphql.FieldNode):
            if selection.selection_set is None:
                continue
            inner = _selection_cost(selection.selection_set, variables)
            if selection.name.value in _CONNECTION_FIELDS:
                first = 10
                for argument in selection.arguments or ():
                    if argument.name.value == "first":
                        node = argument.value
                        if isinstance(node, graphql.IntValueNode):
                            first = int(node.value)
                        elif isinstance(node, graphql.VariableNode):
                            first = int(variables.get(node.name.value) or 10)
                cost += 2 + first * max(inner, 1)
            elif selection.name.value in {"nodes", "edges", "node", "pageInfo"}:
                cost += inner
            else:
                cost += 1 + inner
        elif isinstance(selection, graphql.InlineFragmentNode):
            cost += _selection_cost(selection.selection_set, variables)
    return cost
