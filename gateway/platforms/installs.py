"""The installation record: create it at install, read its credentials, keep them fresh.

What a platform's install route calls (``gateway/platforms/<platform>/views.py``):

- ``complete_install`` once the platform granted tokens: finds or creates the store row
  (a new merchant at a first install, the given one when the install started from our
  dashboard), stores the tokens encrypted, marks it active, gives the shop a publishable key
  whose allowed origins are the shop's storefront origins, and enqueues the webhook
  subscription and the initial catalog sync as durable jobs.
- ``find_store`` / ``connection_for`` / ``save_tokens`` for everything after.

The widget key: one ``pk_`` key per store, named ``{platform}:{shop}``, allowed origins
``https://{shop}`` plus the primary domain when the grant's ``extra`` names one
(``primary_domain``: a host or URL). The key itself is kept encrypted on the store
(``widget_key_for``) because the platform's admin page hands it to the theme; uninstalling
revokes it at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.errors import NotFound
from gateway.keys import service as keys
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants import service as merchants
from gateway.merchants.models import Merchant
from gateway.platforms import crypto, jobs
from gateway.platforms.models import JobKind
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus

PRIMARY_DOMAIN = "primary_domain"
"""The key in ``InstallGrant.extra`` / ``Store.extra`` naming the storefront's own domain."""


def webhook_callback_url(settings: GatewaySettings, platform: Platform) -> str:
    """Where the platform sends this app's webhooks: ``{public_url}/platforms/{p}/webhooks``."""
    return f"{settings.public_url.rstrip('/')}/platforms/{Platform(platform).value}/webhooks"


def storefront_origins(store: Store) -> list[str]:
    """The origins the shop's widget is called from: the platform domain and its own one.

    A shop named by its URL (WooCommerce, Magento: ``http://shop.example:8080/store``) gives
    that URL's origin, scheme included."""
    origins = [origin_of(store.shop_domain)]
    primary = (store.extra or {}).get(PRIMARY_DOMAIN)
    if isinstance(primary, str) and primary:
        host = urlsplit(primary).hostname if "://" in primary else primary.split("/")[0]
        if host and f"https://{host.lower()}" not in origins:
            origins.append(f"https://{host.lower()}")
    return origins


def origin_of(shop: str) -> str:
    """``https://{shop}`` for a domain; the origin (scheme, host, port) of a shop URL."""
    if "://" not in shop:
        return f"https://{shop}"
    parts = urlsplit(shop)
    return f"{parts.scheme}://{parts.netloc}".lower()


def find_store(*, session: Session, platform: Platform | str, shop: str) -> Store | None:
    """The installation of ``platform`` on ``shop`` (any status), or None."""
    return session.scalar(
        select(Store).where(
            Store.platform == Platform(platform), Store.shop_domain == shop.strip().lower()
        )
    )


def get_store(
    *, session: Session, store_id: uuid.UUID, merchant_id: uuid.UUID | None = None
) -> Store:
    """One store by id (scoped to ``merchant_id`` when given); ``NotFound`` otherwise."""
    query = select(Store).where(Store.id == store_id)
    if merchant_id is not None:
        query = query.where(Store.merchant_id == merchant_id)
    store = session.scalar(query)
    if store is None:
        raise NotFound("No such store")
    return store


def list_stores(*, session: Session, merchant_id: uuid.UUID | None = None) -> list[Store]:
    """Stores, oldest first; only the merchant's when ``merchant_id`` is given."""
    query = select(Store).order_by(Store.created_at, Store.id)
    if merchant_id is not None:
        query = query.where(Store.merchant_id == merchant_id)
    return list(session.scalars(query))


def complete_install(
    *,
    session: Session,
    settings: GatewaySettings,
    platform: Platform | str,
    grant: InstallGrant,
    merchant_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Store:
    """Record a finished install and start its webhooks and first sync (see module doc).

    A reinstall of an uninstalled (even redacted) shop reuses its row; a shop installed for
    another merchant moves to ``merchant_id`` only when one is given (the dashboard flow).
    The caller commits.
    """
    now = now or utcnow()
    platform = Platform(platform)
    shop = grant.shop.strip().lower()
    store = find_store(session=session, platform=platform, shop=shop)
    if merchant_id is not None and session.get(Merchant, merchant_id) is None:
        raise NotFound("No such merchant")
    if store is None:
        if merchant_id is None:
            merchant_id = merchants.create(session=session, name=shop).id
        store = Store(merchant_id=merchant_id, platform=platform, shop_domain=shop)
        session.add(store)
    elif merchant_id is not None and store.merchant_id != merchant_id:
        _revoke_widget_key(session=session, store=store, now=now)
        store.merchant_id = merchant_id
    store.extra = {**(store.extra or {}), **dict(grant.extra)}
    store.status = StoreStatus.ACTIVE
    store.installed_at = now
    store.uninstalled_at = None
    store.redacted_at = None
    store.sync_status = SyncStatus.QUEUED
    session.flush()
    save_tokens(session=session, settings=settings, store=store, tokens=grant.tokens)
    ensure_widget_key(session=session, settings=settings, store=store)
    jobs.enqueue(session=session, kind=JobKind.ENSURE_WEBHOOKS, store_id=store.id, now=now)
    jobs.enqueue(session=session, kind=JobKind.SYNC_STORE, store_id=store.id, now=now)
    return store


def save_tokens(
    *, session: Session, settings: GatewaySettings, store: Store, tokens: Tokens
) -> None:
    """Store ``tokens`` encrypted (after an install or a refresh); the caller commits."""
    store.access_token_encrypted = crypto.encrypt(settings, tokens.access_token)
    store.refresh_token_encrypted = crypto.encrypt_optional(settings, tokens.refresh_token)
    store.token_expires_at = tokens.expires_at
    store.refresh_expires_at = tokens.refresh_expires_at
    store.scopes = sorted(tokens.scopes)
    session.flush()


def tokens_of(*, settings: GatewaySettings, store: Store) -> Tokens:
    """The store's tokens, decrypted; ``NotFound`` when it has none (uninstalled)."""
    if store.access_token_encrypted is None:
        raise NotFound("The store has no access token (not installed)")
    return Tokens(
        access_token=crypto.decrypt(settings, store.access_token_encrypted),
        scopes=tuple(store.scopes),
        expires_at=store.token_expires_at,
        refresh_token=crypto.decrypt_optional(settings, store.refresh_token_encrypted),
        refresh_expires_at=store.refresh_expires_at,
    )


def connection_for(*, settings: GatewaySettings, store: Store) -> Connection:
    """The store as its adapter sees it: the shop and its decrypted credentials."""
    tokens = tokens_of(settings=settings, store=store)
    return Connection(
        shop=store.shop_domain,
        access_token=tokens.access_token,
        extra={k: str(v) for k, v in (store.extra or {}).items()},
        secret=crypto.decrypt_optional(settings, store.secret_encrypted),
    )


def ensure_widget_key(*, session: Session, settings: GatewaySettings, store: Store) -> ApiKey:
    """The store's publishable key, created (or re-created after an uninstall) with the shop's
    storefront origins; an existing live key gets its origins brought up to date."""
    origins = storefront_origins(store)
    key = session.get(ApiKey, store.widget_key_id) if store.widget_key_id else None
    if key is not None and key.revoked_at is None and key.merchant_id == store.merchant_id:
        if sorted(key.allowed_origins) != sorted(origins):
            key.allowed_origins = origins
        return key
    key, raw = keys.create(
        session=session,
        merchant_id=store.merchant_id,
        kind=KeyKind.PUBLISHABLE,
        name=f"{store.platform.value}:{store.shop_domain}"[:100],
        allowed_origins=origins,
    )
    key.scopes = _widget_scopes(store)
    store.widget_key_id = key.id
    store.widget_key_encrypted = crypto.encrypt(settings, raw)
    session.flush()
    return key


def widget_enabled(store: Store) -> bool:
    """Whether the merchant wants the try-on widget on this shop (on unless turned off)."""
    return bool((store.extra or {}).get("widget_enabled", True))


def _widget_scopes(store: Store) -> list[str]:
    return ["widget"] if widget_enabled(store) else []


def set_widget_enabled(*, session: Session, store: Store, enabled: bool) -> None:
    """Turn the widget on or off for the shop. Off takes the ``widget`` scope from the shop's
    key, so every widget call with it is refused at once (the read cache is invalidated on
    flush); on gives it back. The key itself, pasted into the theme, stays the same."""
    store.extra = {**(store.extra or {}), "widget_enabled": enabled}
    key = session.get(ApiKey, store.widget_key_id) if store.widget_key_id else None
    if key is not None:
        key.scopes = _widget_scopes(store)
    session.flush()


def widget_key_for(*, settings: GatewaySettings, store: Store) -> str | None:
    """The shop's ``pk_`` key for the theme, or None once the store was uninstalled."""
    if store.status is not StoreStatus.ACTIVE:
        return None
    return crypto.decrypt_optional(settings, store.widget_key_encrypted)


def _revoke_widget_key(*, session: Session, store: Store, now: datetime) -> None:
    if store.widget_key_id is not None:
        key = session.get(ApiKey, store.widget_key_id)
        if key is not None and key.revoked_at is None:
            key.revoked_at = now
    store.widget_key_encrypted = None
    session.flush()


def mark_uninstalled(*, session: Session, store: Store, now: datetime) -> None:
    """Tokens erased, widget key revoked (the widget stops at once), status uninstalled."""
    _revoke_widget_key(session=session, store=store, now=now)
    store.access_token_encrypted = None
    store.refresh_token_encrypted = None
    store.secret_encrypted = None
    store.token_expires_at = None
    store.refresh_expires_at = None
    if store.status is not StoreStatus.REDACTED:
        store.status = StoreStatus.UNINSTALLED
    store.uninstalled_at = store.uninstalled_at or now
    session.flush()
