"""``BigCommerceAdapter``: BigCommerce's hooks, v3 catalog, v2 orders, Scripts API and token.

Ids: products and variants by their numeric ids as strings (``"111"``), the ids Stencil's
``product.id`` and the storefront's cart give the widget and the order's products give as
``product_id`` / ``variant_id``. Orders by their numeric id.

Hooks are *light*: ``{"scope": "store/order/created", "store_id": "1025646", "producer":
"stores/{hash}", "data": {"type": "order", "id": 250}, "hash": "...", "created_at": ...}``.
``parse_webhook`` turns an order hook into ``OrderReference`` (the core then calls
``fetch_order`` with the store's connection) and a product hook into ``ProductChanged`` /
``ProductDeleted`` (the core fetches the product itself).

How hooks are trusted (PLATFORMS.md): BigCommerce's docs secure a hook with custom ``headers``
set when it is created. Ours carries ``X-Tryon-Hook-Token``, a per-store secret derived from
the client secret and the store hash (HMAC, so the intake checks it without a database read
and in constant time; rotating the client secret rotates every store's, and ``ensure_webhooks``
rewrites hooks whose header is stale). When a delivery also carries Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) the signature is checked too,
keyed by the client secret's bytes (an unconfirmed third-party description; see the README),
and the timestamp must be within five minutes.

Pure protocol code: no database; every call through the ``PlatformClient``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import structlog
from pydantic import ValidationError

from gateway.errors import BadRequest, InvalidInput, PlatformRejected, Unauthorized
from gateway.orders.schemas import OrderIn, OrderLineIn
from gateway.platforms.bigcommerce import signed
from gateway.platforms.bigcommerce.storefront import ScriptSpec, script_spec
from gateway.platforms.protocol import (
    AppUninstalled,
    CatalogPage,
    CatalogProduct,
    CatalogVariant,
    Connection,
    DomainEvent,
    OrderChanged,
    OrderReference,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    ShopRedact,
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.values import money, numeric_id
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform

if TYPE_CHECKING:
    from gateway.platforms.http import PlatformClient

log = structlog.get_logger(__name__)

API = "https://api.bigcommerce.com"
TOKEN_URL = "https://login.bigcommerce.com/oauth2/token"  # noqa: S105 - a URL
HOOK_HEADER = "X-Tryon-Hook-Token"
STORE_HASH = "store_hash"
"""The key in ``InstallGrant.extra`` / ``Store.extra`` holding the store hash."""
SCRIPT_NAME = "Virtual try-on"
REDACT_TOPIC = "tryon/shop_redact"
"""Not a BigCommerce scope: the job the ``uninstall`` callback schedules 48 h ahead (the
platform sends no redaction request); only ever made by us, never accepted from a hook."""
SIGNATURE_TOLERANCE = timedelta(minutes=5)
HOOK_SCOPES = (
    "store/order/created",
    "store/order/updated",
    "store/product/created",
    "store/product/updated",
    "store/product/deleted",
    "store/app/uninstalled",
)
_ORDER_SCOPES = {
    "store/order/created": OrderStatus.CREATED,
    "store/order/updated": OrderStatus.UPDATED,
    "store/order/statusupdated": OrderStatus.UPDATED,
}
# BigCommerce's order status ids (GET /v2/order_statuses).
_CANCELLED = frozenset({5})
_REFUNDED = frozenset({4, 14})
_DECLINED = frozenset({0, 6})
"""Incomplete (0) and Declined (6) are not purchases."""


def hook_secret(*, client_secret: str, store_hash: str) -> str:
    """The per-store value of ``X-Tryon-Hook-Token`` (hex HMAC-SHA256, keyed by the secret)."""
    message = f"bigcommerce-hook:{store_hash}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


def standard_signature(key: bytes, *, msg_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks: base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` (without ``v1,``)."""
    signed_content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest()).decode()


def verify_standard(
    key: bytes, *, headers: Mapping[str, str], body: bytes, now: datetime
) -> str | None:
    """Check Standard Webhooks headers when present: the ``webhook-id``, or None without them.

    ``webhook-signature`` may list several space-separated ``v1,<b64>``; one must match.
    """
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    given = headers.get("webhook-signature")
    if msg_id is None and stamp is None and given is None:
        return None
    if not msg_id or not stamp or not given or len(msg_id) > 128 or len(given) > 1024:
        raise Unauthorized("The webhook's Standard Webhooks headers are incomplete")
    if not stamp.isdigit() or len(stamp) > 12:
        raise Unauthorized("The webhook's timestamp is not a number")
    sent = datetime.fromtimestamp(int(stamp), tz=UTC)
    if abs(now - sent) > SIGNATURE_TOLERANCE:
        raise Unauthorized("The webhook's timestamp is too old or in the future")
    expected = standard_signature(key, msg_id=msg_id, timestamp=stamp, body=body).encode()
    matched = False
    for candidate in given.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode("ascii", "replace")):
            matched = True
    if not matched:
        raise Unauthorized("The webhook's signature is wrong")
    return msg_id


def _time(value: object) -> str | None:
    """BigCommerce v2 dates are RFC 2822 (``Tue, 20 Nov 2012 00:00:00 +0000``)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def order_of(
    order: Mapping[str, Any], lines: Iterable[Mapping[str, Any]], *, shop: str
) -> OrderChanged:
    """An order and its products (``GET /v2/orders/{id}`` and ``/products``) as an event."""
    order_id = numeric_id(order.get("id"))
    total = money(order.get("total_inc_tax", order.get("total_ex_tax")))
    currency = order.get("currency_code") or order.get("default_currency_code")
    if order_id is None or total is None:
        raise BadRequest("The order has no id or total")
    out: list[OrderLineIn] = []
    for item in lines:
        product = numeric_id(item.get("product_id"))
        quantity = item.get("quantity")
        price = money(item.get("price_inc_tax", item.get("base_price")))
        if product is None:
            line = numeric_id(item.get("id"))
            product = f"custom-line-{line}" if line else None
        if product is None or price is None or not isinstance(quantity, int) or quantity < 1:
            continue
        out.append(
            OrderLineIn(
                product_id=product,
                variant_id=numeric_id(item.get("variant_id")),
                quantity=quantity,
                price=price,
            )
        )
    cart_id = order.get("cart_id")
    try:
        built = OrderIn(
            order_id=order_id,
            occurred_at=_time(order.get("date_created")),
            revenue=total,
            currency=str(currency).upper() if isinstance(currency, str) else currency,
            lines=out,
            cart_token=cart_id if isinstance(cart_id, str) and cart_id else None,
            store=shop,
        )
    except ValidationError as exc:
        raise BadRequest(f"The order cannot be read: {exc.error_count()} invalid fields") from None
    status_id = order.get("status_id")
    refunded_raw = money(order.get("refunded_amount"))
    refunded = Decimal(refunded_raw) if refunded_raw is not None else None
    status = OrderStatus.CREATED
    if status_id in _CANCELLED:
        status = OrderStatus.CANCELLED
    elif status_id in _REFUNDED or (refunded is not None and refunded > 0):
        status = OrderStatus.REFUNDED
    return OrderChanged(status=status, order=built, refunded=refunded if refunded else None)


def _variant_of(raw: Mapping[str, Any]) -> CatalogVariant | None:
    external = numeric_id(raw.get("id"))
    if external is None:
        return None
    options = {
        str(o["option_display_name"]): str(o["label"])
        for o in raw.get("option_values") or []
        if isinstance(o, Mapping) and o.get("option_display_name") and o.get("label") is not None
    }
    price = raw.get("calculated_price", raw.get("price"))
    return CatalogVariant(
        external_id=external,
        title=" / ".join(options.values()) or str(raw.get("sku") or external),
        sku=str(raw["sku"]) if raw.get("sku") else None,
        options=options,
        price=money(price) if price is not None else None,
    )


def product_of(
    raw: Mapping[str, Any], *, categories: Mapping[int, str] | None = None
) -> CatalogProduct | None:
    """A v3 catalog product (with ``include=variants,images``) as a ``CatalogProduct``.

    Category ids become collections named both by id and by name (when ``categories`` knows
    it) so the merchant's mapping can use either; ``search_keywords`` are the tags.
    """
    external = numeric_id(raw.get("id"))
    if external is None:
        return None
    images = sorted(
        (i for i in raw.get("images") or [] if isinstance(i, Mapping)),
        key=lambda i: (not i.get("is_thumbnail"), i.get("sort_order") or 0),
    )
    urls: list[str] = []
    for image in images:
        url = image.get("url_zoom") or image.get("url_standard")
        if isinstance(url, str) and url and url not in urls:
            urls.append(url)
    names = categories or {}
    collections: list[str] = []
    for cid in raw.get("categories") or []:
        if isinstance(cid, int) and not isinstance(cid, bool):
            collections.append(str(cid))
            if cid in names:
                collections.append(names[cid])
    keywords = raw.get("search_keywords")
    tags = tuple(
        k.strip() for k in (keywords.split(",") if isinstance(keywords, str) else []) if k.strip()
    )
    variants = tuple(
        v for r in raw.get("variants") or [] if isinstance(r, Mapping) if (v := _variant_of(r))
    )
    custom_url = raw.get("custom_url")
    handle = custom_url.get("url") if isinstance(custom_url, Mapping) else None
    brand = raw.get("brand_name")
    return CatalogProduct(
        external_id=external,
        title=str(raw.get("name") or ""),
        product_type=str(brand) if isinstance(brand, str) and brand else None,
        tags=tags[:50],
        collections=tuple(collections),
        images=tuple(urls),
        variants=variants,
        handle=str(handle).strip("/") if isinstance(handle, str) and handle else None,
        active=bool(raw.get("is_visible", True)),
    )


class BigCommerceAdapter:
    """The ``PlatformAdapter`` for BigCommerce (see ``gateway.platforms.protocol``)."""

    platform = Platform.BIGCOMMERCE

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        page_size: int = 50,
        script: ScriptSpec | None = None,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.page_size = page_size
        self.script = script

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> BigCommerceAdapter:
        return cls(
            client_id=settings.bigcommerce_client_id,
            client_secret=settings.bigcommerce_client_secret.get_secret_value(),
            page_size=settings.bigcommerce_page_size,
            script=script_spec(settings),
        )

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        """Check the per-store header (and a Standard Webhooks signature when present)."""
        if not self._secret:
            raise Unauthorized("The BigCommerce app is not configured")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            payload = None
        producer = payload.get("producer") if isinstance(payload, dict) else None
        try:
            store_hash = signed.store_hash_of(producer if isinstance(producer, str) else None)
        except signed.InvalidSignedPayload:
            # Without a store there is no secret to check: the same answer as a bad one.
            raise Unauthorized("The webhook names no store") from None
        given = headers.get(HOOK_HEADER.lower(), "")
        expected = hook_secret(client_secret=self._secret, store_hash=store_hash)
        if not given or not hmac.compare_digest(
            expected.encode(), given.strip().encode("ascii", "replace")
        ):
            raise Unauthorized("The webhook's secret header is missing or wrong")
        msg_id = verify_standard(self._secret.encode(), headers=headers, body=body, now=now)
        assert isinstance(payload, dict)
        scope = payload.get("scope")
        digest = payload.get("hash")
        created = payload.get("created_at")
        if not isinstance(scope, str) or not scope.startswith("store/") or len(scope) > 64:
            raise BadRequest("The webhook has no scope")
        occurred = (
            datetime.fromtimestamp(created, tz=UTC)
            if isinstance(created, int) and not isinstance(created, bool) and created > 0
            else None
        )
        if msg_id is None:
            # BigCommerce's ``hash`` is of the data ({type, id}) alone: the same for every
            # update of one order, so the delivery is the hash at its time within its scope.
            if not isinstance(digest, str) or not digest or len(digest) > 128:
                raise BadRequest("The webhook has no hash")
            msg_id = f"{scope}:{digest}:{created}"
        return WebhookDelivery(
            delivery_id=msg_id,
            shop=signed.shop_of(store_hash),
            topic=scope.lower(),
            payload=payload,
            occurred_at=occurred,
        )

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        """Order hooks -> ``OrderReference``; product hooks -> changed/deleted; uninstall."""
        topic = delivery.topic
        if topic == "store/app/uninstalled":
            return [AppUninstalled()]
        if topic == REDACT_TOPIC:
            return [ShopRedact()]
        data = delivery.payload.get("data")
        external = numeric_id(data.get("id")) if isinstance(data, Mapping) else None
        if topic in {"store/product/created", "store/product/updated", "store/product/deleted"}:
            if external is None:
                raise BadRequest("The product hook has no product id")
            if topic.endswith("deleted"):
                return [ProductDeleted(external)]
            return [ProductChanged(external)]
        if topic in _ORDER_SCOPES:
            if external is None:
                raise BadRequest("The order hook has no order id")
            return [OrderReference(external_id=external)]
        return []

    # -- REST API ---------------------------------------------------------------------------

    def _url(self, connection: Connection, path: str) -> str:
        store_hash = connection.extra.get(STORE_HASH)
        if not store_hash or not signed.STORE_HASH.fullmatch(store_hash):
            raise InvalidInput("The installation has no store hash")
        return f"{API}/stores/{store_hash}{path}"

    def _headers(self, connection: Connection) -> dict[str, str]:
        return {"X-Auth-Token": connection.access_token, "Accept": "application/json"}

    def _get(self, client: PlatformClient, connection: Connection, path: str, **params: str) -> Any:
        response = client.request(
            "GET",
            self._url(connection, path),
            headers=self._headers(connection),
            params=params or None,
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise InvalidInput(f"BigCommerce's answer to {path} is not JSON") from None

    def _send(
        self, client: PlatformClient, connection: Connection, method: str, path: str, body: Any
    ) -> Any:
        response = client.request(
            method,
            self._url(connection, path),
            headers={**self._headers(connection), "Content-Type": "application/json"},
            json=body,
        )
        try:
            return response.json() if response.content else None
        except ValueError:
            return None

    def _categories(self, client: PlatformClient, connection: Connection) -> dict[int, str]:
        """Category id -> name (for the merchant's mapping by category name)."""
        names: dict[int, str] = {}
        page = 1
        while page <= 20:  # 5,000 categories
            answer = self._get(
                client,
                connection,
                "/v3/catalog/categories",
                limit="250",
                page=str(page),
                include_fields="id,name",
            )
            for item in _data_list(answer):
                cid, name = item.get("id"), item.get("name")
                if isinstance(cid, int) and isinstance(name, str):
                    names[cid] = name
            if _next_page(answer) is None:
                break
            page += 1
        return names

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        """One page of ``/v3/catalog/products`` with variants and images (``cursor``: page)."""
        page = int(cursor) if cursor and cursor.isdigit() else 1
        answer = self._get(
            client,
            connection,
            "/v3/catalog/products",
            include="variants,images",
            limit=str(self.page_size),
            page=str(page),
        )
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), list):
            raise InvalidInput("BigCommerce's products answer has no data")
        names = self._categories(client, connection)
        products = [p for raw in _data_list(answer) if (p := product_of(raw, categories=names))]
        following = _next_page(answer)
        return CatalogPage(products=products, next_cursor=str(following) if following else None)

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        """One product; None when BigCommerce answers 404."""
        if numeric_id(external_id) is None:
            return None
        try:
            answer = self._get(
                client,
                connection,
                f"/v3/catalog/products/{external_id}",
                include="variants,images",
            )
        except PlatformRejected as exc:
            if exc.extensions.get("platform_status") == 404:
                return None
            raise
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping):
            return None
        return product_of(data, categories=self._categories(client, connection))

    def fetch_order(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> OrderChanged | None:
        """The order and its products (v2), as an ``OrderChanged``; None when it is gone or
        is not a purchase (incomplete, declined)."""
        if numeric_id(external_id) is None:
            return None
        try:
            order = self._get(client, connection, f"/v2/orders/{external_id}")
            lines = self._get(client, connection, f"/v2/orders/{external_id}/products", limit="250")
        except PlatformRejected as exc:
            if exc.extensions.get("platform_status") == 404:
                return None
            raise
        if not isinstance(order, Mapping) or order.get("status_id") in _DECLINED:
            return None
        items = [i for i in lines if isinstance(i, Mapping)] if isinstance(lines, list) else []
        return order_of(order, items, shop=connection.shop)

    def fetch_store(self, *, client: PlatformClient, connection: Connection) -> dict[str, str]:
        """The storefront's domain (``GET /v2/store``), for the widget key's origins."""
        answer = self._get(client, connection, "/v2/store")
        if not isinstance(answer, Mapping):
            return {}
        url = answer.get("secure_url") or answer.get("domain")
        return {"primary_domain": str(url)} if isinstance(url, str) and url else {}

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        """The storefront script, and hooks for ``HOOK_SCOPES`` to ``callback_url`` with the
        store's secret header. Idempotent: what is right is left alone; a hook of ours with a
        stale destination or header is deleted and made again."""
        # The storefront script first: it does not depend on the hooks (which BigCommerce
        # refuses for a destination that is not https).
        self.ensure_script(client=client, connection=connection)
        store_hash = connection.extra.get(STORE_HASH, "")
        header = {HOOK_HEADER: hook_secret(client_secret=self._secret, store_hash=store_hash)}
        present: set[str] = set()
        for hook in self._hooks(client, connection):
            scope = str(hook.get("scope") or "")
            if scope not in HOOK_SCOPES:
                continue
            ok = (
                hook.get("destination") == callback_url
                and hook.get("headers") == header
                and hook.get("is_active") is not False
                and scope not in present
            )
            if ok:
                present.add(scope)
            elif (hook_id := numeric_id(hook.get("id"))) is not None:
                client.request(
                    "DELETE",
                    self._url(connection, f"/v3/hooks/{hook_id}"),
                    headers=self._headers(connection),
                )
        for scope in HOOK_SCOPES:
            if scope not in present:
                self._send(
                    client,
                    connection,
                    "POST",
                    "/v3/hooks",
                    {
                        "scope": scope,
                        "destination": callback_url,
                        "is_active": True,
                        "headers": header,
                    },
                )

    def _hooks(self, client: PlatformClient, connection: Connection) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        page = 1
        while page <= 20:
            answer = self._get(client, connection, "/v3/hooks", limit="250", page=str(page))
            found.extend(_data_list(answer))
            if _next_page(answer) is None:
                break
            page += 1
        return found

    def script_body(self, store_hash: str) -> dict[str, Any] | None:
        """The Scripts API body of our storefront loader (PLATFORMS.md), or None unset."""
        if self.script is None or not signed.STORE_HASH.fullmatch(store_hash):
            return None
        return {
            "name": SCRIPT_NAME,
            "description": "Loads the virtual try-on button on product pages",
            "kind": "src",
            "src": f"{self.script.src}?store={store_hash}",
            "integrity_hashes": [self.script.integrity],
            "load_method": "defer",
            "location": "footer",
            "visibility": "storefront",
            "consent_category": "functional",
            "auto_uninstall": True,
            "enabled": True,
        }

    def ensure_script(self, *, client: PlatformClient, connection: Connection) -> None:
        """Register the loader once; bring ours up to date when its src or hash changed."""
        body = self.script_body(connection.extra.get(STORE_HASH, ""))
        if body is None:
            return
        answer = self._get(client, connection, "/v3/content/scripts", limit="250")
        ours = [s for s in _data_list(answer) if s.get("name") == SCRIPT_NAME]
        for index, script in enumerate(ours):
            uuid = script.get("uuid")
            if not isinstance(uuid, str) or not uuid.replace("-", "").isalnum():
                continue
            path = f"/v3/content/scripts/{uuid}"
            if index > 0:
                client.request(
                    "DELETE", self._url(connection, path), headers=self._headers(connection)
                )
            elif any(script.get(k) != v for k, v in body.items()):
                self._send(client, connection, "PUT", path, body)
        if not ours:
            self._send(client, connection, "POST", "/v3/content/scripts", body)

    # -- tokens ---------------------------------------------------------------------------

    def exchange_code(
        self, *, client: PlatformClient, code: str, scope: str, context: str, redirect_uri: str
    ) -> Tokens:
        """The ``auth`` callback's code for a (non-expiring) store token."""
        response = client.request(
            "POST",
            TOKEN_URL,
            json={
                "client_id": self.client_id,
                "client_secret": self._secret,
                "code": code,
                "scope": scope,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "context": context,
            },
            headers={"Accept": "application/json"},
        )
        try:
            answer = response.json()
        except ValueError:
            raise BadRequest("BigCommerce's token answer is not JSON") from None
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise BadRequest("BigCommerce's token answer has no access token")
        if answer.get("context") not in (None, context):
            raise BadRequest("BigCommerce's token answer is for another store")
        granted = str(answer.get("scope") or scope)
        return Tokens(access_token=token, scopes=tuple(sorted(set(granted.split()))))

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        """BigCommerce store tokens do not expire."""
        return tokens

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        """Nothing to call: BigCommerce revokes the token itself when the app is uninstalled
        (and removes scripts registered with ``auto_uninstall``)."""
        log.info("bigcommerce.revoke", shop=connection.shop)


def _data_list(answer: object) -> list[Mapping[str, Any]]:
    data = answer.get("data") if isinstance(answer, Mapping) else None
    return [d for d in data if isinstance(d, Mapping)] if isinstance(data, list) else []


def _next_page(answer: object) -> int | None:
    """The next page from v3's ``meta.pagination`` (``links.next``, else the page counts)."""
    meta = answer.get("meta") if isinstance(answer, Mapping) else None
    pagination = meta.get("pagination") if isinstance(meta, Mapping) else None
    if not isinstance(pagination, Mapping):
        return None
    current, total = pagination.get("current_page"), pagination.get("total_pages")
    links = pagination.get("links")
    following = links.get("next") if isinstance(links, Mapping) else None
    if isinstance(following, str) and following:
        pages = parse_qs(following.lstrip("?")).get("page")
        if pages and pages[0].isdigit():
            return int(pages[0])
    if isinstance(current, int) and isinstance(total, int) and current < total:
        return current + 1
    return None
