"""Routes under ``/platforms/shopify/``: install, callback, webhooks, admin page, pixel.

- ``GET install``: Shopify opens it with a signed query (or our dashboard with an install
  link); answers a redirect to the shop's authorize page with a one-time ``state`` also kept
  in a signed cookie.
- ``GET callback``: checks the signature, the time, the shop and the ``state`` (cookie ==
  query, spent once), trades the code for an expiring offline token, checks the scopes,
  records the install (the core enqueues the webhook subscription and the first sync) and
  lands in the app inside Shopify admin.
- ``POST webhooks``: every topic; the core verifies through the adapter, dedupes and hands
  off durably before the 200.
- ``GET admin`` and ``/admin/api/*``: the embedded admin page and its API, authenticated by
  Shopify session tokens (``Authorization: Bearer``) on every call, never cookies.
- ``POST pixel``: the web pixel's ``checkout_completed`` (attribution evidence only).

Pages people see (install, callback, admin) answer errors as HTML; the APIs as problem+json.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.api.deps import SessionDep
from gateway.db.session import session_scope
from gateway.errors import (
    BadRequest,
    Forbidden,
    GatewayError,
    NotFound,
    PlatformRejected,
    Unauthorized,
)
from gateway.events.dashboard import sign_in_link
from gateway.events.ingest import read_bounded
from gateway.keys import service as keys
from gateway.platforms import installs, intake, mapping, registry, worker
from gateway.platforms import views as platform_views
from gateway.platforms.http import PlatformClient, platform_url
from gateway.platforms.models import RuleField
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.platforms.shopify import oauth, pixel
from gateway.platforms.shopify.adapter import ShopifyAdapter, needs_refresh
from gateway.platforms.shopify.session_tokens import InvalidSessionToken, bearer, decode
from gateway.products.models import Category
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/platforms/shopify", include_in_schema=False)

STATIC = Path(__file__).parent / "static"
ASSETS = {"admin.js": "text/javascript", "admin.css": "text/css"}
MAX_QUERY_LENGTH = 4096
PIXEL_CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _adapter(settings: GatewaySettings) -> ShopifyAdapter:
    return ShopifyAdapter.from_settings(settings)


def _secret(settings: GatewaySettings) -> str:
    return settings.shopify_api_secret.get_secret_value()


def _now() -> int:
    return int(time.time())


def _page(title: str, message: str, *, status: int) -> HTMLResponse:
    """A plain page for a person (the merchant in the install flow)."""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel=stylesheet href="/platforms/shopify/static/admin.css"></head>'
        f'<body><main class="card"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(message)}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    raw = request.url.query
    if len(raw) > MAX_QUERY_LENGTH:
        raise oauth.InvalidInstallRequest("The request is too long")
    try:
        return parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise oauth.InvalidInstallRequest("The request's query cannot be read") from None


def _is_secure(settings: GatewaySettings) -> bool:
    return settings.env != "development"


# -- install --------------------------------------------------------------------------------


@router.get("/install")
def install(request: Request, session: SessionDep) -> Response:
    """Start the OAuth install: redirect to the shop's authorize page (see the module doc)."""
    settings = _settings(request)
    if not settings.shopify_api_key:
        return _page("Shopify app not configured", "Set TRYON_SHOPIFY_API_KEY.", status=503)
    now = _now()
    try:
        pairs = _query_pairs(request)
        query = dict(pairs)
        merchant_id: uuid.UUID | None = None
        if "hmac" in query:
            query = oauth.verify_query(pairs, secret=_secret(settings), now=now)
        elif "link" in query:
            merchant_id = oauth.open_link(
                query["link"],
                shop=oauth.checked_shop(query.get("shop")),
                secret=settings.secret_key.get_secret_value(),
                now=now,
            )
        else:
            raise oauth.InvalidInstallRequest(
                "Open the app from your Shopify admin, or use the install link from your "
                "try-on dashboard"
            )
        shop = oauth.checked_shop(query.get("shop"))
    except oauth.InvalidInstallRequest as exc:
        return _page("Install refused", str(exc), status=400)
    store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=shop)
    if (
        merchant_id is None
        and store is not None
        and store.status is StoreStatus.ACTIVE
        and not oauth.missing_scopes(
            requested=settings.shopify_scopes, granted=",".join(store.scopes)
        )
    ):
        # Already installed with every scope: Shopify opened the app, show it.
        return RedirectResponse(_admin_landing(settings, shop), status_code=302)
    state = oauth.new_state(shop=shop, now=now, merchant_id=merchant_id)
    target = oauth.authorize_url(
        shop=shop,
        api_key=settings.shopify_api_key,
        scopes=settings.shopify_scopes,
        redirect_uri=callback_url(settings),
        state=state.nonce,
    )
    response = RedirectResponse(platform_url(settings, target), status_code=302)
    response.set_cookie(
        oauth.STATE_COOKIE,
        oauth.seal_state(state, secret=settings.secret_key.get_secret_value()),
        max_age=oauth.STATE_TTL_S,
        path="/platforms/shopify",
        httponly=True,
        secure=_is_secure(settings),
        samesite="lax",
    )
    return response


def callback_url(settings: GatewaySettings) -> str:
    return f"{settings.public_url.rstrip('/')}/platforms/shopify/callback"


def install_link(settings: GatewaySettings, *, merchant_id: uuid.UUID, shop: str) -> str:
    """An install URL bound to ``merchant_id`` (for our dashboard's "connect Shopify")."""
    token = oauth.seal_link(
        merchant_id, shop=shop, secret=settings.secret_key.get_secret_value(), now=_now()
    )
    return (
        f"{settings.public_url.rstrip('/')}/platforms/shopify/install?"
        f"shop={oauth.checked_shop(shop)}&link={token}"
    )


def _admin_landing(settings: GatewaySettings, shop: str) -> str:
    """The app inside the shop's admin (which loads our admin page in its iframe)."""
    return platform_url(settings, f"https://{shop}/admin/apps/{settings.shopify_api_key}")


@router.get("/callback")
async def callback(request: Request) -> Response:
    """Finish the install (see the module doc); every refusal is an HTML page."""
    settings = _settings(request)
    if not settings.shopify_api_key:
        return _page("Shopify app not configured", "Set TRYON_SHOPIFY_API_KEY.", status=503)
    now = _now()
    try:
        pairs = _query_pairs(request)
        query = oauth.verify_query(pairs, secret=_secret(settings), now=now)
        shop = oauth.checked_shop(query.get("shop"))
        state = oauth.open_state(
            request.cookies.get(oauth.STATE_COOKIE),
            secret=settings.secret_key.get_secret_value(),
            now=now,
        )
        given = query.get("state", "")
        if not hmac.compare_digest(state.nonce.encode(), given.encode("utf-8", "replace")):
            raise oauth.InvalidInstallRequest("The install session does not match this request")
        if state.shop != shop:
            raise oauth.InvalidInstallRequest("The install was started for another shop")
        code = query.get("code", "")
        if not code or len(code) > 256:
            raise oauth.InvalidInstallRequest("The request has no authorization code")
    except oauth.InvalidInstallRequest as exc:
        return _page("Install refused", str(exc), status=400)
    nonces = request.app.state.dashboard_nonces
    if not await nonces.consume(f"shopify-state:{state.nonce}", ttl_s=oauth.STATE_TTL_S + 60):
        return _page(
            "Install refused", "This install request was already used; start again.", status=400
        )
    try:
        return await _finish_install(request, settings, shop=shop, code=code, state=state)
    except GatewayError as exc:
        log.warning("shopify.install_failed", shop=shop, error=type(exc).__name__)
        # Shopify refusing the code (used, expired) means: start again; an outage is ours.
        status = (
            exc.status if exc.status < 500 else 400 if isinstance(exc, PlatformRejected) else 502
        )
        return _page("Install failed", exc.detail, status=status)


async def _finish_install(
    request: Request, settings: GatewaySettings, *, shop: str, code: str, state: oauth.State
) -> Response:
    adapter = _adapter(settings)

    def exchange() -> tuple[Tokens, dict[str, str]]:
        with PlatformClient.from_settings(settings, platform=Platform.SHOPIFY) as client:
            tokens = adapter.exchange_code(client=client, shop=shop, code=code)
            missing = oauth.missing_scopes(
                requested=settings.shopify_scopes, granted=",".join(tokens.scopes)
            )
            if missing:
                connection = _connection(shop, tokens)
                adapter.revoke(client=client, connection=connection)
                raise Forbidden(
                    "Shopify granted fewer permissions than the app needs; missing: "
                    + ", ".join(missing)
                    + ". Install again and accept every permission.",
                    missing_scopes=missing,
                )
            try:
                extra = adapter.fetch_shop(client=client, connection=_connection(shop, tokens))
            except GatewayError:
                extra = {}  # the primary domain is a nicety: the widget key still gets the shop
            return tokens, extra

    tokens, extra = await asyncio.to_thread(exchange)

    def record() -> str | None:
        with session_scope(request.app.state.engine) as session:
            store = installs.complete_install(
                session=session,
                settings=settings,
                platform=Platform.SHOPIFY,
                grant=InstallGrant(shop=shop, tokens=tokens, extra=extra),
                merchant_id=state.merchant_id,
            )
            return installs.widget_key_for(settings=settings, store=store)

    key = await asyncio.to_thread(record)
    worker.wake()
    await asyncio.to_thread(activate_pixel, settings, shop=shop, tokens=tokens, key=key)
    log.info("shopify.installed", shop=shop)
    response = RedirectResponse(_admin_landing(settings, shop), status_code=302)
    response.delete_cookie(
        oauth.STATE_COOKIE,
        path="/platforms/shopify",
        httponly=True,
        secure=_is_secure(settings),
        samesite="lax",
    )
    return response


def _connection(shop: str, tokens: Tokens) -> Connection:
    return Connection(shop=shop, access_token=tokens.access_token)


# -- webhooks -------------------------------------------------------------------------------


@router.post("/webhooks")
async def webhooks(request: Request) -> JSONResponse:
    """Every Shopify topic: 401 for a bad signature, 200 once the delivery is durable."""
    settings = _settings(request)
    body = await intake.read_body(request, max_bytes=settings.platform_webhook_max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    adapter = registry.get_adapter(settings, Platform.SHOPIFY)

    def take() -> None:
        with session_scope(request.app.state.engine) as session:
            intake.receive(
                session=session,
                settings=settings,
                adapter=adapter,
                headers=headers,
                body=body,
                now=datetime.now(UTC),
            )

    await asyncio.to_thread(take)
    return JSONResponse({"ok": True})


# -- the web pixel ------------------------------------------------------------------------


@router.post("/pixel", status_code=202)
async def pixel_checkout(request: Request) -> JSONResponse:
    """``checkout_completed`` from the web pixel: attribution evidence for the order."""
    body = await read_bounded(request, pixel.MAX_BODY_BYTES)
    if not body:
        raise BadRequest("The body is empty")
    scheme, _, raw_key = request.headers.get("authorization", "").partition(" ")
    checkout = pixel.read_checkout(
        body, key=raw_key.strip() if scheme.lower() == "bearer" and raw_key else None
    )
    if not oauth.is_shop_domain(checkout.shop):
        raise BadRequest("'shop' must be a <name>.myshopify.com domain")

    def keep() -> None:
        with session_scope(request.app.state.engine) as session:
            store = installs.find_store(
                session=session, platform=Platform.SHOPIFY, shop=checkout.shop
            )
            if store is None or store.status is not StoreStatus.ACTIVE:
                raise Unauthorized("The shop has no active installation")
            try:
                principal = keys.authenticate(session=session, raw_key=checkout.key)
            except GatewayError:
                raise Unauthorized("The key is not this shop's widget key") from None
            if principal.key_id != store.widget_key_id:
                raise Unauthorized("The key is not this shop's widget key")
            pixel.record(session=session, store=store, checkout=checkout, now=datetime.now(UTC))

    await asyncio.to_thread(keep)
    return JSONResponse({"accepted": True}, status_code=202, headers=PIXEL_CORS)


@router.options("/pixel")
def pixel_preflight() -> Response:
    """The pixel runs in Shopify's sandbox (an opaque or CDN origin): any origin may post,
    without cookies; the shop's key in the request is what authorizes it."""
    return Response(
        status_code=204,
        headers={
            **PIXEL_CORS,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "authorization, content-type",
            "Access-Control-Max-Age": "600",
        },
    )


# -- the embedded admin page --------------------------------------------------------------


APP_BRIDGE_ORIGIN = "https://cdn.shopify.com"
"""Where Shopify serves App Bridge, which embedded admin pages must load first."""


def frame_ancestors(shop: str | None) -> str:
    """The CSP for a page Shopify admin frames: this shop's admin and admin.shopify.com."""
    ancestors = "https://admin.shopify.com"
    if shop and oauth.is_shop_domain(shop):
        ancestors = f"https://{shop.lower()} {ancestors}"
    return (
        f"default-src 'none'; script-src 'self' {APP_BRIDGE_ORIGIN}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )


@router.get("/admin")
def admin_page(request: Request) -> Response:
    """The embedded page: static (no data in the HTML); its script calls ``admin/api``."""
    shop = request.query_params.get("shop")
    headers = {
        "Content-Security-Policy": frame_ancestors(shop),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    page = (STATIC / "admin.html").read_text()
    api_key = html.escape(_settings(request).shopify_api_key, quote=True)
    return HTMLResponse(page.replace("{{API_KEY}}", api_key), headers=headers)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("No such file")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=ASSETS[name],
        headers={"Cache-Control": "public, max-age=300"},
    )


def admin_store(request: Request, session: SessionDep) -> Store:
    """The installed store of the request's session token (verified on every request).

    A session token is only issued to the embedded page of an app the shop has installed.
    With Shopify-managed installation (scopes in ``shopify.app.toml``, no OAuth redirect)
    the first page load is where we learn of the install: a shop we do not have (or have as
    uninstalled) is installed here through token exchange, with the same scope check as the
    OAuth callback. An installed store with no access token, or one about to expire, gets a
    fresh expiring offline token the same way.
    """
    settings = _settings(request)
    try:
        token = decode(
            bearer(request.headers.get("authorization")),
            api_key=settings.shopify_api_key,
            secret=_secret(settings),
        )
    except InvalidSessionToken as exc:
        raise Unauthorized(str(exc)) from None
    store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=token.shop)
    if store is None or store.status is not StoreStatus.ACTIVE:
        return _managed_install(session=session, settings=settings, shop=token.shop, raw=token.raw)
    _fresh_tokens(session=session, settings=settings, store=store, session_token=token.raw)
    return store


def _managed_install(*, session: Session, settings: GatewaySettings, shop: str, raw: str) -> Store:
    adapter = _adapter(settings)
    with PlatformClient.from_settings(settings, platform=Platform.SHOPIFY) as client:
        try:
            tokens = adapter.exchange_session_token(client=client, shop=shop, session_token=raw)
        except PlatformRejected:
            raise Forbidden("The app is not installed on this shop") from None
        missing = oauth.missing_scopes(
            requested=settings.shopify_scopes, granted=",".join(tokens.scopes)
        )
        if missing:
            adapter.revoke(client=client, connection=_connection(shop, tokens))
            raise Forbidden(
                "Shopify granted fewer permissions than the app needs; missing: "
                + ", ".join(missing),
                missing_scopes=missing,
            )
        try:
            extra = adapter.fetch_shop(client=client, connection=_connection(shop, tokens))
        except GatewayError:
            extra = {}
    grant = InstallGrant(shop=shop, tokens=tokens, extra=extra)
    try:
        store = installs.complete_install(
            session=session, settings=settings, platform=Platform.SHOPIFY, grant=grant
        )
        session.commit()
    except IntegrityError:
        # Two first page loads at once (admin loads several frames): the other one recorded
        # the install; this one's fresh tokens are as good, keep them on that row.
        session.rollback()
        found = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=shop)
        if found is None:
            raise
        installs.save_tokens(session=session, settings=settings, store=found, tokens=tokens)
        session.commit()
        return found
    worker.wake()
    activate_pixel(
        settings,
        shop=shop,
        tokens=tokens,
        key=installs.widget_key_for(settings=settings, store=store),
    )
    log.info("shopify.installed", shop=shop, flow="managed")
    return store


def activate_pixel(
    settings: GatewaySettings, *, shop: str, tokens: Tokens, key: str | None
) -> bool:
    """Turn our web pixel on for the shop with its key (best effort: the order webhook is the
    source of truth, the pixel only a second signal); whether it worked."""
    if key is None:
        return False
    try:
        with PlatformClient.from_settings(settings, platform=Platform.SHOPIFY) as client:
            _adapter(settings).ensure_pixel(
                client=client,
                connection=_connection(shop, tokens),
                api_base=settings.public_url.rstrip("/"),
                key=key,
            )
    except GatewayError as exc:
        log.warning("shopify.pixel_not_activated", shop=shop, error=exc.slug)
        return False
    return True


def _fresh_tokens(
    *, session: Session, settings: GatewaySettings, store: Store, session_token: str
) -> None:
    now = datetime.now(UTC)
    current: Tokens | None
    try:
        current = installs.tokens_of(settings=settings, store=store)
    except NotFound:
        current = None
    expiring = (
        current is not None
        and current.expires_at is not None
        and (needs_refresh(current, now=now) or current.expires_at.replace(tzinfo=UTC) <= now)
    )
    if current is not None and not expiring:
        return
    with PlatformClient.from_settings(settings, platform=Platform.SHOPIFY) as client:
        tokens = _adapter(settings).exchange_session_token(
            client=client, shop=store.shop_domain, session_token=session_token
        )
    installs.save_tokens(session=session, settings=settings, store=store, tokens=tokens)


AdminStore = Annotated[Store, Depends(admin_store)]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: RuleField
    value: str = Field(min_length=1, max_length=255)
    category: Category


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(max_length=mapping.MAX_RULES)


class WidgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


def _rules(session: Session, store: Store) -> list[dict[str, Any]]:
    return [
        {"field": r.field.value, "value": r.value, "category": r.category.value}
        for r in mapping.rules_of(session=session, store_id=store.id)
    ]


def _state(session: Session, settings: GatewaySettings, store: Store) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "shop": store.shop_domain,
        "status": store.status.value,
        "sync": {
            "status": store.sync_status.value,
            "started_at": iso(store.sync_started_at),
            "finished_at": iso(store.sync_finished_at),
            "counts": store.sync_counts or {},
            "failures": (store.sync_failures or [])[:20],
        },
        "widget_enabled": installs.widget_enabled(store),
        "widget_key": installs.widget_key_for(settings=settings, store=store),
        "api_base": settings.public_url.rstrip("/"),
        "rules": _rules(session, store),
        "categories": [c.value for c in Category],
        "fields": [f.value for f in RuleField],
    }


@router.get("/admin/api/state")
def admin_state(request: Request, session: SessionDep, store: AdminStore) -> dict[str, Any]:
    """What the admin page shows: sync state, the category mapping, the widget switch."""
    return _state(session, _settings(request), store)


@router.put("/admin/api/rules")
def admin_rules(
    request: Request, session: SessionDep, store: AdminStore, body: RulesIn
) -> dict[str, Any]:
    """Replace the store's category mapping (the first rule that matches wins)."""
    mapping.replace_rules(
        session=session,
        store=store,
        rules=[(r.field.value, r.value, r.category.value) for r in body.rules],
    )
    return _state(session, _settings(request), store)


@router.put("/admin/api/widget")
def admin_widget(
    request: Request, session: SessionDep, store: AdminStore, body: WidgetIn
) -> dict[str, Any]:
    """Turn the widget on or off for this shop."""
    installs.set_widget_enabled(session=session, store=store, enabled=body.enabled)
    return _state(session, _settings(request), store)


@router.post("/admin/api/sync", status_code=202)
def admin_sync(request: Request, session: SessionDep, store: AdminStore) -> dict[str, Any]:
    """Sync the catalog again now."""
    platform_views.queue_store_sync(session=session, store_id=store.id)
    store.sync_status = SyncStatus.QUEUED
    session.commit()
    worker.wake()
    return _state(session, _settings(request), store)


@router.post("/admin/api/dashboard-link")
def admin_dashboard_link(request: Request, store: AdminStore) -> dict[str, str]:
    """A one-time sign-in link to our dashboard for this shop's merchant."""
    return {"url": sign_in_link(_settings(request), store.merchant_id)}
