"""``ShopifyAdapter``: Shopify's webhooks, GraphQL Admin API catalog and tokens.

Ids: products and variants are named by their numeric legacy ids as strings (``"632910392"``),
the same ids Liquid's ``product.id`` / ``variant.id`` give the widget and the order webhooks
give as ``product_id`` / ``variant_id``, so try-ons, catalog and orders join. Orders are named
by their numeric id too (``"820982911946154508"``), which the web pixel also reports.

Pure protocol code: no database. Every call to Shopify goes through the ``PlatformClient``
(GraphQL Admin API only; REST is used for nothing but the OAuth token endpoint and the
revocation endpoint, which have no GraphQL form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from gateway.errors import BadRequest, GatewayError, InvalidInput, Unauthorized
from gateway.orders.schemas import OrderIn, OrderLineIn
from gateway.platforms.protocol import (
    AppUninstalled,
    CatalogPage,
    CatalogProduct,
    CatalogVariant,
    Connection,
    CustomerDataRequest,
    CustomerRedact,
    DomainEvent,
    OrderChanged,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    ShopRedact,
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.shopify import oauth
from gateway.platforms.values import money as _money
from gateway.platforms.values import numeric_id
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform

if TYPE_CHECKING:
    from gateway.platforms.http import PlatformClient

log = structlog.get_logger(__name__)

LINE_SESSION = "_tryon_session"
"""The line item property the widget writes (docs/attribution.md)."""
CART_SESSION = "_tryon_widget_session"
"""The cart attribute the widget writes."""

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105 - a URN
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105
REFRESH_MARGIN = timedelta(minutes=5)
"""A token with less than this left is refreshed before use."""

TOML_TOPICS = ("customers/data_request", "customers/redact", "shop/redact", "app/uninstalled")
"""Declared in plugins/shopify/shopify.app.toml (compliance topics can only be declared there,
and app/uninstalled must work before our first API call)."""
API_TOPICS = (
    "products/create",
    "products/update",
    "products/delete",
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "refunds/create",
)
"""Subscribed per shop with ``webhookSubscriptionCreate`` by ``ensure_webhooks``."""

_ORDER_STATUS = {
    "orders/create": OrderStatus.CREATED,
    "orders/paid": OrderStatus.CREATED,
    "orders/updated": OrderStatus.UPDATED,
    "orders/cancelled": OrderStatus.CANCELLED,
}

_PRODUCT_FIELDS = """
      id legacyResourceId title handle productType tags status
      featuredImage { url }
      images(first: 5) { nodes { url } }
      collections(first: 5) { nodes { handle title } }
      options { name values }
      variants(first: 30) {
        nodes { id title sku price availableForSale selectedOptions { name value } }
      }
"""
"""About 48 cost points per product (connections cost ``first`` x their nodes): a page of 20
stays under Shopify's 1,000-point limit for one query. Products are read with their first 30
variants, 5 images and 5 collections (enough for try-on products; the rest is not needed)."""
PRODUCTS_QUERY = (
    "query Products($first: Int!, $after: String) {\n"
    "  products(first: $first, after: $after) {\n"
    f"    nodes {{{_PRODUCT_FIELDS}    }}\n"
    "    pageInfo { hasNextPage endCursor }\n"
    "  }\n"
    "}"
)
PRODUCT_QUERY = f"query Product($id: ID!) {{\n  product(id: $id) {{{_PRODUCT_FIELDS}  }}\n}}"
SHOP_QUERY = "query { shop { primaryDomain { url host } myshopifyDomain } }"
SUBSCRIPTIONS_QUERY = """query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SUBSCRIPTION_CREATE = """mutation Create($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(
    topic: $topic, webhookSubscription: { callbackUrl: $url, format: JSON }
  ) {
    webhookSubscription { id }
    userErrors { field message }
  }
}"""
SUBSCRIPTION_DELETE = """mutation Delete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""


PIXEL_CREATE = """mutation PixelCreate($settings: JSON!) {
  webPixelCreate(webPixel: { settings: $settings }) {
    userErrors { field message code }
    webPixel { id settings }
  }
}"""
PIXEL_QUERY = "query { webPixel { id settings } }"
PIXEL_UPDATE = """mutation PixelUpdate($id: ID!, $settings: JSON!) {
  webPixelUpdate(id: $id, webPixel: { settings: $settings }) {
    userErrors { field message code }
    webPixel { id settings }
  }
}"""


def webhook_hmac(body: bytes, *, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body under the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def topic_enum(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (GraphQL's ``WebhookSubscriptionTopic``)."""
    return topic.replace("/", "_").upper()


def legacy_id(gid_or_id: object) -> str | None:
    """``gid://shopify/Product/123`` or ``123`` -> ``"123"`` (``values.numeric_id`` of the
    tail); None when there is no id."""
    if gid_or_id is None or isinstance(gid_or_id, bool):
        return None
    return numeric_id(str(gid_or_id).strip().rsplit("/", 1)[-1].split("?", 1)[0])


def needs_refresh(tokens: Tokens, *, now: datetime) -> bool:
    """Whether ``tokens`` expire within five minutes (and can be refreshed)."""
    return (
        tokens.expires_at is not None
        and tokens.refresh_token is not None
        and tokens.expires_at - now < REFRESH_MARGIN
    )


def tokens_from(answer: Mapping[str, Any], *, now: datetime) -> Tokens:
    """``Tokens`` from an access-token answer (``BadRequest`` when it has no token)."""
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise BadRequest("Shopify's token answer has no access token")
    scopes = tuple(sorted(oauth.granted_scopes(str(answer.get("scope") or ""))))

    def after(key: str) -> datetime | None:
        value = answer.get(key)
        return now + timedelta(seconds=int(value)) if isinstance(value, int) else None

    refresh = answer.get("refresh_token")
    return Tokens(
        access_token=access,
        scopes=scopes,
        expires_at=after("expires_in"),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=after("refresh_token_expires_in"),
    )


def properties_of(raw: object) -> dict[str, str]:
    """Line item properties or note attributes as a dict, whichever shape Shopify used.

    Webhooks give ``[{"name": k, "value": v}]``; the web pixel gives ``[{"key": k, "value": v}]``;
    some payloads give a plain object.
    """
    found: dict[str, str] = {}
    if isinstance(raw, Mapping):
        items: Iterable[tuple[object, object]] = raw.items()
    elif isinstance(raw, list):
        items = (
            (entry.get("name", entry.get("key")), entry.get("value"))
            for entry in raw
            if isinstance(entry, Mapping)
        )
    else:
        return found
    for key, value in items:
        if isinstance(key, str) and isinstance(value, str | int) and not isinstance(value, bool):
            found.setdefault(key, str(value))
    return found


def session_id(value: str | None) -> str | None:
    """A session id as the warehouse takes it, or None (forged or mangled values join nothing
    anyway; dropping them keeps the rest of the order)."""
    if value is None or not 8 <= len(value) <= 64:
        return None
    return value if all(c.isascii() and (c.isalnum() or c in "_-") for c in value) else None


def _line_of(item: Mapping[str, Any]) -> OrderLineIn | None:
    product = legacy_id(item.get("product_id"))
    if product is None:
        # A custom line (no product): keep its value in the order, named by the line id.
        line = legacy_id(item.get("id"))
        product = f"custom-line-{line}" if line else None
    price = _money(item.get("price"))
    quantity = item.get("quantity")
    if product is None or price is None or not isinstance(quantity, int) or quantity < 1:
        return None
    props = properties_of(item.get("properties"))
    return OrderLineIn(
        product_id=product,
        variant_id=legacy_id(item.get("variant_id")),
        quantity=quantity,
        price=price,
        tryon_session_id=session_id(props.get(LINE_SESSION)),
    )


def order_of(payload: Mapping[str, Any], *, shop: str) -> OrderIn:
    """The ``POST /v1/orders`` body of an order webhook payload; ``BadRequest`` if unusable."""
    order_id = legacy_id(payload.get("id"))
    total = _money(payload.get("current_total_price", payload.get("total_price")))
    currency = payload.get("currency")
    items = payload.get("line_items")
    if order_id is None or total is None or not isinstance(items, list):
        raise BadRequest("The order has no id, total or line items")
    lines = [line for item in items if isinstance(item, Mapping) if (line := _line_of(item))]
    attributes = properties_of(payload.get("note_attributes"))
    try:
        return OrderIn(
            order_id=order_id,
            occurred_at=payload.get("created_at"),
            revenue=total,
            currency=currency,
            lines=lines,
            widget_session_id=session_id(attributes.get(CART_SESSION)),
            store=shop,
        )
    except ValidationError as exc:
        raise BadRequest(f"The order cannot be read: {exc.error_count()} invalid fields") from None


def refunded_total(payload: Mapping[str, Any]) -> Decimal | None:
    """What an order's ``refunds`` paid back so far (successful refund transactions)."""
    refunds = payload.get("refunds")
    if not isinstance(refunds, list):
        return None
    total = Decimal(0)
    for refund in refunds:
        if isinstance(refund, Mapping):
            total += _refund_amount(refund)
    return total


def _refund_amount(refund: Mapping[str, Any]) -> Decimal:
    amount = Decimal(0)
    transactions = refund.get("transactions")
    for tx in transactions if isinstance(transactions, list) else []:
        if (
            isinstance(tx, Mapping)
            and tx.get("kind") == "refund"
            and tx.get("status") in {"success", None}
            and (value := _money(tx.get("amount"))) is not None
        ):
            amount += Decimal(value)
    return amount


def _refund_event(payload: Mapping[str, Any], *, shop: str) -> OrderChanged:
    """``refunds/create``: the refunded lines of the order. Its body names one refund, not the
    order's total refunded so far, so ``refunded`` is None; ``orders/updated``, which Shopify
    sends after every refund, carries the total."""
    items = payload.get("refund_line_items")
    lines = []
    for entry in items if isinstance(items, list) else []:
        item = entry.get("line_item") if isinstance(entry, Mapping) else None
        if isinstance(item, Mapping) and (line := _line_of(item)):
            lines.append(line)
    transactions = payload.get("transactions")
    currencies = [
        tx.get("currency")
        for tx in (transactions if isinstance(transactions, list) else [])
        if isinstance(tx, Mapping)
    ]
    order_id = legacy_id(payload.get("order_id"))
    if order_id is None:
        raise BadRequest("The refund names no order")
    try:
        order = OrderIn(
            order_id=order_id,
            revenue=_money(_refund_amount(payload)) or "0",
            currency=next((c for c in currencies if isinstance(c, str)), "XXX"),
            lines=lines,
            store=shop,
        )
    except ValidationError as exc:
        raise BadRequest(f"The refund cannot be read: {exc.error_count()} invalid fields") from None
    return OrderChanged(status=OrderStatus.REFUNDED, order=order, refunded=None)


def _order_event(topic: str, payload: Mapping[str, Any], *, shop: str) -> OrderChanged:
    status = _ORDER_STATUS[topic]
    refunded = refunded_total(payload)
    if status is OrderStatus.UPDATED and payload.get("financial_status") in {
        "refunded",
        "partially_refunded",
    }:
        status = OrderStatus.REFUNDED
    if status is OrderStatus.UPDATED and payload.get("cancelled_at"):
        status = OrderStatus.CANCELLED
    return OrderChanged(status=status, order=order_of(payload, shop=shop), refunded=refunded)


def _ids(raw: object) -> tuple[str, ...]:
    values = raw if isinstance(raw, list) else []
    return tuple(i for v in values if (i := legacy_id(v)) is not None)


def _customer_ref(payload: Mapping[str, Any]) -> str:
    customer = payload.get("customer")
    ref = legacy_id(customer.get("id")) if isinstance(customer, Mapping) else None
    if ref is None:
        raise BadRequest("The request names no customer")
    return ref


def _variant_of(node: Mapping[str, Any]) -> CatalogVariant | None:
    external = legacy_id(node.get("id"))
    if external is None:
        return None
    options = {
        str(o["name"]): str(o["value"])
        for o in node.get("selectedOptions") or []
        if isinstance(o, Mapping) and "name" in o and "value" in o
    }
    price = node.get("price")
    return CatalogVariant(
        external_id=external,
        title=str(node.get("title") or ""),
        sku=str(node["sku"]) if node.get("sku") else None,
        options=options,
        price=_money(price) if price is not None else None,
        available=node["availableForSale"]
        if isinstance(node.get("availableForSale"), bool)
        else None,
    )


def product_of(node: Mapping[str, Any]) -> CatalogProduct | None:
    """A GraphQL ``Product`` node as a ``CatalogProduct`` (None without a usable id)."""
    external = legacy_id(node.get("legacyResourceId")) or legacy_id(node.get("id"))
    if external is None:
        return None
    images: list[str] = []
    featured = node.get("featuredImage")
    if isinstance(featured, Mapping) and isinstance(featured.get("url"), str):
        images.append(featured["url"])
    for image in _nodes(node.get("images")):
        url = image.get("url")
        if isinstance(url, str) and url not in images:
            images.append(url)
    collections = tuple(
        str(c.get("handle") or c.get("title"))
        for c in _nodes(node.get("collections"))
        if c.get("handle") or c.get("title")
    )
    variants = tuple(v for n in _nodes(node.get("variants")) if (v := _variant_of(n)))
    tags = node.get("tags")
    return CatalogProduct(
        external_id=external,
        title=str(node.get("title") or ""),
        product_type=str(node["productType"]) if node.get("productType") else None,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        collections=collections,
        images=tuple(images),
        variants=variants,
        handle=str(node["handle"]) if node.get("handle") else None,
        active=str(node.get("status") or "ACTIVE").upper() == "ACTIVE",
    )


def _nodes(connection: object) -> list[Mapping[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    nodes = connection.get("nodes")
    return [n for n in nodes if isinstance(n, Mapping)] if isinstance(nodes, list) else []


class ShopifyAdapter:
    """The ``PlatformAdapter`` for Shopify (see ``gateway.platforms.protocol``)."""

    platform = Platform.SHOPIFY

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        api_version: str,
        page_size: int = 20,
        clock: Any = None,
    ) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self.api_version = api_version
        self.page_size = page_size
        self._clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> ShopifyAdapter:
        return cls(
            api_key=settings.shopify_api_key,
            api_secret=settings.shopify_api_secret.get_secret_value(),
            api_version=settings.shopify_api_version,
            page_size=settings.shopify_page_size,
        )

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        """Check ``X-Shopify-Hmac-Sha256`` on the raw body, then read the delivery.

        The signature covers the body only: the headers (topic, shop, webhook id) are not
        signed, so the shop is also checked against the body where the topic names it, and
        every handler is idempotent (a replayed body changes nothing it has not already).
        """
        given = headers.get("x-shopify-hmac-sha256", "")
        if not self._secret or not given:
            raise Unauthorized("The webhook is not signed")
        expected = webhook_hmac(body, secret=self._secret)
        if not hmac.compare_digest(expected.encode(), given.strip().encode("ascii", "replace")):
            raise Unauthorized("The webhook's signature is wrong")
        topic = headers.get("x-shopify-topic", "").strip().lower()
        shop = headers.get("x-shopify-shop-domain", "").strip()
        delivery_id = headers.get("x-shopify-webhook-id", "").strip()
        if not topic or len(topic) > 64 or not oauth.is_shop_domain(shop):
            raise BadRequest("The webhook has no valid topic or shop domain")
        if not delivery_id or len(delivery_id) > 128 or not delivery_id.isprintable():
            raise BadRequest("The webhook has no valid X-Shopify-Webhook-Id")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise BadRequest("The webhook body is not a JSON object")
        named = payload.get("shop_domain")
        if isinstance(named, str) and named.lower() != shop.lower():
            raise BadRequest("The webhook's body and headers name different shops")
        return WebhookDelivery(
            delivery_id=delivery_id,
            shop=shop.lower(),
            topic=topic,
            payload=payload,
            occurred_at=_parse_time(headers.get("x-shopify-triggered-at")),
        )

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        """The domain events of each topic we subscribe to (``[]`` for any other)."""
        topic, payload, shop = delivery.topic, delivery.payload, delivery.shop
        if topic == "app/uninstalled":
            return [AppUninstalled()]
        if topic == "shop/redact":
            return [ShopRedact()]
        if topic == "customers/redact":
            return [
                CustomerRedact(
                    customer_ref=_customer_ref(payload),
                    order_ids=_ids(payload.get("orders_to_redact")),
                )
            ]
        if topic == "customers/data_request":
            request = payload.get("data_request")
            request_ref = legacy_id(request.get("id")) if isinstance(request, Mapping) else None
            return [
                CustomerDataRequest(
                    customer_ref=_customer_ref(payload),
                    order_ids=_ids(payload.get("orders_requested")),
                    request_ref=request_ref,
                )
            ]
        if topic in {"products/create", "products/update", "products/delete"}:
            external = legacy_id(payload.get("id"))
            if external is None:
                raise BadRequest("The product has no id")
            if topic == "products/delete":
                return [ProductDeleted(external)]
            return [ProductChanged(external)]
        if topic in _ORDER_STATUS:
            return [_order_event(topic, payload, shop=shop)]
        if topic == "refunds/create":
            return [_refund_event(payload, shop=shop)]
        return []

    # -- Admin API ------------------------------------------------------------------------

    def graphql_url(self, shop: str) -> str:
        return f"https://{shop}/admin/api/{self.api_version}/graphql.json"

    def _graphql(
        self,
        client: PlatformClient,
        connection: Connection,
        query: str,
        variables: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return client.graphql(
            self.graphql_url(connection.shop),
            query=query,
            variables=dict(variables) if variables else None,
            headers={"X-Shopify-Access-Token": connection.access_token},
        )

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        """One page of products (``TRYON_SHOPIFY_PAGE_SIZE``), newest cursor first."""
        data = self._graphql(
            client, connection, PRODUCTS_QUERY, {"first": self.page_size, "after": cursor}
        )
        products = data.get("products")
        if not isinstance(products, Mapping):
            raise InvalidInput("Shopify's products answer has no products")
        page_info = products.get("pageInfo")
        info = page_info if isinstance(page_info, Mapping) else {}
        next_cursor = info.get("endCursor") if info.get("hasNextPage") else None
        return CatalogPage(
            products=[p for n in _nodes(products) if (p := product_of(n))],
            next_cursor=str(next_cursor) if next_cursor else None,
        )

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        """One product by its numeric id; None when Shopify has no such product."""
        if legacy_id(external_id) is None:
            return None
        data = self._graphql(
            client, connection, PRODUCT_QUERY, {"id": f"gid://shopify/Product/{external_id}"}
        )
        node = data.get("product")
        return product_of(node) if isinstance(node, Mapping) else None

    def fetch_shop(self, *, client: PlatformClient, connection: Connection) -> dict[str, str]:
        """The shop's primary (storefront) domain, for the widget key's allowed origins."""
        data = self._graphql(client, connection, SHOP_QUERY)
        shop = data.get("shop") if isinstance(data.get("shop"), Mapping) else {}
        primary = shop.get("primaryDomain") if isinstance(shop, Mapping) else None
        host = primary.get("host") if isinstance(primary, Mapping) else None
        return {"primary_domain": str(host)} if isinstance(host, str) and host else {}

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        """Subscribe ``API_TOPICS`` to ``callback_url``; drop ours that point elsewhere.

        Idempotent: a topic already subscribed to ``callback_url`` is left alone.
        """
        existing = self._subscriptions(client, connection)
        wanted = {topic_enum(t) for t in API_TOPICS}
        present: set[str] = set()
        for sub_id, topic, url in existing:
            if topic not in wanted:
                continue
            if url == callback_url and topic not in present:
                present.add(topic)
            else:
                self._mutate(client, connection, SUBSCRIPTION_DELETE, {"id": sub_id})
        for topic in sorted(wanted - present):
            self._mutate(
                client, connection, SUBSCRIPTION_CREATE, {"topic": topic, "url": callback_url}
            )

    def _subscriptions(
        self, client: PlatformClient, connection: Connection
    ) -> list[tuple[str, str, str | None]]:
        found: list[tuple[str, str, str | None]] = []
        cursor: str | None = None
        for _ in range(20):  # 2,000 subscriptions: far more than one app has
            data = self._graphql(client, connection, SUBSCRIPTIONS_QUERY, {"after": cursor})
            subs = data.get("webhookSubscriptions")
            for node in _nodes(subs):
                endpoint = node.get("endpoint")
                url = endpoint.get("callbackUrl") if isinstance(endpoint, Mapping) else None
                url = url or node.get("callbackUrl") or node.get("uri")
                found.append((str(node.get("id")), str(node.get("topic")), url))
            info = subs.get("pageInfo") if isinstance(subs, Mapping) else None
            if not isinstance(info, Mapping) or not info.get("hasNextPage"):
                break
            cursor = str(info.get("endCursor"))
        return found

    def _mutate(
        self,
        client: PlatformClient,
        connection: Connection,
        mutation: str,
        variables: Mapping[str, Any],
    ) -> None:
        data = self._graphql(client, connection, mutation, variables)
        for result in data.values():
            errors = result.get("userErrors") if isinstance(result, Mapping) else None
            if errors:
                messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
                raise InvalidInput(f"Shopify refused a webhook subscription: {messages}")

    def ensure_pixel(
        self, *, client: PlatformClient, connection: Connection, api_base: str, key: str
    ) -> None:
        """Activate our web pixel extension on the shop with its settings (``apiBase``,
        ``publishableKey``: plugins/shopify/extensions/tryon-pixel); idempotent: a pixel the
        app already has is updated instead."""
        settings = json.dumps({"apiBase": api_base, "publishableKey": key}, sort_keys=True)
        data = self._graphql(client, connection, PIXEL_CREATE, {"settings": settings})
        result = data.get("webPixelCreate")
        errors = result.get("userErrors") if isinstance(result, Mapping) else None
        if not errors:
            return
        if not any(isinstance(e, Mapping) and e.get("code") == "TAKEN" for e in errors):
            messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping))
            raise InvalidInput(f"Shopify refused the web pixel: {messages}")
        found = self._graphql(client, connection, PIXEL_QUERY).get("webPixel")
        if not isinstance(found, Mapping) or not found.get("id"):
            raise InvalidInput("Shopify says the web pixel exists but does not return it")
        if found.get("settings") and _same_json(found.get("settings"), settings):
            return
        self._mutate(
            client, connection, PIXEL_UPDATE, {"id": str(found["id"]), "settings": settings}
        )

    # -- tokens ---------------------------------------------------------------------------

    def token_url(self, shop: str) -> str:
        return f"https://{shop}/admin/oauth/access_token"

    def _token(self, client: PlatformClient, shop: str, form: Mapping[str, str]) -> Tokens:
        response = client.request(
            "POST",
            self.token_url(shop),
            data={"client_id": self.api_key, "client_secret": self._secret, **form},
            headers={"Accept": "application/json"},
        )
        try:
            answer = response.json()
        except ValueError:
            raise BadRequest("Shopify's token answer is not JSON") from None
        if not isinstance(answer, Mapping):
            raise BadRequest("Shopify's token answer is not a JSON object")
        return tokens_from(answer, now=self._clock())

    def exchange_code(self, *, client: PlatformClient, shop: str, code: str) -> Tokens:
        """The install callback's ``code`` for an expiring offline token (``expiring=1``)."""
        return self._token(client, shop, {"code": code, "expiring": "1"})

    def exchange_session_token(
        self, *, client: PlatformClient, shop: str, session_token: str
    ) -> Tokens:
        """An embedded page's session token for an expiring offline token (token exchange)."""
        return self._token(
            client,
            shop,
            {
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": session_token,
                "subject_token_type": ID_TOKEN,
                "requested_token_type": OFFLINE_TOKEN,
                "expiring": "1",
            },
        )

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        """New tokens from the refresh token; tokens without one are returned as they are."""
        if tokens.refresh_token is None:
            return tokens
        fresh = self._token(
            client,
            connection.shop,
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
        )
        # Shopify may answer without the scope on a refresh: the grant has not changed.
        return fresh if fresh.scopes else Tokens(**{**fresh.__dict__, "scopes": tokens.scopes})

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        """Give the token back (``DELETE api_permissions/current.json``); failures are logged."""
        try:
            client.request(
                "DELETE",
                f"https://{connection.shop}/admin/api_permissions/current.json",
                headers={"X-Shopify-Access-Token": connection.access_token},
            )
        except GatewayError as exc:
            log.warning("shopify.revoke_failed", shop=connection.shop, error=type(exc).__name__)


def _parse_time(value: str | None) -> datetime | None:
    if not value or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _same_json(current: object, wanted: str) -> bool:
    try:
        parsed = json.loads(current) if isinstance(current, str) else current
    except ValueError:
        return False
    return bool(parsed == json.loads(wanted))
