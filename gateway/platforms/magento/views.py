"""Routes under ``/platforms/magento/``: the integration's activation and the module's posts.

Magento's integration activation (OAuth 1.0a, PLATFORMS.md):

- ``POST activate`` (the integration's *Endpoint URL*): Magento posts ``oauth_consumer_key``,
  ``oauth_consumer_secret``, ``store_base_url`` and ``oauth_verifier`` (form-encoded). The
  post is not signed: it is kept (secrets encrypted, ``PendingActivation``) and proves
  nothing until the store accepts our signed token requests with those credentials. The
  base URL is the merchant's: checked against SSRF here and on every call. Answers 200.
- ``GET identity`` (the *Identity link URL*): Magento opens it with ``oauth_consumer_key``
  and ``success_call_back``; the merchant confirms on the page. ``success_call_back`` must be
  on the store's own origin (no open redirect).
- ``POST identity`` (the confirm form, with a signed, short-lived form token): the request
  token (``/oauth/token/request``), the access token with the verifier
  (``/oauth/token/access``), both HMAC-SHA256; the install recorded by the core (tokens and
  secrets encrypted, first catalog sync queued), the first order pull scheduled; then 303 to
  ``success_call_back`` so Magento marks the integration active.
- ``POST orders``: the module's observer posts each placed order, signed with the
  consumer secret (``signing``); verified per store, deduplicated with the scheduled pulls
  (``adapter``), handed off durably by the core's intake before the 200.

Pages people see answer errors as HTML; the APIs as problem+json.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import (
    BadRequest,
    Conflict,
    GatewayError,
    NotFound,
    PlatformRejected,
    Unauthorized,
)
from gateway.events.ingest import read_bounded
from gateway.platforms import crypto, installs, intake, pulls, registry, safefetch, worker
from gateway.platforms.http import PlatformClient
from gateway.platforms.magento import oauth, signing
from gateway.platforms.magento.adapter import (
    CONSUMER_KEY,
    RESOURCES,
    STORE_BASE_URL,
    MagentoAdapter,
    credentials_of,
    pack_secrets,
    shop_of,
    store_base_url,
)
from gateway.platforms.magento.models import PendingActivation
from gateway.platforms.protocol import InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/platforms/magento", include_in_schema=False)

MAX_FORM_BYTES = 4096
ACTIVATION_TTL = timedelta(hours=1)
FORM_TOKEN_TTL_S = 900
CREDENTIAL = re.compile(r"^[A-Za-z0-9]{16,64}$")
"""Magento's consumer keys, secrets and verifiers: 32 letters and digits."""


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _enabled(settings: GatewaySettings) -> None:
    if not settings.magento_enabled:
        raise NotFound("Magento integrations are turned off")


def _allow_http(settings: GatewaySettings) -> bool:
    return settings.magento_allow_http


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _page(
    title: str, body_html: str, *, status: int, form_origin: str | None = None
) -> HTMLResponse:
    """A page in the merchant's browser (``body_html`` is already escaped)."""
    actions = "'self'" + (f" {form_origin}" if form_origin else "")
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:15px system-ui,sans-serif;"
        "margin:24px;color:#1a1a1a}main{max-width:640px}button{font:inherit;padding:6px 16px}"
        ".muted{color:#666}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body_html}</main></body></html>"
    )
    return HTMLResponse(
        document,
        status_code=status,
        headers={
            # The confirm form redirects to the store's callback: form-action must allow it.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            f"form-action {actions}; base-uri 'none'; frame-ancestors 'none'",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _refused(message: str, *, status: int) -> HTMLResponse:
    return _page("Request refused", f"<p>{html.escape(message)}</p>", status=status)


def _form(raw: bytes, *, max_fields: int) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw.decode("ascii"), max_num_fields=max_fields, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The body is not a small form-encoded form") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise BadRequest(f"{key} is given twice")
        fields[key] = value
    return fields


def _credential(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "")
    if not CREDENTIAL.fullmatch(value):
        raise BadRequest(f"{name} is missing or malformed")
    return value


def _vet(settings: GatewaySettings, url: str) -> None:
    """The SSRF checks of every later call, now (DNS too, unless calls go to the test fake)."""
    safefetch.vet_url(
        url,
        resolve=settings.platform_api_base_url is None,
        timeout_s=settings.platform_timeout_s,
    )


def _pending(session: Session, consumer_key: str, *, now: datetime) -> PendingActivation | None:
    row = session.scalar(
        select(PendingActivation).where(PendingActivation.consumer_key == consumer_key)
    )
    if row is None or row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC) < (
        now - ACTIVATION_TTL
    ):
        return None
    return row


# -- activation -----------------------------------------------------------------------------


@router.post("/activate")
async def activate(request: Request) -> JSONResponse:
    """Keep Magento's credentials post until the identity link is confirmed (see the doc)."""
    settings = _settings(request)
    _enabled(settings)
    fields = _form(await read_bounded(request, MAX_FORM_BYTES), max_fields=10)
    consumer_key = _credential(fields, "oauth_consumer_key")
    consumer_secret = _credential(fields, "oauth_consumer_secret")
    verifier = _credential(fields, "oauth_verifier")
    base = store_base_url(fields.get("store_base_url", ""), allow_http=_allow_http(settings))
    await asyncio.to_thread(_vet, settings, base)

    def keep() -> None:
        now = utcnow()
        with session_scope(request.app.state.engine) as session:
            row = session.scalar(
                select(PendingActivation).where(PendingActivation.consumer_key == consumer_key)
            )
            if row is None:
                row = PendingActivation(consumer_key=consumer_key, store_base_url=base)
                session.add(row)
            elif row.store_base_url != base:
                raise Conflict("This consumer is already being activated for another store")
            row.consumer_secret_encrypted = crypto.encrypt(settings, consumer_secret)
            row.verifier_encrypted = crypto.encrypt(settings, verifier)
            row.created_at = now

    await asyncio.to_thread(keep)
    log.info("magento.activation_received", shop=shop_of(base))
    return JSONResponse({"ok": True})


def form_token(settings: GatewaySettings, consumer_key: str, callback: str, expires: int) -> str:
    """What the confirm form carries: the consumer, the callback and an expiry, signed."""
    message = f"magento-identity:{consumer_key}:{expires}:{callback}".encode()
    mac = hmac.new(settings.secret_key.get_secret_value().encode(), message, hashlib.sha256)
    return f"{expires}.{base64.urlsafe_b64encode(mac.digest()).decode().rstrip('=')}"


def _check_form_token(
    settings: GatewaySettings, token: str, consumer_key: str, callback: str
) -> None:
    expires, _, _ = token.partition(".")
    if not expires.isdigit() or len(token) > 200 or int(expires) < time.time():
        raise Unauthorized("The confirmation has expired; open the integration again")
    expected = form_token(settings, consumer_key, callback, int(expires))
    if not hmac.compare_digest(expected.encode(), token.encode("ascii", "replace")):
        raise Unauthorized("The confirmation is not valid")


def _callback(base: str, callback: str) -> str:
    """``success_call_back`` when it is on the store's own origin (never an open redirect)."""
    if not callback or len(callback) > 2048 or not callback.isprintable():
        raise BadRequest("success_call_back is missing")
    try:
        parts = urlsplit(callback)
    except ValueError:
        raise BadRequest("success_call_back is not a URL") from None
    if parts.username is not None or parts.password is not None:
        raise BadRequest("success_call_back must not carry credentials")
    if _origin(callback) != _origin(base):
        raise BadRequest("success_call_back is not on the store's own address")
    return callback


@router.get("/identity")
async def identity(request: Request) -> Response:
    """The identity link: the merchant confirms connecting the store."""
    settings = _settings(request)
    if not settings.magento_enabled:
        return _refused("Magento integrations are turned off.", status=404)
    query = request.query_params
    consumer_key = query.get("oauth_consumer_key", "")
    callback_raw = query.get("success_call_back", "")
    if len(request.url.query) > 4096 or not CREDENTIAL.fullmatch(consumer_key):
        return _refused("The request names no integration.", status=400)
    with session_scope(request.app.state.engine) as session:
        row = _pending(session, consumer_key, now=utcnow())
        base = row.store_base_url if row is not None else None
    if base is None:
        return _refused("No activation is waiting for this integration.", status=404)
    try:
        callback = _callback(base, callback_raw)
    except BadRequest as exc:
        return _refused(exc.detail, status=400)
    expires = int(time.time()) + FORM_TOKEN_TTL_S
    token = form_token(settings, consumer_key, callback, expires)
    body = (
        f"<p>Connect the Magento store <strong>{html.escape(base)}</strong> to virtual "
        "try-on? The integration reads your catalog and orders (no write access).</p>"
        '<form method=post action="/platforms/magento/identity">'
        f'<input type=hidden name=oauth_consumer_key value="{html.escape(consumer_key)}">'
        f'<input type=hidden name=success_call_back value="{html.escape(callback)}">'
        f'<input type=hidden name=token value="{html.escape(token)}">'
        "<button id=confirm>Connect</button></form>"
    )
    return _page("Connect Magento", body, status=200, form_origin=_origin(base))


@router.post("/identity")
async def confirm(request: Request) -> Response:
    """Exchange the tokens, record the install, send the browser to ``success_call_back``."""
    settings = _settings(request)
    if not settings.magento_enabled:
        return _refused("Magento integrations are turned off.", status=404)
    try:
        fields = _form(await read_bounded(request, MAX_FORM_BYTES), max_fields=5)
        consumer_key = _credential(fields, "oauth_consumer_key")
        callback = fields.get("success_call_back", "")
        _check_form_token(settings, fields.get("token", ""), consumer_key, callback)
        store = await asyncio.to_thread(_install, request, settings, consumer_key, callback)
    except PlatformRejected as exc:
        # The store refused our signed token requests: the posted consumer, secret or
        # verifier is not what it issued (forged, or a verifier for another consumer).
        log.warning("magento.activation_refused", error=type(exc).__name__)
        return _refused(
            "Magento refused the integration's credentials; activate the integration again.",
            status=400,
        )
    except GatewayError as exc:
        log.warning("magento.activation_failed", error=type(exc).__name__)
        status = exc.status if exc.status < 500 else 502
        return _refused(exc.detail, status=status)
    log.info("magento.installed", shop=store)
    return RedirectResponse(callback, status_code=303, headers={"Cache-Control": "no-store"})


def _install(request: Request, settings: GatewaySettings, consumer_key: str, callback: str) -> str:
    engine = request.app.state.engine
    with session_scope(engine) as session:
        row = _pending(session, consumer_key, now=utcnow())
        if row is None:
            raise NotFound("No activation is waiting for this integration")
        base = row.store_base_url
        _callback(base, callback)
        consumer = oauth.Credentials(
            consumer_key=consumer_key,
            consumer_secret=crypto.decrypt(settings, row.consumer_secret_encrypted),
        )
        verifier = crypto.decrypt(settings, row.verifier_encrypted)
    with PlatformClient.from_settings(settings, platform=Platform.MAGENTO) as client:
        client.platform = "magento"
        requested = oauth.request_token(client, base, consumer)
        granted = oauth.access_token(client, base, requested, verifier=verifier)
    assert granted.token is not None
    assert granted.token_secret is not None
    shop = shop_of(base)
    now = utcnow()
    with session_scope(engine) as session:
        store = installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.MAGENTO,
            grant=InstallGrant(
                shop=shop,
                tokens=Tokens(access_token=granted.token, scopes=RESOURCES),
                extra={STORE_BASE_URL: base, CONSUMER_KEY: consumer_key},
            ),
            now=now,
        )
        store.secret_encrypted = crypto.encrypt(
            settings,
            pack_secrets(
                consumer_secret=consumer.consumer_secret, token_secret=granted.token_secret
            ),
        )
        pulls.ensure_scheduled(
            session=session,
            store_id=store.id,
            now=now,
            interval_s=settings.platform_order_pull_interval_s,
        )
        pending = _pending(session, consumer_key, now=now)
        if pending is not None:
            session.delete(pending)
    worker.wake()
    return shop


# -- the module's order posts ---------------------------------------------------------------


@router.post("/orders")
async def orders(request: Request) -> JSONResponse:
    """A placed order from the module: 401 unless signed for this store, 200 once durable."""
    settings = _settings(request)
    _enabled(settings)
    body = await intake.read_body(request, max_bytes=settings.platform_webhook_max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    shop = headers.get(signing.SHOP_HEADER, "").strip().lower()
    if not shop or len(shop) > 255:
        raise Unauthorized("The post names no store")
    adapter = registry.get_adapter(settings, Platform.MAGENTO)
    assert isinstance(adapter, MagentoAdapter)

    def take() -> None:
        now = datetime.now(UTC)
        with session_scope(request.app.state.engine) as session:
            store = installs.find_store(session=session, platform=Platform.MAGENTO, shop=shop)
            if store is None or store.status is not StoreStatus.ACTIVE:
                raise Unauthorized("The post is not signed for a connected store")
            credentials = credentials_of(installs.connection_for(settings=settings, store=store))
            bound = adapter.for_posts(
                shop=shop,
                consumer_key=credentials.consumer_key,
                consumer_secret=credentials.consumer_secret,
            )
            intake.receive(
                session=session,
                settings=settings,
                adapter=bound,
                headers=headers,
                body=body,
                now=now,
            )
            _restart_pulls(session, settings, store, now=now)

    await asyncio.to_thread(take)
    return JSONResponse({"ok": True})


def _restart_pulls(
    session: Session, settings: GatewaySettings, store: Store, *, now: datetime
) -> None:
    """The pull chain restarted where it broke (a pull gone dead while the store was down)."""
    if pulls.ensure_scheduled(
        session=session,
        store_id=store.id,
        now=now,
        interval_s=settings.platform_order_pull_interval_s,
    ):
        session.commit()
