"""``WooCommerceAdapter``: WooCommerce's webhooks, its REST API v3 catalog and orders.

A store is named by its URL (``storeurl``); the REST API lives under ``{store}/wp-json/wc/v3``
and is called with the consumer key and secret the key exchange gave, as HTTP Basic
credentials (WooCommerce takes them that way over https). The store's host was chosen by the
merchant: every call goes through ``PlatformClient`` with ``untrusted_host`` (SSRF rules,
the vetted address pinned).

Ids: products and variations by their numeric ids as strings (``"31"``), the ids the plugin
puts in ``data-tryon-product`` / ``data-tryon-variant`` and orders give as ``product_id`` /
``variation_id``. A simple product has no variants (its orders say ``variation_id: 0``).

Webhooks (PLATFORMS.md): ``X-WC-Webhook-Signature`` is base64 HMAC-SHA256 of the raw body
with the hook's secret. Each store's hooks are created with their own secret, derived from
``TRYON_SECRET_KEY`` and the store's URL (``hook_secret``), and deliver to
``/platforms/woocommerce/webhooks/{store id}``: the route binds the adapter to that store
(``for_store``) before the core's intake verifies. The delivery id
(``X-WC-Webhook-Delivery-ID``) is only unique within one store, so the dedupe key is prefixed
with the store's id and the hook's id. WooCommerce does not retry and disables a hook after
five failed deliveries: order hooks become ``OrderReference`` (the worker reads the order
again, with every line item's meta, whatever the delivery held) and product hooks
``ProductChanged`` / ``ProductDeleted``; none of it can fail after the 200.

Pure protocol code: no database; every call through the ``PlatformClient``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from gateway.errors import BadRequest, InvalidInput, PlatformRejected, Unauthorized
from gateway.orders.schemas import OrderIn, OrderLineIn
from gateway.platforms.protocol import (
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
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.values import money, numeric_id
from gateway.platforms.woocommerce import storeurl
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform

if TYPE_CHECKING:
    from gateway.platforms.http import PlatformClient

log = structlog.get_logger(__name__)

API = "/wp-json/wc/v3"
WEBHOOK_KEY = "webhook_key"
"""The key in ``Store.extra`` naming the path segment of the store's webhook URL (its id)."""
KEY_ID = "key_id"
"""The key in ``Store.extra`` holding WooCommerce's id of the API key it gave us."""
SESSION_META = "_tryon_session"
WIDGET_META = "_tryon_widget_session"
"""The widget session the plugin keeps on each order item (from ``TryOn.addedToCart`` or the
widget's own add): the order's ``widget_session_id``, so a holdout shopper's order joins."""
"""The order item meta the plugin writes from the cart item (the try-on session id)."""
HOOK_NAME = "Virtual try-on"
HOOK_TOPICS = (
    "order.created",
    "order.updated",
    "product.created",
    "product.updated",
    "product.deleted",
)
MAX_VARIATION_PAGES = 10
"""100 variations a page: 1,000 variations of one product are plenty (WooCommerce's own
admin caps bulk editing far lower)."""
_TOPIC = re.compile(r"^[a-z_]{1,32}\.[a-z_]{1,32}$")
_DELIVERY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_NOT_PURCHASES = frozenset({"pending", "failed", "checkout-draft", "trash", "auto-draft"})


def signature(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def hook_secret(*, secret_key: str, shop: str) -> str:
    """The per-store secret our hooks are created with (hex HMAC-SHA256 of the store's URL,
    keyed by ``TRYON_SECRET_KEY``): checked without a database read; rotating the key rotates
    every store's, and ``ensure_webhooks`` rewrites hooks whose secret is stale."""
    return hmac.new(
        secret_key.encode(), f"woocommerce-hook:{shop}".encode(), hashlib.sha256
    ).hexdigest()


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's unsigned creation ping: a form body ``webhook_id=<n>`` and no signature."""
    return "x-wc-webhook-signature" not in headers and bool(
        re.fullmatch(rb"webhook_id=[0-9]{1,20}", body)
    )


def _time(value: object) -> str | None:
    """WooCommerce's ``*_gmt`` dates (``2026-12-07T10:15:00``, UTC without an offset)."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def session_of(meta: object, key: str = SESSION_META) -> str | None:
    """The ``key`` value (``_tryon_session``) in a ``meta_data`` list, when it is a session id."""
    for entry in meta if isinstance(meta, list) else []:
        if isinstance(entry, Mapping) and entry.get("key") == key:
            value = entry.get("value")
            if isinstance(value, str) and _SESSION.fullmatch(value):
                return value
    return None


def order_of(raw: Mapping[str, Any], *, shop: str) -> OrderChanged | None:
    """A REST v3 order as an event; None for what is not a purchase (pending, failed)."""
    status = str(raw.get("status") or "")
    if status in _NOT_PURCHASES:
        return None
    order_id = numeric_id(raw.get("id"))
    total = money(raw.get("total"))
    if order_id is None or total is None:
        raise BadRequest("The order has no id or total")
    lines: list[OrderLineIn] = []
    widget = session_of(raw.get("meta_data"), WIDGET_META)
    for item in raw.get("line_items") or []:
        if not isinstance(item, Mapping):
            continue
        widget = widget or session_of(item.get("meta_data"), WIDGET_META)
        product = numeric_id(item.get("product_id"))
        quantity = item.get("quantity")
        if product is None:
            line = numeric_id(item.get("id"))
            product = f"custom-line-{line}" if line else None
        if product is None or not isinstance(quantity, int) or isinstance(quantity, bool):
            continue
        if quantity < 1:
            continue
        # ``price`` is the unit price after discounts (a number); ``total`` is the line's.
        price = money(item.get("price"))
        if price is None:
            line_total = money(item.get("total"))
            price = money(Decimal(line_total) / quantity) if line_total is not None else None
        if price is None:
            continue
        lines.append(
            OrderLineIn(
                product_id=product,
                variant_id=numeric_id(item.get("variation_id")),
                quantity=quantity,
                price=price,
                tryon_session_id=session_of(item.get("meta_data")),
            )
        )
    currency = raw.get("currency")
    try:
        order = OrderIn(
            order_id=order_id,
            occurred_at=_time(raw.get("date_created_gmt")),
            revenue=total,
            currency=currency.upper() if isinstance(currency, str) else currency,
            lines=lines,
            widget_session_id=widget,
            store=storeurl.origin(shop),
        )
    except ValidationError as exc:
        raise BadRequest(f"The order cannot be read: {exc.error_count()} invalid fields") from None
    refunded = Decimal(0)
    for refund in raw.get("refunds") or []:
        amount = (
            money(str(refund.get("total", "")).lstrip("-")) if isinstance(refund, Mapping) else None
        )
        if amount is not None:
            refunded += Decimal(amount)
    event = OrderStatus.CREATED
    if status == "cancelled":
        event = OrderStatus.CANCELLED
    elif status == "refunded" or refunded > 0:
        event = OrderStatus.REFUNDED
    return OrderChanged(status=event, order=order, refunded=refunded if refunded else None)


def _variant_of(raw: Mapping[str, Any]) -> CatalogVariant | None:
    external = numeric_id(raw.get("id"))
    if external is None:
        return None
    options = {
        str(a["name"]): str(a["option"])
        for a in raw.get("attributes") or []
        if isinstance(a, Mapping) and a.get("name") and a.get("option") is not None
    }
    sku = raw.get("sku")
    return CatalogVariant(
        external_id=external,
        title=" / ".join(options.values()) or str(sku or external),
        sku=str(sku) if isinstance(sku, str) and sku else None,
        options=options,
        price=money(raw.get("price")) if raw.get("price") not in (None, "") else None,
    )


def _names(items: object) -> list[Mapping[str, Any]]:
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def product_of(
    raw: Mapping[str, Any], variations: Iterable[Mapping[str, Any]] = ()
) -> CatalogProduct | None:
    """A REST v3 product (and its variations) as a ``CatalogProduct``.

    Categories become collections named by slug and by name, so the merchant's mapping can
    use either; tags by name. Images in the product's order (the first is the featured one),
    then the variations' own images."""
    external = numeric_id(raw.get("id"))
    if external is None:
        return None
    urls: list[str] = []
    images = _names(raw.get("images")) + [
        v["image"] for v in variations if isinstance(v.get("image"), Mapping)
    ]
    for image in images:
        src = image.get("src")
        if isinstance(src, str) and src and src not in urls:
            urls.append(src)
    collections: list[str] = []
    for category in _names(raw.get("categories")):
        for value in (category.get("slug"), category.get("name")):
            if isinstance(value, str) and value and value not in collections:
                collections.append(value)
    tags = tuple(
        str(t["name"]).strip() for t in _names(raw.get("tags")) if str(t.get("name", "")).strip()
    )
    variants = tuple(v for r in variations if (v := _variant_of(r)))
    slug = raw.get("slug")
    return CatalogProduct(
        external_id=external,
        title=str(raw.get("name") or ""),
        product_type=None,
        tags=tags[:50],
        collections=tuple(collections),
        images=tuple(urls),
        variants=variants,
        handle=slug if isinstance(slug, str) and slug else None,
        active=raw.get("status", "publish") == "publish",
    )


class WooCommerceAdapter:
    """The ``PlatformAdapter`` for WooCommerce (see ``gateway.platforms.protocol``).

    ``for_store`` gives an adapter bound to one store, the only kind that verifies webhooks
    (the route knows the store from the URL; the secret is the store's own)."""

    platform = Platform.WOOCOMMERCE

    def __init__(
        self,
        *,
        secret_key: str,
        page_size: int = 50,
        shop: str | None = None,
        store_key: str | None = None,
    ) -> None:
        self._secret_key = secret_key
        self.page_size = page_size
        self.shop = shop
        self.store_key = store_key

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> WooCommerceAdapter:
        return cls(
            secret_key=settings.secret_key.get_secret_value(),
            page_size=settings.woocommerce_page_size,
        )

    def for_store(self, *, shop: str, store_key: str) -> WooCommerceAdapter:
        """This adapter bound to the store at ``shop`` whose webhook path is ``store_key``."""
        return WooCommerceAdapter(
            secret_key=self._secret_key, page_size=self.page_size, shop=shop, store_key=store_key
        )

    def hook_secret(self, shop: str) -> str:
        return hook_secret(secret_key=self._secret_key, shop=shop)

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        """Check ``X-WC-Webhook-Signature`` with the bound store's secret (constant time).

        No timestamp is signed: a replay inside the dedupe window is caught by the delivery
        id, and every event makes the worker read the current order or product again, so an
        older replay changes nothing."""
        if self.shop is None or self.store_key is None:
            raise Unauthorized("The webhook names no store")
        given = headers.get("x-wc-webhook-signature", "")
        expected = signature(self.hook_secret(self.shop), body)
        if not given or not hmac.compare_digest(
            expected.encode(), given.strip().encode("ascii", "replace")
        ):
            raise Unauthorized("The webhook's signature is missing or wrong")
        topic = headers.get("x-wc-webhook-topic", "")
        delivery = headers.get("x-wc-webhook-delivery-id", "")
        hook = headers.get("x-wc-webhook-id", "")
        if not _TOPIC.fullmatch(topic):
            raise BadRequest("The webhook has no valid X-WC-Webhook-Topic")
        if not _DELIVERY.fullmatch(delivery) or (hook and not hook.isdigit()) or len(hook) > 20:
            raise BadRequest("The webhook has no valid X-WC-Webhook-Delivery-ID")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The webhook's body is not JSON") from None
        if not isinstance(payload, dict):
            raise BadRequest("The webhook's body is not a JSON object")
        return WebhookDelivery(
            delivery_id=f"{self.store_key}:{hook or '-'}:{delivery}",
            shop=self.shop,
            topic=topic,
            payload=payload,
        )

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        """Order hooks -> ``OrderReference``; product hooks -> changed/deleted (a variation's
        change is its parent product's)."""
        topic = delivery.topic
        payload = delivery.payload
        external = numeric_id(payload.get("id"))
        if topic.startswith("product."):
            parent = numeric_id(payload.get("parent_id"))
            if external is None:
                raise BadRequest("The product hook has no product id")
            if topic == "product.deleted":
                return [ProductChanged(parent)] if parent else [ProductDeleted(external)]
            if topic in {"product.created", "product.updated", "product.restored"}:
                return [ProductChanged(parent or external)]
            return []
        if topic in {"order.created", "order.updated", "order.restored"}:
            if external is None:
                raise BadRequest("The order hook has no order id")
            return [OrderReference(external_id=external)]
        return []

    # -- REST API ---------------------------------------------------------------------------

    def _url(self, connection: Connection, path: str) -> str:
        return f"{connection.shop}{API}{path}"

    def _headers(self, connection: Connection) -> dict[str, str]:
        secret = connection.secret or ""
        credentials = f"{connection.access_token}:{secret}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(credentials).decode(),
            "Accept": "application/json",
        }

    def _call(
        self,
        client: PlatformClient,
        connection: Connection,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> tuple[Any, Mapping[str, str]]:
        response = client.request(
            method,
            self._url(connection, path),
            headers=self._headers(connection),
            params=params,
            json=body,
            untrusted_host=True,
        )
        if response.status_code == 204 or not response.content:
            return None, response.headers
        try:
            return response.json(), response.headers
        except ValueError:
            raise InvalidInput(f"WooCommerce's answer to {path} is not JSON") from None

    def confirm_keys(self, *, client: PlatformClient, connection: Connection) -> None:
        """Prove the keys the callback brought open this store's REST API (one cheap read
        that needs them): keys made by another store are refused here (401)."""
        answer, _ = self._call(
            client, connection, "GET", "/products", params={"per_page": "1", "_fields": "id"}
        )
        if not isinstance(answer, list):
            raise InvalidInput("The store's REST API did not answer a product list")

    def _variations(
        self, client: PlatformClient, connection: Connection, product_id: str
    ) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for page in range(1, MAX_VARIATION_PAGES + 1):
            answer, headers = self._call(
                client,
                connection,
                "GET",
                f"/products/{product_id}/variations",
                params={"per_page": "100", "page": str(page)},
            )
            found.extend(_names(answer))
            if page >= _total_pages(headers):
                break
        return found

    def _product(
        self, client: PlatformClient, connection: Connection, raw: Mapping[str, Any]
    ) -> CatalogProduct | None:
        external = numeric_id(raw.get("id"))
        variable = raw.get("type") == "variable" and bool(raw.get("variations"))
        variations = self._variations(client, connection, external) if external and variable else []
        return product_of(raw, variations)

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        """One page of ``/products`` (every status, oldest first; ``cursor``: the page) with
        each variable product's variations."""
        page = int(cursor) if cursor and cursor.isdigit() else 1
        answer, headers = self._call(
            client,
            connection,
            "GET",
            "/products",
            params={
                "per_page": str(self.page_size),
                "page": str(page),
                "orderby": "id",
                "order": "asc",
                "status": "any",
            },
        )
        if not isinstance(answer, list):
            raise InvalidInput("WooCommerce's products answer is not a list")
        products = [p for raw in _names(answer) if (p := self._product(client, connection, raw))]
        following = str(page + 1) if page < _total_pages(headers) else None
        return CatalogPage(products=products, next_cursor=following)

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        """One product; None when WooCommerce answers 404 (deleted) or it is in the trash."""
        if numeric_id(external_id) is None:
            return None
        try:
            answer, _ = self._call(client, connection, "GET", f"/products/{external_id}")
        except PlatformRejected as exc:
            if exc.extensions.get("platform_status") == 404:
                return None
            raise
        if not isinstance(answer, Mapping) or answer.get("status") == "trash":
            return None
        return self._product(client, connection, answer)

    def fetch_order(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> OrderChanged | None:
        """The order with every line item's meta (``_tryon_session`` starts with ``_``, which
        WooCommerce hides unless ``all_item_meta`` asks); None when gone or not a purchase."""
        if numeric_id(external_id) is None:
            return None
        try:
            answer, _ = self._call(
                client,
                connection,
                "GET",
                f"/orders/{external_id}",
                params={"all_item_meta": "true"},
            )
        except PlatformRejected as exc:
            if exc.extensions.get("platform_status") == 404:
                return None
            raise
        if not isinstance(answer, Mapping):
            return None
        return order_of(answer, shop=connection.shop)

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        """Hooks for ``HOOK_TOPICS`` to ``{callback_url}/{store id}`` with the store's secret.

        Idempotent: what is right is left alone; a hook of ours (its delivery URL under
        ``callback_url``) with a stale URL, secret or status, or a second one of a topic, is
        deleted and made again. ``context=edit`` is what makes WooCommerce show secrets."""
        store_key = connection.extra.get(WEBHOOK_KEY)
        if not store_key:
            raise InvalidInput("The installation has no webhook key")
        destination = f"{callback_url.rstrip('/')}/{store_key}"
        secret = self.hook_secret(connection.shop)
        present: set[str] = set()
        for hook in self._hooks(client, connection):
            url = str(hook.get("delivery_url") or "")
            if not url.startswith(callback_url.rstrip("/") + "/"):
                continue  # the merchant's own hooks
            topic = str(hook.get("topic") or "")
            ok = (
                topic in HOOK_TOPICS
                and url == destination
                and hook.get("secret") == secret
                and hook.get("status") == "active"
                and topic not in present
            )
            if ok:
                present.add(topic)
            elif (hook_id := numeric_id(hook.get("id"))) is not None:
                self._call(
                    client, connection, "DELETE", f"/webhooks/{hook_id}", params={"force": "true"}
                )
        for topic in HOOK_TOPICS:
            if topic not in present:
                self._call(
                    client,
                    connection,
                    "POST",
                    "/webhooks",
                    body={
                        "name": f"{HOOK_NAME}: {topic}",
                        "topic": topic,
                        "delivery_url": destination,
                        "secret": secret,
                        "status": "active",
                    },
                )

    def _hooks(self, client: PlatformClient, connection: Connection) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for page in range(1, 21):
            answer, headers = self._call(
                client,
                connection,
                "GET",
                "/webhooks",
                params={"per_page": "100", "page": str(page), "context": "edit"},
            )
            found.extend(_names(answer))
            if page >= _total_pages(headers):
                break
        return found

    # -- tokens ---------------------------------------------------------------------------

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        """WooCommerce keys do not expire."""
        return tokens

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        """Nothing to call: the REST API cannot delete its own key; the merchant revokes it
        under WooCommerce > Settings > Advanced > REST API (the README says so)."""
        log.info("woocommerce.revoke", shop=connection.shop)


def _total_pages(headers: Mapping[str, str]) -> int:
    """``X-WP-TotalPages``: WordPress's page count of a collection (1 when absent)."""
    value = str(headers.get("x-wp-totalpages", "1")).strip()
    return int(value) if value.isdigit() and len(value) < 7 else 1
