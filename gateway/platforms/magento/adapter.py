"""``MagentoAdapter``: Magento 2's REST catalog and orders, OAuth 1.0a, and the module's posts.

Ids: products and variants by their entity ids as strings (``"2046"``), the id the module's
ViewModel gives the widget and the order items give as ``product_id`` (a configurable
product's line: the configurable's id, its chosen simple product as the variant). Orders by
their ``increment_id`` (what the merchant sees), delivered by entity id.

Magento Open Source sends no webhooks. Orders arrive two ways, deduplicated with each other:
the module's observer posts each placed order, signed (``signing``); and the core pulls
recent orders on a schedule (``pull_orders``, ``gateway.platforms.pulls``). Both become a
delivery whose id is the order's *attribution state*: ``order:{entity id}:{placed |
cancelled | refunded}:{amount refunded}``. A post and a pull of the same order are one job;
a pull after a post changes nothing (invoicing or shipping does not change that state);
an order cancelled or refunded later is a new delivery that updates the purchase.

The store's base URL is the merchant's (hostile input): every call goes through
``PlatformClient`` with ``untrusted_host=True`` (SSRF checks, pinned address). Search
criteria travel percent-encoded (``searchCriteria%5BpageSize%5D=50``) and are signed
decoded (OAuth 1.0a).

Credentials: ``Connection.access_token`` is the access token; ``Connection.secret`` holds the
consumer secret and the access token secret (``pack_secrets``); ``extra`` the base URL and
the consumer key. Pure protocol code: no database.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import structlog
from pydantic import ValidationError

from gateway.errors import BadRequest, InvalidInput, PlatformRejected, Unauthorized
from gateway.orders.schemas import OrderIn, OrderLineIn
from gateway.platforms.magento import oauth, signing
from gateway.platforms.protocol import (
    CatalogPage,
    CatalogProduct,
    CatalogVariant,
    Connection,
    DomainEvent,
    OrderChanged,
    OrderStatus,
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.values import money, numeric_id
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform

if TYPE_CHECKING:
    from gateway.platforms.http import PlatformClient

log = structlog.get_logger(__name__)

STORE_BASE_URL = "store_base_url"
CONSUMER_KEY = "consumer_key"
POST_TOPIC = "orders/post"
PULL_TOPIC = "orders/pull"
RESOURCES = ("Magento_Catalog::products", "Magento_Sales::sales")
"""What ``etc/integration/api.xml`` asks for: catalog and sales, read."""
MAX_PAGES = 40
"""A pull or category listing reads at most this many pages in one job."""
_VISIBLE = "2,3,4"
"""Catalog, search, or both: products shoppers can open (1 is "not visible individually",
the simple products inside a configurable)."""
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# -- values -------------------------------------------------------------------------------


def store_base_url(value: str, *, allow_http: bool) -> str:
    """The store's base URL as we keep it (``https://host[:port][/path]``, no trailing
    slash); ``InvalidInput`` for anything else. SSRF checks happen on every call."""
    if not value or len(value) > 255 or not value.isprintable() or value != value.strip():
        raise InvalidInput("store_base_url is not a URL")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidInput("store_base_url is not a URL") from None
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise InvalidInput("store_base_url must be an https URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise InvalidInput("store_base_url must name a host and no credentials")
    if parts.query or parts.fragment:
        raise InvalidInput("store_base_url takes no query or fragment")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/index.php"):
        path = path[: -len("/index.php")]
    return f"{parts.scheme}://{netloc}{path}"


def shop_of(base_url: str) -> str:
    """The installation's shop: the base URL's host (and port when not the default)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def pack_secrets(*, consumer_secret: str, token_secret: str) -> str:
    """What ``Store.secret_encrypted`` holds for Magento (encrypted by the caller)."""
    return json.dumps({"consumer_secret": consumer_secret, "token_secret": token_secret})


def credentials_of(connection: Connection) -> oauth.Credentials:
    """The connection's OAuth credentials; ``InvalidInput`` when the install lacks them."""
    try:
        packed = json.loads(connection.secret or "")
    except ValueError:
        packed = None
    key = connection.extra.get(CONSUMER_KEY)
    if not isinstance(packed, dict) or not key:
        raise InvalidInput("The Magento installation has no integration credentials")
    return oauth.Credentials(
        consumer_key=key,
        consumer_secret=str(packed.get("consumer_secret") or ""),
        token=connection.access_token,
        token_secret=str(packed.get("token_secret") or ""),
    )


def magento_time(value: object) -> datetime | None:
    """Magento's REST times (``2026-12-07 10:00:00``, UTC) or ISO 8601."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- orders ---------------------------------------------------------------------------------


def _quantity(value: object) -> int | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    if not math.isfinite(number) or number < 1 or number != int(number) or number > 10_000:
        return None
    return int(number)


_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _session(item: Mapping[str, Any], key: str = "tryon_session") -> str | None:
    ext = item.get("extension_attributes")
    value = ext.get(key) if isinstance(ext, Mapping) else None
    return value if isinstance(value, str) and value else None


def _widget_session(items: Iterable[Mapping[str, Any]]) -> str | None:
    """The order's widget session: the first item's ``tryon_widget_session`` extension
    attribute (the module keeps the add's widget session on the item, from
    ``TryOn.addedToCart`` for the page's own button), when it is a session id; it makes a
    holdout shopper's order count in their arm."""
    for item in items:
        value = _session(item, "tryon_widget_session")
        if value is not None and _SESSION_ID.fullmatch(value):
            return value
    return None


def _lines(items: Iterable[Mapping[str, Any]]) -> list[OrderLineIn]:
    """Top-level items as lines; a configurable's child item names its variant."""
    children: dict[str, str] = {}
    for item in items:
        parent = numeric_id(item.get("parent_item_id"))
        child = numeric_id(item.get("product_id"))
        if parent is not None and child is not None:
            children.setdefault(parent, child)
    lines: list[OrderLineIn] = []
    for item in items:
        if numeric_id(item.get("parent_item_id")) is not None:
            continue
        product = numeric_id(item.get("product_id"))
        quantity = _quantity(item.get("qty_ordered"))
        price = money(item.get("price_incl_tax", item.get("price")))
        if product is None or quantity is None or price is None:
            continue
        fields: dict[str, Any] = {
            "product_id": product,
            "variant_id": children.get(str(numeric_id(item.get("item_id")))),
            "quantity": quantity,
            "price": price,
        }
        session = _session(item)
        try:
            lines.append(OrderLineIn.model_validate({**fields, "tryon_session_id": session}))
        except ValidationError:  # a malformed session id loses the attribution, not the line
            lines.append(OrderLineIn.model_validate(fields))
    return lines


def _state(order: Mapping[str, Any]) -> tuple[OrderStatus, Decimal | None]:
    state = order.get("state")
    refunded_raw = money(order.get("total_refunded"))
    refunded = Decimal(refunded_raw) if refunded_raw is not None else None
    if state == "canceled":
        return OrderStatus.CANCELLED, refunded if refunded else None
    if state == "closed" or (refunded is not None and refunded > 0):
        return OrderStatus.REFUNDED, refunded if refunded else None
    return OrderStatus.CREATED, None


def order_of(order: Mapping[str, Any], *, shop: str) -> OrderChanged:
    """A REST order (``GET /V1/orders``) or the module's post of one, as an event."""
    order_id = order.get("increment_id")
    total = money(order.get("grand_total"))
    currency = order.get("order_currency_code")
    if not isinstance(order_id, str) or not order_id or total is None:
        raise BadRequest("The order has no increment id or total")
    items = [i for i in order.get("items") or [] if isinstance(i, Mapping)]
    placed = magento_time(order.get("created_at"))
    try:
        built = OrderIn(
            order_id=order_id,
            occurred_at=placed.isoformat() if placed else None,
            revenue=total,
            currency=currency.upper() if isinstance(currency, str) else currency,
            lines=_lines(items),
            widget_session_id=_widget_session(items),
            store=shop,
        )
    except ValidationError as exc:
        raise BadRequest(f"The order cannot be read: {exc.error_count()} invalid fields") from None
    status, refunded = _state(order)
    return OrderChanged(status=status, order=built, refunded=refunded)


def delivery_id(order: Mapping[str, Any]) -> str:
    """The order's attribution state (see the module doc): the dedupe key of post and pull."""
    entity = numeric_id(order.get("entity_id"))
    if entity is None:
        raise BadRequest("The order has no entity id")
    status, refunded = _state(order)
    kind = {OrderStatus.CANCELLED: "cancelled", OrderStatus.REFUNDED: "refunded"}.get(
        status, "placed"
    )
    amount = format(refunded.normalize(), "f") if refunded else "0"
    return f"order:{entity}:{kind}:{amount}"


def delivery_of(
    order: Mapping[str, Any], *, shop: str, topic: str, occurred_at: datetime | None = None
) -> WebhookDelivery:
    """The order as a delivery; ``BadRequest`` now (not in a job retried in vain) for an order
    that cannot be read."""
    order_of(order, shop=shop)
    return WebhookDelivery(
        delivery_id=delivery_id(order),
        shop=shop,
        topic=topic,
        payload={"order": dict(order)},
        occurred_at=occurred_at,
    )


# -- catalog --------------------------------------------------------------------------------


def _attributes(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(a["attribute_code"]): a.get("value")
        for a in raw.get("custom_attributes") or []
        if isinstance(a, Mapping) and isinstance(a.get("attribute_code"), str)
    }


def _images(raw: Mapping[str, Any], media_base: str) -> tuple[str, ...]:
    entries = [
        e
        for e in raw.get("media_gallery_entries") or []
        if isinstance(e, Mapping)
        and not e.get("disabled")
        and e.get("media_type", "image") == "image"
        and isinstance(e.get("file"), str)
    ]
    entries.sort(key=lambda e: ("image" not in (e.get("types") or []), e.get("position") or 0))
    urls: list[str] = []
    for entry in entries:
        url = f"{media_base.rstrip('/')}/catalog/product/{str(entry['file']).lstrip('/')}"
        if url not in urls:
            urls.append(url)
    return tuple(urls)


def product_of(
    raw: Mapping[str, Any],
    *,
    media_base: str,
    categories: Mapping[str, str],
    children: Sequence[Mapping[str, Any]] = (),
) -> CatalogProduct | None:
    """A REST product (``GET /V1/products``) as a ``CatalogProduct``: categories by id and
    name (for the merchant's mapping), ``meta_keyword`` as tags, a configurable's simple
    products as its variants."""
    external = numeric_id(raw.get("id"))
    if external is None:
        return None
    attributes = _attributes(raw)
    ext = raw.get("extension_attributes")
    links = ext.get("category_links") if isinstance(ext, Mapping) else None
    ids = [
        str(link.get("category_id"))
        for link in links or []
        if isinstance(link, Mapping) and numeric_id(link.get("category_id"))
    ]
    ids += [str(c) for c in attributes.get("category_ids") or [] if numeric_id(c)]
    collections: list[str] = []
    for cid in ids:
        for name in (cid, categories.get(cid)):
            if name and name not in collections:
                collections.append(name)
    keywords = attributes.get("meta_keyword")
    tags = tuple(
        k.strip() for k in (keywords.split(",") if isinstance(keywords, str) else []) if k.strip()
    )
    variants = tuple(
        CatalogVariant(
            external_id=child_id,
            title=str(child.get("name") or child.get("sku") or child_id),
            sku=str(child["sku"]) if child.get("sku") else None,
            price=money(child.get("price")),
        )
        for child in children
        if (child_id := numeric_id(child.get("id")))
    )
    url_key = attributes.get("url_key")
    return CatalogProduct(
        external_id=external,
        title=str(raw.get("name") or ""),
        product_type=None,
        tags=tags[:50],
        collections=tuple(collections),
        images=_images(raw, media_base),
        variants=variants,
        handle=url_key if isinstance(url_key, str) and url_key else None,
        active=raw.get("status", 1) in (1, "1"),
    )


def criteria(
    *,
    page: int,
    page_size: int,
    filters: Sequence[tuple[str, str, str]] = (),
    sort: tuple[str, str] | None = None,
) -> list[tuple[str, str]]:
    """``searchCriteria`` query pairs: each filter in its own group (AND), one sort order."""
    pairs: list[tuple[str, str]] = []
    for group, (field, value, condition) in enumerate(filters):
        prefix = f"searchCriteria[filterGroups][{group}][filters][0]"
        pairs += [
            (f"{prefix}[field]", field),
            (f"{prefix}[value]", value),
            (f"{prefix}[conditionType]", condition),
        ]
    if sort is not None:
        pairs += [
            ("searchCriteria[sortOrders][0][field]", sort[0]),
            ("searchCriteria[sortOrders][0][direction]", sort[1]),
        ]
    pairs += [
        ("searchCriteria[pageSize]", str(page_size)),
        ("searchCriteria[currentPage]", str(page)),
    ]
    return pairs


def _items(answer: object) -> list[Mapping[str, Any]]:
    items = answer.get("items") if isinstance(answer, Mapping) else None
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _has_more(answer: object, *, page: int, page_size: int) -> bool:
    """Magento answers a page past the end with the last page again: count, do not look."""
    total = answer.get("total_count") if isinstance(answer, Mapping) else None
    return isinstance(total, int) and not isinstance(total, bool) and page * page_size < total


class MagentoAdapter:
    """The ``PlatformAdapter`` for Magento 2 (see ``gateway.platforms.protocol``)."""

    platform = Platform.MAGENTO

    def __init__(
        self,
        *,
        page_size: int = 50,
        post_credentials: tuple[str, str, str] | None = None,
    ) -> None:
        self.page_size = page_size
        self._post = post_credentials
        """(shop, consumer key, consumer secret) when bound to one store's posts."""

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> MagentoAdapter:
        return cls(page_size=settings.magento_page_size)

    def for_posts(self, *, shop: str, consumer_key: str, consumer_secret: str) -> MagentoAdapter:
        """This adapter, verifying the posts of one store (its secret came from activation:
        there is no app-wide secret to check them with)."""
        return MagentoAdapter(
            page_size=self.page_size, post_credentials=(shop, consumer_key, consumer_secret)
        )

    # -- the module's posts -------------------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        """Check a post's signature (``signing``) and decode ``{"order": {...}}``."""
        if self._post is None:
            raise Unauthorized("No Magento store to check the post against")
        shop, consumer_key, secret = self._post
        signed_at = signing.verify(
            headers, body, secret=secret, shop=shop, consumer_key=consumer_key, now=now
        )
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The post is not JSON") from None
        order = payload.get("order") if isinstance(payload, dict) else None
        if not isinstance(order, dict):
            raise BadRequest("The post has no order object")
        return delivery_of(order, shop=shop, topic=POST_TOPIC, occurred_at=signed_at)

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        """A posted or pulled order -> ``OrderChanged``."""
        if delivery.topic not in (POST_TOPIC, PULL_TOPIC):
            return []
        order = delivery.payload.get("order")
        if not isinstance(order, Mapping):
            raise BadRequest("The delivery has no order")
        return [order_of(order, shop=delivery.shop)]

    # -- REST ---------------------------------------------------------------------------------

    def _get(
        self,
        client: PlatformClient,
        connection: Connection,
        path: str,
        query: Sequence[tuple[str, str]] = (),
    ) -> Any:
        base = connection.extra.get(STORE_BASE_URL)
        if not base:
            raise InvalidInput("The Magento installation has no store base URL")
        url = f"{base}/rest/V1{path}"
        if query:
            url += "?" + urlencode(list(query), quote_via=quote)
        credentials = credentials_of(connection)
        response = client.request(
            "GET", url, headers=oauth.rest_headers(credentials, "GET", url), untrusted_host=True
        )
        try:
            return response.json()
        except ValueError:
            raise InvalidInput(f"Magento's answer to {path} is not JSON") from None

    def _media_base(self, client: PlatformClient, connection: Connection) -> str:
        """The store's media URL (``/V1/store/storeConfigs``), else ``{base}/media`` (the
        store configuration needs ``Magento_Backend::store``, which ``api.xml`` does not ask
        for: a store that refuses it still syncs, with Magento's default media path)."""
        try:
            answer = self._get(client, connection, "/store/storeConfigs")
        except PlatformRejected as exc:  # 401/403 included (PlatformAuthFailed)
            log.info("magento.store_configs_refused", status=exc.extensions.get("platform_status"))
            answer = None
        for config in answer if isinstance(answer, list) else []:
            if isinstance(config, Mapping):
                url = config.get("secure_base_media_url") or config.get("base_media_url")
                if isinstance(url, str) and url.startswith(("https://", "http://")):
                    return url
        return f"{connection.extra.get(STORE_BASE_URL, '')}/media"

    def _categories(self, client: PlatformClient, connection: Connection) -> dict[str, str]:
        names: dict[str, str] = {}
        for page in range(1, MAX_PAGES + 1):
            answer = self._get(
                client,
                connection,
                "/categories/list",
                criteria(page=page, page_size=300),
            )
            for item in _items(answer):
                cid, name = numeric_id(item.get("id")), item.get("name")
                if cid and isinstance(name, str):
                    names[cid] = name
            if not _has_more(answer, page=page, page_size=300):
                break
        return names

    def _children(
        self, client: PlatformClient, connection: Connection, raw: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        sku = raw.get("sku")
        if raw.get("type_id") != "configurable" or not isinstance(sku, str) or not sku:
            return []
        answer = self._get(
            client, connection, f"/configurable-products/{quote(sku, safe='')}/children"
        )
        return [c for c in answer if isinstance(c, Mapping)] if isinstance(answer, list) else []

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        """One page of visible products (``cursor``: the page number)."""
        page = int(cursor) if cursor and cursor.isdigit() and int(cursor) > 0 else 1
        answer = self._get(
            client,
            connection,
            "/products",
            criteria(
                page=page,
                page_size=self.page_size,
                filters=[("visibility", _VISIBLE, "in")],
                sort=("entity_id", "ASC"),
            ),
        )
        if not isinstance(answer, Mapping) or not isinstance(answer.get("items"), list):
            raise InvalidInput("Magento's products answer has no items")
        media = self._media_base(client, connection)
        names = self._categories(client, connection)
        products = [
            p
            for raw in _items(answer)
            if (
                p := product_of(
                    raw,
                    media_base=media,
                    categories=names,
                    children=self._children(client, connection, raw),
                )
            )
        ]
        more = _has_more(answer, page=page, page_size=self.page_size)
        return CatalogPage(products=products, next_cursor=str(page + 1) if more else None)

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        """One product by entity id; None when Magento has none."""
        if numeric_id(external_id) is None:
            return None
        try:
            answer = self._get(
                client,
                connection,
                "/products",
                criteria(page=1, page_size=1, filters=[("entity_id", external_id, "eq")]),
            )
        except PlatformRejected as exc:
            if exc.extensions.get("platform_status") == 404:
                return None
            raise
        items = _items(answer)
        if not items:
            return None
        return product_of(
            items[0],
            media_base=self._media_base(client, connection),
            categories=self._categories(client, connection),
            children=self._children(client, connection, items[0]),
        )

    def pull_orders(
        self, *, client: PlatformClient, connection: Connection, since: datetime
    ) -> list[WebhookDelivery]:
        """Orders updated since ``since`` (oldest first), as deliveries (``OrderPuller``)."""
        stamp = since.astimezone(UTC).strftime(_TIME_FORMAT)
        found: list[WebhookDelivery] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self._get(
                client,
                connection,
                "/orders",
                criteria(
                    page=page,
                    page_size=self.page_size,
                    filters=[("updated_at", stamp, "gteq")],
                    sort=("updated_at", "ASC"),
                ),
            )
            for order in _items(answer):
                try:
                    found.append(delivery_of(order, shop=connection.shop, topic=PULL_TOPIC))
                except BadRequest as exc:
                    log.info("magento.order_skipped", shop=connection.shop, reason=exc.detail)
            if not _has_more(answer, page=page, page_size=self.page_size):
                break
        return found

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        """Nothing to subscribe: the module posts orders itself and the core pulls them."""

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        """Magento's integration access tokens do not expire."""
        return tokens

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        """Nothing to call: the merchant deletes or reauthorizes the integration in Magento."""
        log.info("magento.revoke", shop=connection.shop)
