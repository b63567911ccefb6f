"""Routes under ``/platforms/bigcommerce/``: the app's callbacks, hooks and storefront loader.

- ``GET auth`` (``code``, ``scope``, ``context``, ``account_uuid``): BigCommerce opens it in the
  control panel's iframe when a merchant installs; the code is traded for the store's token
  (JSON body, ``redirect_uri`` identical to the registered one), the install recorded (the
  core enqueues the hooks + storefront script and the first sync) and an HTML page answered.
- ``GET load`` / ``uninstall`` / ``remove_user``: ``signed_payload_jwt`` (or the legacy
  ``signed_payload``) verified (``signed``). ``load`` shows the app page (sync state, category
  mapping, widget on/off, dashboard link) framed by the control panel only; ``uninstall``
  erases the tokens, revokes the widget key at once and schedules the shop's redaction 48 h
  later (as Shopify's ``shop/redact``; a reinstall before then cancels it); ``remove_user``
  changes nothing (we keep nothing per control-panel user).
- ``POST admin/widget``, ``POST admin/sync``: the app page's two actions, authorised by a
  short-lived token the ``load`` page carries (the page has no cookies in a third-party frame).
- ``POST webhooks``: every hook; the core verifies through the adapter, dedupes and hands off
  durably before the 200. ``store/app/uninstalled`` also schedules the redaction (in case the
  uninstall callback never reached us).
- ``GET storefront.js`` and ``GET storefront/config``: the loader the Scripts API registers
  and what it asks for (the shop's publishable key and the pinned SDK).

Pages people see answer errors as HTML; the APIs as problem+json.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import html
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.api.deps import SessionDep
from gateway.db.session import session_scope
from gateway.errors import Forbidden, GatewayError, PlatformRejected
from gateway.events.dashboard import sign_in_link
from gateway.events.ingest import read_bounded
from gateway.platforms import installs, intake, jobs, mapping, registry, worker
from gateway.platforms import views as platform_views
from gateway.platforms.bigcommerce import signed, storefront
from gateway.platforms.bigcommerce.adapter import REDACT_TOPIC, STORE_HASH, BigCommerceAdapter
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import JobKind, JobStatus, PlatformJob
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/platforms/bigcommerce", include_in_schema=False)

MAX_QUERY_LENGTH = 8192
REDACT_AFTER = timedelta(hours=48)
PAGE_TOKEN_TTL_S = 3600
MAX_FORM_BYTES = 2048
CONTROL_PANEL = "https://store-{hash}.mybigcommerce.com https://*.bigcommerce.com"
CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
SDK_MAJOR = 1
"""The SDK major version the loader is written for (``/sdk/v1/manifest.json``)."""


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _secret(settings: GatewaySettings) -> str:
    return settings.bigcommerce_client_secret.get_secret_value()


def _csp(store_hash: str | None) -> str:
    ancestors = "https://*.bigcommerce.com"
    if store_hash and signed.STORE_HASH.fullmatch(store_hash):
        ancestors = CONTROL_PANEL.format(hash=store_hash)
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )


def _page(title: str, body_html: str, *, status: int, store_hash: str | None = None) -> Response:
    """A page shown in the control panel's iframe (``body_html`` is already escaped)."""
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:15px system-ui,sans-serif;"
        "margin:24px;color:#1a1a1a}main{max-width:720px}table{border-collapse:collapse}"
        "td,th{padding:4px 12px 4px 0;text-align:left}.muted{color:#666}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body_html}</main></body></html>"
    )
    return HTMLResponse(
        document,
        status_code=status,
        headers={
            "Content-Security-Policy": _csp(store_hash),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _refused(message: str, *, status: int = 401) -> Response:
    return _page("Request refused", f"<p>{html.escape(message)}</p>", status=status)


def _query(request: Request) -> dict[str, str]:
    if len(request.url.query) > MAX_QUERY_LENGTH:
        raise signed.InvalidSignedPayload("The request is too long")
    return {k: v for k, v in request.query_params.items()}


def verify_callback(settings: GatewaySettings, query: dict[str, str]) -> signed.SignedPayload:
    """The verified payload of a load/uninstall/remove_user request (JWT first, else legacy)."""
    if not settings.bigcommerce_client_id:
        raise signed.InvalidSignedPayload("The BigCommerce app is not configured")
    if "signed_payload_jwt" in query:
        return signed.verify_jwt(
            query["signed_payload_jwt"],
            client_id=settings.bigcommerce_client_id,
            client_secret=_secret(settings),
        )
    return signed.verify_legacy(
        query.get("signed_payload"), client_secret=_secret(settings), now=time.time()
    )


def auth_url(settings: GatewaySettings) -> str:
    """The Auth Callback URL registered in the Developer Portal (also the ``redirect_uri``)."""
    return f"{settings.public_url.rstrip('/')}/platforms/bigcommerce/auth"


# -- install ------------------------------------------------------------------------------


@router.get("/auth")
async def auth(request: Request) -> Response:
    """Finish the install (see the module doc); every refusal is an HTML page."""
    settings = _settings(request)
    if not settings.bigcommerce_client_id:
        return _refused("The BigCommerce app is not configured.", status=503)
    try:
        query = _query(request)
        store_hash = signed.store_hash_of(query.get("context"))
    except signed.InvalidSignedPayload as exc:
        return _refused(str(exc), status=400)
    code, scope = query.get("code", ""), query.get("scope", "")
    if not code or len(code) > 256 or not code.isprintable() or len(scope) > 2048:
        return _refused("The request has no valid authorization code.", status=400)
    try:
        store = await asyncio.to_thread(
            _install, request, settings, store_hash=store_hash, code=code, scope=scope
        )
    except GatewayError as exc:
        log.warning("bigcommerce.install_failed", store_hash=store_hash, error=type(exc).__name__)
        status = (
            exc.status if exc.status < 500 else 400 if isinstance(exc, PlatformRejected) else 502
        )
        return _refused(exc.detail, status=status)
    log.info("bigcommerce.installed", store_hash=store_hash)
    return _page(
        "Virtual try-on is installed",
        "<p>Your catalog is being synced; the try-on button appears on product pages of "
        "mapped categories. Open the app again from <em>Apps</em> to see its state.</p>"
        f"<p class=muted>Store {html.escape(store.shop_domain)}</p>",
        status=200,
        store_hash=store_hash,
    )


def _install(
    request: Request, settings: GatewaySettings, *, store_hash: str, code: str, scope: str
) -> Store:
    adapter = BigCommerceAdapter.from_settings(settings)
    context = f"stores/{store_hash}"
    shop = signed.shop_of(store_hash)
    with PlatformClient.from_settings(settings, platform=Platform.BIGCOMMERCE) as client:
        client.platform = "bigcommerce"
        tokens = adapter.exchange_code(
            client=client, code=code, scope=scope, context=context, redirect_uri=auth_url(settings)
        )
        missing = sorted(
            set(filter(None, settings.bigcommerce_scopes.split(","))) - set(tokens.scopes)
        )
        if missing:
            raise _forbidden(missing)
        extra: dict[str, str] = {STORE_HASH: store_hash}
        # The custom domain is a nicety: the widget key still gets the store's own host.
        with contextlib.suppress(GatewayError):
            extra |= adapter.fetch_store(
                client=client, connection=_connection(shop, tokens, store_hash)
            )
    with session_scope(request.app.state.engine) as session:
        store = installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.BIGCOMMERCE,
            grant=InstallGrant(shop=shop, tokens=tokens, extra=extra),
        )
        cancel_redaction(session=session, store=store)
        session.flush()
        session.expunge(store)
    worker.wake()
    return store


def _forbidden(missing: list[str]) -> GatewayError:
    return Forbidden(
        "BigCommerce granted fewer permissions than the app needs; missing: " + ", ".join(missing),
        missing_scopes=missing,
    )


def _connection(shop: str, tokens: Tokens, store_hash: str) -> Connection:
    return Connection(shop=shop, access_token=tokens.access_token, extra={STORE_HASH: store_hash})


def _redact_key(store: Store) -> str:
    return f"bigcommerce-redact:{store.id}"


def cancel_redaction(*, session: Session, store: Store) -> None:
    """Drop a redaction still pending from an earlier uninstall (the merchant came back)."""
    session.execute(
        delete(PlatformJob).where(
            PlatformJob.dedupe_key == _redact_key(store),
            PlatformJob.status == JobStatus.PENDING,
        )
    )


def schedule_redaction(*, session: Session, store: Store, now: datetime) -> None:
    """Erase the shop's data 48 h after the uninstall (one pending at a time)."""
    cancel_redaction(session=session, store=store)
    job = jobs.enqueue(
        session=session,
        kind=JobKind.WEBHOOK,
        store_id=store.id,
        payload={
            "delivery_id": f"redact-{uuid.uuid4()}",
            "shop": store.shop_domain,
            "topic": REDACT_TOPIC,
            "payload": {},
            "occurred_at": now.isoformat(),
        },
        dedupe_key=_redact_key(store),
        now=now,
    )
    if job is not None:
        job.run_after = now + REDACT_AFTER


# -- load / uninstall / remove_user ---------------------------------------------------------


def page_token(settings: GatewaySettings, store: Store, *, now: float) -> str:
    """A token the app page's forms carry: the store id and an expiry, signed."""
    return page_token_for(settings, str(store.id), str(int(now) + PAGE_TOKEN_TTL_S))


def open_page_token(settings: GatewaySettings, token: str, *, now: float) -> uuid.UUID | None:
    """The store id of a valid page token, or None."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 200:
        return None
    store_id, expires, _ = parts
    expected = page_token_for(settings, store_id, expires)
    if not hmac.compare_digest(expected.encode(), token.encode("ascii", "replace")):
        return None
    if not expires.isdigit() or int(expires) < now:
        return None
    try:
        return uuid.UUID(store_id)
    except ValueError:
        return None


def page_token_for(settings: GatewaySettings, store_id: str, expires: str) -> str:
    message = f"{store_id}.{expires}"
    mac = hmac.new(
        settings.secret_key.get_secret_value().encode(),
        f"bigcommerce-page:{message}".encode(),
        hashlib.sha256,
    ).digest()
    return f"{message}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def _app_page(session: Session, settings: GatewaySettings, store: Store) -> Response:
    store_hash = str((store.extra or {}).get(STORE_HASH, ""))
    counts = store.sync_counts or {}
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in sorted(counts.items())
    )
    failures = "".join(
        f"<li>{html.escape(str(f.get('title') or f.get('external_id')))}: "
        f"{html.escape(str(f.get('reason')))}</li>"
        for f in (store.sync_failures or [])[:20]
        if isinstance(f, dict)
    )
    rules = "".join(
        f"<tr><td>{html.escape(r.field.value)}</td><td>{html.escape(r.value)}</td>"
        f"<td>{html.escape(r.category.value)}</td></tr>"
        for r in mapping.rules_of(session=session, store_id=store.id)
    )
    token = html.escape(page_token(settings, store, now=time.time()))
    enabled = installs.widget_enabled(store)
    finished = store.sync_finished_at.isoformat() if store.sync_finished_at else "never"
    body = (
        f"<p class=muted>Store {html.escape(store.shop_domain)}</p>"
        f"<h2>Catalog sync</h2><p id=sync-status>{html.escape(store.sync_status.value)}"
        f" (last run: {html.escape(finished)})</p>"
        f"<table>{rows}</table>"
        + (f"<ul id=sync-failures>{failures}</ul>" if failures else "")
        + '<form method=post action="/platforms/bigcommerce/admin/sync">'
        f'<input type=hidden name=token value="{token}"><button>Sync now</button></form>'
        "<h2>Category mapping</h2>"
        + (
            f"<table id=rules><tr><th>Field</th><th>Value</th><th>Category</th></tr>{rules}</table>"
            if rules
            else "<p>No rules yet: products are imported once a rule maps them.</p>"
        )
        + "<p class=muted>Edit the mapping in the dashboard.</p>"
        f"<h2>Widget</h2><p id=widget-state>{'on' if enabled else 'off'}</p>"
        '<form method=post action="/platforms/bigcommerce/admin/widget">'
        f'<input type=hidden name=token value="{token}">'
        f'<input type=hidden name=enabled value="{"false" if enabled else "true"}">'
        f"<button>{'Turn off' if enabled else 'Turn on'}</button></form>"
        f'<h2>Dashboard</h2><p><a id=dashboard target=_blank rel=noopener href="'
        f'{html.escape(sign_in_link(settings, store.merchant_id))}">Open the try-on '
        "dashboard</a></p>"
    )
    return _page("Virtual try-on", body, status=200, store_hash=store_hash)


@router.get("/load")
async def load(request: Request) -> Response:
    """The app page inside the control panel (see the module doc).

    Each signed payload opens the page once: the page carries a dashboard sign-in link, so a
    payload that leaked (a log, a referrer) must not open it again. BigCommerce signs a new
    one every time the merchant opens the app."""
    settings = _settings(request)
    try:
        payload = verify_callback(settings, _query(request))
    except signed.InvalidSignedPayload as exc:
        return _refused(str(exc))
    ttl = max(60, int(payload.expires_at - time.time()) + signed.LEEWAY_S + 1)
    nonces = request.app.state.dashboard_nonces
    if not await nonces.consume(f"bigcommerce-load:{payload.nonce}", ttl_s=ttl):
        return _refused("This link was already used; open the app again from Apps.")

    def render() -> Response:
        with session_scope(request.app.state.engine) as session:
            store = installs.find_store(
                session=session,
                platform=Platform.BIGCOMMERCE,
                shop=signed.shop_of(payload.store_hash),
            )
            if store is None or store.status is not StoreStatus.ACTIVE:
                return _refused(
                    "The app is not installed on this store; install it again.", status=404
                )
            return _app_page(session, settings, store)

    return await asyncio.to_thread(render)


@router.get("/uninstall")
def uninstall(request: Request, session: SessionDep) -> Response:
    """The merchant removed the app: tokens erased, widget off now, redaction in 48 h."""
    settings = _settings(request)
    try:
        payload = verify_callback(settings, _query(request))
    except signed.InvalidSignedPayload as exc:
        return _refused(str(exc))
    store = installs.find_store(
        session=session, platform=Platform.BIGCOMMERCE, shop=signed.shop_of(payload.store_hash)
    )
    if store is not None and store.status is StoreStatus.ACTIVE:
        now = datetime.now(UTC)
        installs.mark_uninstalled(session=session, store=store, now=now)
        schedule_redaction(session=session, store=store, now=now)
        session.commit()
        log.info("bigcommerce.uninstalled", store_hash=payload.store_hash)
    return _page("Uninstalled", "<p>The try-on app was removed.</p>", status=200)


@router.get("/remove_user")
def remove_user(request: Request) -> Response:
    """A control-panel user lost access: we keep nothing per user, so nothing changes."""
    try:
        verify_callback(_settings(request), _query(request))
    except signed.InvalidSignedPayload as exc:
        return _refused(str(exc))
    return _page("User removed", "<p>Nothing is kept per user.</p>", status=200)


async def _page_store(request: Request, session: Session) -> tuple[Store | None, dict[str, str]]:
    # A small urlencoded form (no multipart parser here): read bounded, parse strictly.
    try:
        raw = await read_bounded(request, MAX_FORM_BYTES)
        fields = dict(parse_qsl(raw.decode("ascii"), max_num_fields=5))
    except (GatewayError, UnicodeDecodeError, ValueError):
        return None, {}
    store_id = open_page_token(_settings(request), fields.get("token", ""), now=time.time())
    store = session.get(Store, store_id) if store_id else None
    if store is None or store.platform is not Platform.BIGCOMMERCE:
        return None, fields
    if store.status is not StoreStatus.ACTIVE:
        return None, fields
    return store, fields


@router.post("/admin/widget")
async def admin_widget(request: Request, session: SessionDep) -> Response:
    """Turn the storefront widget on or off (the loader asks on every page)."""
    store, fields = await _page_store(request, session)
    if store is None:
        return _refused("This page has expired; open the app again.")
    installs.set_widget_enabled(
        session=session, store=store, enabled=fields.get("enabled") == "true"
    )
    session.commit()
    return _app_page(session, _settings(request), store)


@router.post("/admin/sync")
async def admin_sync(request: Request, session: SessionDep) -> Response:
    """Sync the catalog again now."""
    store, _ = await _page_store(request, session)
    if store is None:
        return _refused("This page has expired; open the app again.")
    platform_views.queue_store_sync(session=session, store_id=store.id)
    store.sync_status = SyncStatus.QUEUED
    session.commit()
    worker.wake()
    return _app_page(session, _settings(request), store)


# -- webhooks -------------------------------------------------------------------------------


@router.post("/webhooks")
async def webhooks(request: Request) -> JSONResponse:
    """Every hook: 401 for a bad secret or signature, 200 once the delivery is durable."""
    settings = _settings(request)
    body = await intake.read_body(request, max_bytes=settings.platform_webhook_max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    adapter = registry.get_adapter(settings, Platform.BIGCOMMERCE)

    def take() -> None:
        now = datetime.now(UTC)
        with session_scope(request.app.state.engine) as session:
            intake.receive(
                session=session,
                settings=settings,
                adapter=adapter,
                headers=headers,
                body=body,
                now=now,
            )
            # Verified (receive raised otherwise). BigCommerce sends no redaction request:
            # if its uninstall callback never reached us, the uninstall hook schedules it.
            payload = json.loads(body)
            if payload.get("scope") == "store/app/uninstalled":
                store = installs.find_store(
                    session=session,
                    platform=Platform.BIGCOMMERCE,
                    shop=signed.shop_of(signed.store_hash_of(payload.get("producer"))),
                )
                if store is not None and store.status is not StoreStatus.REDACTED:
                    schedule_redaction(session=session, store=store, now=now)
                    session.commit()

    await asyncio.to_thread(take)
    return JSONResponse({"ok": True})


# -- the storefront -------------------------------------------------------------------------


@router.get("/storefront.js")
def storefront_js() -> Response:
    """The loader (the Scripts API pins its integrity hash; ``?store=`` does not change it)."""
    body, _ = storefront.loader()
    return Response(
        body,
        media_type="text/javascript",
        headers={
            **CORS,
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/storefront/config")
def storefront_config(request: Request, session: SessionDep) -> JSONResponse:
    """What the loader needs: the shop's ``pk_`` key and where the SDK's manifest is, or
    ``{"enabled": false}``.

    Public by design (the key is the widget's publishable key, limited to the shop's
    storefront origins); answers the same shape for unknown and uninstalled stores."""
    settings = _settings(request)
    store_hash = request.query_params.get("store", "")
    off = JSONResponse({"enabled": False}, headers=CORS)
    if not signed.STORE_HASH.fullmatch(store_hash):
        return off
    store = installs.find_store(
        session=session, platform=Platform.BIGCOMMERCE, shop=signed.shop_of(store_hash)
    )
    if store is None or not installs.widget_enabled(store):
        return off
    key = installs.widget_key_for(settings=settings, store=store)
    if key is None:
        return off
    api = settings.public_url.rstrip("/")
    return JSONResponse(
        {
            "enabled": True,
            "key": key,
            "api": api,
            "manifest": f"{api}/sdk/v{SDK_MAJOR}/manifest.json",
        },
        headers=CORS,
    )
