"""The small interface every store platform implements, and what its webhooks become.

A platform package (``gateway/platforms/<platform>/``) provides one ``PlatformAdapter`` and
its own routes under ``/platforms/<platform>/`` (installs differ too much between platforms
to share a route: Shopify's OAuth redirect, BigCommerce's ``/auth`` callback, WooCommerce's
key POST, Magento's OAuth 1.0a activation). Everything after the install is shared: the core
(``gateway/platforms/``) stores the installation and its encrypted tokens, takes webhooks in
(verify with the adapter, dedupe on the delivery id, hand off durably, answer), turns the
adapter's domain events into products, purchases and redactions, and syncs catalogs page by
page through ``fetch_catalog_page``.

Adapters are pure protocol code: they never touch the database. They call the platform only
through the ``PlatformClient`` they are given (timeouts, retries, throttling, the test base
URL), with the ``Connection`` the core decrypted for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gateway.orders.schemas import OrderIn
from gateway.stores.models import Platform

if TYPE_CHECKING:
    from gateway.platforms.http import PlatformClient


@dataclass(frozen=True)
class Tokens:
    """What a platform granted: the access token, and for expiring tokens how to renew it."""

    access_token: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None


@dataclass(frozen=True)
class InstallGrant:
    """A finished install: the shop it is for and the tokens it gave.

    ``extra`` holds what a platform needs later and is not a secret (BigCommerce's store
    hash, WooCommerce's key id, Magento's store base URL).
    """

    shop: str
    tokens: Tokens
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Connection:
    """An installation as an adapter sees it: the shop and its decrypted credentials."""

    shop: str
    access_token: str
    extra: Mapping[str, str] = field(default_factory=dict)
    secret: str | None = None
    """A second credential where the platform has one (WooCommerce consumer secret,
    Magento access token secret, a per-store webhook secret)."""


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified webhook: who sent it, which delivery it is, and its decoded body."""

    delivery_id: str
    """The platform's id of this delivery (Shopify ``X-Shopify-Webhook-Id``): the dedupe key."""
    shop: str
    topic: str
    payload: Mapping[str, Any]
    occurred_at: datetime | None = None


class OrderStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class OrderChanged:
    """An order was placed, changed, cancelled or (partly) refunded.

    ``order`` is what ``POST /v1/orders`` takes, with the try-on session ids read from the
    platform's line item properties and cart attributes; ``refunded`` is the total refunded
    so far in the order's currency (``None`` when the platform did not say).
    """

    status: OrderStatus
    order: OrderIn
    refunded: Decimal | None = None


@dataclass(frozen=True)
class OrderReference:
    """A light webhook named an order without its content (BigCommerce): the core fetches it
    with the adapter's ``fetch_order`` (``OrderFetcher``) and handles what that returns."""

    external_id: str


@dataclass(frozen=True)
class ProductChanged:
    """A product was created or updated: the core fetches it again (webhook bodies differ
    between platforms and API versions; the catalog API is the one shape we trust)."""

    external_id: str


@dataclass(frozen=True)
class ProductDeleted:
    external_id: str


@dataclass(frozen=True)
class AppUninstalled:
    """The merchant removed the app: tokens are dead, the widget stops for this shop."""


@dataclass(frozen=True)
class CustomerDataRequest:
    """A shopper asked the merchant for their data (GDPR art. 15)."""

    customer_ref: str
    order_ids: tuple[str, ...] = ()
    request_ref: str | None = None


@dataclass(frozen=True)
class CustomerRedact:
    """Erase what we hold keyed to this customer and these orders."""

    customer_ref: str
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopRedact:
    """Erase everything of this shop (Shopify sends it 48 h after the uninstall)."""


DomainEvent = (
    OrderChanged
    | OrderReference
    | ProductChanged
    | ProductDeleted
    | AppUninstalled
    | CustomerDataRequest
    | CustomerRedact
    | ShopRedact
)


@dataclass(frozen=True)
class CatalogVariant:
    external_id: str
    title: str
    sku: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    """Option name -> value as the platform names them (``{"Color": "Navy", "Size": "L"}``)."""
    price: str | None = None
    available: bool | None = None
    """Whether the store sells it now (Shopify ``availableForSale``); None: not said."""


@dataclass(frozen=True)
class CatalogProduct:
    """A product as the platform's catalog API gives it, before category mapping."""

    external_id: str
    title: str
    product_type: str | None = None
    tags: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    """Collection (category) handles or names, for the merchant's category mapping."""
    images: tuple[str, ...] = ()
    """Absolute image URLs, first the featured one; fetched through the SSRF-safe fetcher."""
    variants: tuple[CatalogVariant, ...] = ()
    handle: str | None = None
    active: bool = True


@dataclass(frozen=True)
class CatalogPage:
    products: Sequence[CatalogProduct]
    next_cursor: str | None
    """Pass it back to get the next page; ``None`` on the last page."""


class PlatformAdapter(Protocol):
    """One per platform; stateless, built from settings (client id and secret)."""

    platform: Platform

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        """Check the signature on the raw ``body`` (constant time) and decode it.

        Raises ``gateway.errors.Unauthorized`` (401) for a missing or wrong signature or a
        stale timestamp, ``BadRequest`` for a body that is not what the topic promises.
        ``headers`` are lower-cased.
        """
        ...

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        """The domain events in a verified delivery; ``[]`` for topics we do not act on."""
        ...

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        """One page of the shop's catalog (products with variants and images)."""
        ...

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        """One product, or ``None`` when the platform no longer has it."""
        ...

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        """Make sure the shop sends the topics we need to ``callback_url`` (idempotent)."""
        ...

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        """New tokens before ``tokens`` expire; platforms with non-expiring tokens return them."""
        ...

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        """Give the access token back where the platform allows it (best effort)."""
        ...


@runtime_checkable
class OrderFetcher(Protocol):
    """What an adapter whose webhooks are light (``OrderReference``) also provides."""

    def fetch_order(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> OrderChanged | None:
        """The order as an ``OrderChanged``; ``None`` when the platform no longer has it or
        it is not a purchase."""
        ...


@runtime_checkable
class OrderPuller(Protocol):
    """What an adapter whose platform sends no order webhooks provides (Magento Open Source):
    the core pulls recent orders on a schedule (``gateway.platforms.pulls``)."""

    def pull_orders(
        self, *, client: PlatformClient, connection: Connection, since: datetime
    ) -> list[WebhookDelivery]:
        """Orders changed since ``since`` as deliveries, each with the same ``delivery_id`` a
        push of the same order state gets: a pulled order already pushed is one job."""
        ...
