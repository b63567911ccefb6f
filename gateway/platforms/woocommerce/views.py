"""Routes under ``/platforms/woocommerce/``: connecting a store and its webhooks.

- ``GET connect?store_url=...``: the plugin's *Connect* button. The URL is checked (http(s),
  a public address: SSRF rules unless the test base URL is set) and the merchant's browser is
  sent to the store's ``/wc-auth/v1/authorize`` with a one-time ``user_id``
  (``keyexchange``). Refusals are HTML pages.
- ``POST callback``: WooCommerce POSTs the keys (JSON, unsigned). Accepted only with a
  ``user_id`` of ours, unexpired and unused (the nonce is spent here), for ``read_write``
  keys that open the store's REST API (one REST call); then the install is recorded (keys
  encrypted, the consumer secret in the store's second credential), and the core enqueues
  the webhooks and the first sync. Anything but 200 makes WooCommerce delete the keys.
- ``GET connected``: where WooCommerce sends the merchant back (``success``, ``user_id``):
  the state and the shop's publishable key to paste into the plugin's settings.
- ``POST webhooks/{store}``: every delivery. ``{store}`` is the store's id, so the route
  binds the adapter to that store's secret; the unsigned creation ping (``webhook_id=N``) is
  answered 200 and nothing else happens; the rest goes through the core's intake (verify,
  dedupe on the delivery id, durable hand-off) before the 200.

Pages people see answer errors as HTML; the APIs as problem+json.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gateway.db.session import session_scope
from gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    PlatformAuthFailed,
    Unauthorized,
)
from gateway.platforms import crypto, installs, intake, registry, worker
from gateway.platforms.http import PlatformClient, platform_url
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.platforms.woocommerce import keyexchange, storeurl
from gateway.platforms.woocommerce.adapter import KEY_ID, WEBHOOK_KEY, WooCommerceAdapter, is_ping
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/platforms/woocommerce", include_in_schema=False)

MAX_CALLBACK_BYTES = 4096
MAX_QUERY_LENGTH = 2048
SETTINGS_PATH = "/wp-admin/admin.php?page=wc-settings&tab=integration&section=tryon"
"""The plugin's settings page (``WC_Integration`` id ``tryon``), relative to the store."""
_PERMISSIONS = {"read", "write", "read_write"}


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def _page(title: str, body_html: str, *, status: int) -> HTMLResponse:
    """A page for the merchant (``body_html`` is already escaped)."""
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:15px system-ui,sans-serif;"
        "margin:24px;color:#1a1a1a}main{max-width:640px}code{background:#f3f3f3;padding:2px 4px;"
        "word-break:break-all}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body_html}</main></body></html>"
    )
    return HTMLResponse(
        document,
        status_code=status,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _refused(message: str, *, status: int) -> HTMLResponse:
    return _page(
        "The store could not be connected", f"<p>{html.escape(message)}</p>", status=status
    )


# -- connect ---------------------------------------------------------------------------------


@router.get("/connect")
def connect(request: Request) -> Response:
    """Send the merchant to the store's key exchange (see the module doc)."""
    settings = _settings(request)
    if len(request.url.query) > MAX_QUERY_LENGTH:
        return _refused("The request is too long.", status=400)
    raw = request.query_params.get("store_url", "")
    try:
        store_url = storeurl.from_settings(settings, raw)
    except GatewayError as exc:
        return _refused(f"{exc.detail}.", status=exc.status)
    user_id = keyexchange.make_user_id(settings, store_url, now=time.time())
    target = platform_url(settings, keyexchange.authorize_url(settings, store_url, user_id=user_id))
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class KeyGrant:
    """What WooCommerce POSTs to the callback, checked."""

    key_id: int
    user_id: str
    consumer_key: str
    consumer_secret: str
    key_permissions: str


def parse_grant(body: bytes) -> KeyGrant:
    """The callback's JSON body; ``BadRequest`` for anything that is not WooCommerce's shape."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The body is not a JSON object")
    key_id = data.get("key_id")
    fields = {k: data.get(k) for k in ("user_id", "consumer_key", "consumer_secret")}
    permissions = data.get("key_permissions")
    if isinstance(key_id, str) and key_id.isdigit() and len(key_id) < 19:
        key_id = int(key_id)  # WooCommerce sends a number; a form-encoded proxy may not
    if not isinstance(key_id, int) or isinstance(key_id, bool) or key_id < 1:
        raise BadRequest("key_id must be a positive integer")
    for name, value in fields.items():
        if not isinstance(value, str) or not value or len(value) > 512 or not value.isprintable():
            raise BadRequest(f"{name} is missing or not text")
    if not str(fields["consumer_key"]).startswith("ck_"):
        raise BadRequest("consumer_key is not a WooCommerce consumer key")
    if not str(fields["consumer_secret"]).startswith("cs_"):
        raise BadRequest("consumer_secret is not a WooCommerce consumer secret")
    if permissions not in _PERMISSIONS:
        raise BadRequest("key_permissions must be read, write or read_write")
    return KeyGrant(
        key_id=key_id,
        user_id=str(fields["user_id"]),
        consumer_key=str(fields["consumer_key"]),
        consumer_secret=str(fields["consumer_secret"]),
        key_permissions=str(permissions),
    )


@router.post("/callback")
async def callback(request: Request) -> JSONResponse:
    """Take the keys (see the module doc); problem+json for every refusal."""
    settings = _settings(request)
    body = await intake.read_body(request, max_bytes=MAX_CALLBACK_BYTES)
    grant = parse_grant(body)
    state = keyexchange.open_user_id(settings, grant.user_id, now=time.time())
    if grant.key_permissions != "read_write":
        raise Forbidden("The app needs read_write keys (it creates the store's webhooks)")
    nonces = request.app.state.dashboard_nonces
    if not await nonces.consume(f"woocommerce-connect:{state.nonce}", ttl_s=keyexchange.TTL_S + 60):
        raise Conflict("This key exchange was already used: connect the store again")
    store = await asyncio.to_thread(_install, request, settings, state.store_url, grant)
    log.info("woocommerce.connected", shop=store.shop_domain, key_id=grant.key_id)
    return JSONResponse({"ok": True})


def _install(request: Request, settings: GatewaySettings, store_url: str, grant: KeyGrant) -> Store:
    # The URL is ours (MAC'd), but it was checked against the settings of that moment.
    shop = storeurl.from_settings(settings, store_url)
    adapter = WooCommerceAdapter.from_settings(settings)
    connection = Connection(
        shop=shop, access_token=grant.consumer_key, secret=grant.consumer_secret
    )
    with PlatformClient.from_settings(settings, platform=Platform.WOOCOMMERCE) as client:
        client.platform = "woocommerce"
        try:
            adapter.confirm_keys(client=client, connection=connection)
        except PlatformAuthFailed:
            raise Unauthorized("The keys do not open this store's REST API") from None
    with session_scope(request.app.state.engine) as session:
        store = installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.WOOCOMMERCE,
            grant=InstallGrant(
                shop=shop,
                tokens=Tokens(access_token=grant.consumer_key, scopes=(grant.key_permissions,)),
                extra={KEY_ID: str(grant.key_id)},
            ),
        )
        store.secret_encrypted = crypto.encrypt(settings, grant.consumer_secret)
        store.extra = {**(store.extra or {}), WEBHOOK_KEY: str(store.id)}
        session.flush()
        session.expunge(store)
    worker.wake()
    return store


@router.get("/connected")
def connected(request: Request) -> Response:
    """Where WooCommerce returns the merchant: the outcome and the key for the plugin."""
    settings = _settings(request)
    if len(request.url.query) > MAX_QUERY_LENGTH:
        return _refused("The request is too long.", status=400)
    try:
        # An hour of grace after the exchange expired: this page only reads.
        state = keyexchange.open_user_id(
            settings,
            request.query_params.get("user_id"),
            now=time.time() - keyexchange.TTL_S,
        )
    except GatewayError as exc:
        return _refused(f"{exc.detail}.", status=exc.status)
    back = html.escape(state.store_url + SETTINGS_PATH)
    if request.query_params.get("success") != "1":
        return _page(
            "The store was not connected",
            "<p>The keys were not granted. Start again from the plugin's settings: "
            f'<a href="{back}">Virtual try-on settings</a>.</p>',
            status=200,
        )
    with session_scope(request.app.state.engine) as session:
        store = installs.find_store(
            session=session, platform=Platform.WOOCOMMERCE, shop=state.store_url
        )
        key = (
            installs.widget_key_for(settings=settings, store=store)
            if store is not None and store.status is StoreStatus.ACTIVE
            else None
        )
    if key is None:
        return _refused(
            "WooCommerce said yes, but its keys did not reach us or did not open the store's "
            "REST API. Check that the store is reachable over https and connect again.",
            status=409,
        )
    return _page(
        "Your store is connected",
        "<p>Your catalog is being synced. Paste this publishable key into "
        f'<a href="{back}">the plugin\'s settings</a>:</p>'
        f"<p><code id=publishable-key>{html.escape(key)}</code></p>"
        f"<p>Store: {html.escape(state.store_url)}</p>",
        status=200,
    )


# -- webhooks -------------------------------------------------------------------------------


@router.post("/webhooks/{store_key}")
async def webhooks(request: Request, store_key: str) -> JSONResponse:
    """Every delivery: 401 for a bad signature, 200 once it is durable (or a ping)."""
    settings = _settings(request)
    body = await intake.read_body(request, max_bytes=settings.platform_webhook_max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        store_id = uuid.UUID(store_key)
    except ValueError:
        raise NotFound("No such store") from None
    base = registry.get_adapter(settings, Platform.WOOCOMMERCE)
    if not isinstance(base, WooCommerceAdapter):
        raise NotFound("No WooCommerce adapter")

    def take() -> bool:
        with session_scope(request.app.state.engine) as session:
            store = session.get(Store, store_id)
            if store is None or store.platform is not Platform.WOOCOMMERCE:
                raise NotFound("No such store")
            if is_ping(headers, body):
                return False
            adapter = base.for_store(shop=store.shop_domain, store_key=str(store.id))
            intake.receive(
                session=session,
                settings=settings,
                adapter=adapter,
                headers=headers,
                body=body,
                now=datetime.now(UTC),
            )
            return True

    await asyncio.to_thread(take)
    return JSONResponse({"ok": True})
