"""``GET /v1/widget/config`` at the edge: rendered once, served as bytes with validators.

The configuration is asked for on every product page view, so it is the request a busy store
sends most. Its bytes depend only on the merchant's records (the product with its variants
and assets, the brand models, the month's quota use, the key's record) and on this server's
settings, so they are rendered once per (key, product ref, variant) and kept in the read
cache (Redis in the scale-out mode, shared by the replicas; in-process when embedded) with
the merchant's *generation* token (``readcache.merchant_key``). Every commit that writes
anything the merchant owns replaces that token (``widget.reads.changed_keys`` and
``readcache.generation_keys``: generic, not a list of today's fields), so a change to any
input is served at once, by every replica. Nothing read back is validated again: the bytes
are what this code wrote.

Each answer carries a strong ``ETag`` (a hash of the bytes) and ``Cache-Control: public,
max-age=30, stale-while-revalidate=30`` (``CACHE_CONTROL``); ``If-None-Match`` gets a 304.
``public`` is needed because the request carries ``Authorization`` (RFC 9111, section 3.5).
``Vary: Authorization`` (the key decides the merchant: two shops may have a product with the
same external id) and ``Vary: Origin`` (added by the CORS middleware: the origin check and
the echoed ``Access-Control-Allow-Origin`` depend on it).

The key, its origin and the rate limits are still checked on every request that reaches the
server. In the embedded mode, where the cache and the limiter live in this process, a hit is
answered on the event loop with no thread hop; anything that needs the database (a key or a
product not cached yet, the key's once-a-minute ``last_used_at``) goes to a worker thread.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.deps import client_ip
from gateway.cache import MemoryCache
from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import GatewayError, InvalidApiKey
from gateway.images import MEDIA_TYPES
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.keys.scopes import require_scope
from gateway.readcache import VERSION
from gateway.runtime import Runtime
from gateway.sessions.models import TryOnMode
from gateway.widget import auth as widget_auth
from gateway.widget import reads
from gateway.widget.deps import widget_caller
from gateway.widget.schemas import (
    BrandModel,
    QuotaInfo,
    WidgetConfig,
    WidgetExperiment,
    WidgetLimits,
    WidgetProduct,
    WidgetVariant,
)

CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=30"
"""Half a minute fresh, half a minute more while a cache revalidates in the background: a
hot product page costs the origin one request per half minute per key and origin behind a
CDN, and a merchant's change (an asset, a variant, the quota running out) reaches shoppers
within a minute at worst. The try-on itself is checked at the origin every time (quota, key),
so a stale configuration can only show a button that then answers with the real state."""
VARY = "Authorization"
CACHE_NAME = "widget_config"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Rendered:
    etag: str
    body: bytes

    def pack(self) -> bytes:
        return self.etag.encode() + b"\n" + self.body

    @staticmethod
    def unpack(raw: bytes) -> Rendered | None:
        etag, sep, body = raw.partition(b"\n")
        return Rendered(etag.decode(), body) if sep and etag.startswith(b'"') else None


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cache_key(
    runtime: Runtime, principal: keys.Principal, product: str, variant: str | None
) -> str:
    """Where the rendered bytes for this key, product ref and variant are kept."""
    return _cache_key(runtime, principal.merchant_id, principal.key_id, product, variant)


def _cache_key(
    runtime: Runtime,
    merchant_id: uuid.UUID,
    key_id: uuid.UUID,
    product: str,
    variant: str | None,
) -> str:
    # Also named by the month (the quota shown is the month's) and by the settings the bytes
    # show (replicas of two releases may share one Redis).
    s = runtime.settings
    shown = (
        s.max_upload_bytes,
        s.ws_max_fps,
        s.ws_max_frame_bytes,
        s.ws_idle_timeout_s,
        sorted(MEDIA_TYPES.values()),
    )
    digest = hashlib.blake2b(
        f"{product}\x00{variant or ''}\x00{utcnow():%Y-%m}\x00{shown}".encode(), digest_size=16
    ).hexdigest()
    return f"{VERSION}:config:{merchant_id}:{key_id}:{digest}"


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison, as RFC 9110 says for it)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in tags


def respond(request: Request, rendered: Rendered) -> Response:
    headers = {"ETag": rendered.etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY}
    if not_modified(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=CONTENT_TYPE, headers=headers)


def render(
    request: Request,
    runtime: Runtime,
    principal: keys.Principal,
    product: str,
    variant: str | None,
) -> Rendered:
    """Read what the configuration shows (through the read cache, else the database) and
    render its bytes."""
    with session_scope(request.app.state.engine) as session:
        read = reads.for_config(
            session=session,
            reads=runtime.reads,
            merchant_id=principal.merchant_id,
            ref=product,
            quota_limit=principal.monthly_tryon_quota,
            now=utcnow(),
        )
    found, models, state = read.product, read.models, read.quota
    chosen = found.variant(variant)
    general = any(a.variant_id is None for a in found.assets)
    with_asset = {a.variant_id for a in found.assets}
    has_asset = bool(found.assets)
    modes = [TryOnMode.LIVE, TryOnMode.PHOTO] if has_asset else []
    if has_asset and models:
        modes.append(TryOnMode.MODEL)
    s = runtime.settings
    config = WidgetConfig(
        product=WidgetProduct(
            id=found.id,
            external_id=found.external_id,
            title=found.title,
            category=found.category,
            image=found.image,
            has_asset=has_asset,
            variants=[
                WidgetVariant(
                    id=v.id,
                    external_id=v.external_id,
                    title=v.title,
                    color=v.color,
                    size=v.size,
                    has_asset=general or v.id in with_asset,
                )
                for v in found.variants
            ],
        ),
        variant_id=chosen.external_id if chosen else None,
        modes=modes,
        # A path, not an absolute URL: behind a proxy the Host the gateway sees may not be
        # the one the browser used.
        models=[
            BrandModel.model_validate(
                {
                    "id": m.id,
                    "name": m.name,
                    "kind": m.kind,
                    "image_url": str(
                        request.app.url_path_for("widget_model_image", model_id=str(m.id))
                    ),
                }
            )
            for m in models
        ],
        quota=QuotaInfo(exhausted=state.exhausted, remaining=state.remaining),
        limits=WidgetLimits(
            max_upload_bytes=s.max_upload_bytes,
            accepted_types=sorted(MEDIA_TYPES.values()),
            max_live_fps=s.ws_max_fps,
            max_live_frame_bytes=s.ws_max_frame_bytes,
            live_idle_timeout_s=s.ws_idle_timeout_s,
        ),
        experiment=(
            WidgetExperiment(
                id=read.experiment.id,
                salt=read.experiment.salt,
                holdout_share=read.experiment.holdout_share,
            )
            if read.experiment
            else None
        ),
    )
    body = config.model_dump_json().encode()
    return Rendered(etag_of(body), body)


@dataclass(frozen=True, slots=True)
class _Miss:
    """The rendered bytes are not in the cache at the merchant's generation ``token`` (None:
    the cache is off or failing, render without storing)."""

    key: str
    token: str | None


def _lookup(
    runtime: Runtime, principal: keys.Principal, product: str, variant: str | None
) -> Rendered | _Miss:
    key = cache_key(runtime, principal, product, variant)
    token, held = runtime.reads.rendered(CACHE_NAME, principal.merchant_id, key)
    found = Rendered.unpack(held) if held else None
    return found if found is not None else _Miss(key, token)


def _render_and_store(
    request: Request,
    runtime: Runtime,
    principal: keys.Principal,
    product: str,
    variant: str | None,
    *,
    miss: _Miss,
) -> Response:
    """Render (blocking: a miss reads the database) and keep the bytes at the generation the
    lookup saw."""
    fresh = render(request, runtime, principal, product, variant)
    if miss.token is not None:
        runtime.reads.store_rendered(CACHE_NAME, miss.key, miss.token, fresh.pack())
    return respond(request, fresh)


def _serve_blocking(
    request: Request, runtime: Runtime, product: str, variant: str | None
) -> Response:
    """The whole request on a worker thread, through the widget dependency's checks."""
    with session_scope(request.app.state.engine) as session:
        principal = widget_caller(request, session, runtime, allow_query_key=False).principal
    found = _lookup(runtime, principal, product, variant)
    if isinstance(found, _Miss):
        return _render_and_store(request, runtime, principal, product, variant, miss=found)
    return respond(request, found)


@dataclass(frozen=True, slots=True)
class _Checked:
    principal: keys.Principal
    touch: bool
    """The key's ``last_used_at`` is due (once a minute per key and process)."""
    held: Rendered | None = None
    """The rendered bytes, when they came with the key's record."""


_KEY_IDS: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
"""Key hash -> (merchant id, key id): what a key belongs to never changes, so after its first
request its record and the rendered bytes are read together (one round trip). Bounded."""
_KEY_IDS_MAX = 10_000


def _fast_check(
    request: Request,
    runtime: Runtime,
    product: str,
    variant: str | None,
    *,
    count_failures: bool = True,
) -> _Checked | None:
    """The caller's key, kind, scope and origin checked without a thread hop or the database,
    when its record is in the cache (with the rendered bytes, when they are there too); None
    (nothing counted) when the full path must read it."""
    raw_key = widget_auth.request_key(
        authorization=request.headers.get("authorization"), query_key=None, allow_query_key=False
    )
    if not raw_key or not raw_key.startswith(keys.PREFIXES[KeyKind.PUBLISHABLE]):
        return None  # the full path gives the precise refusal
    try:
        key_hash = keys.checked_hash(raw_key)
    except InvalidApiKey:
        return None
    spec = reads.key_read(None, key_hash)
    record: keys.KeyRecord | None = None
    held: Rendered | None = None
    ids = _KEY_IDS.get(key_hash)
    if ids is not None:
        key = _cache_key(runtime, ids[0], ids[1], product, variant)
        both = runtime.reads.peek_with_rendered(spec, CACHE_NAME, ids[0], key)
        if both is not None:
            record, held = both[0], Rendered.unpack(both[1])
    if record is None:
        found = runtime.reads.peek_many(spec)
        if found is None:
            return None
        (record,) = found
        if len(_KEY_IDS) < _KEY_IDS_MAX:
            _KEY_IDS[key_hash] = (record.merchant_id, record.key_id)
    now = utcnow()
    if count_failures:
        with runtime.counting_failures(client_ip(request)):
            principal = _checked_principal(request, runtime, record, now)
    else:
        try:
            principal = _checked_principal(request, runtime, record, now)
        except GatewayError:
            return None  # the full path refuses it (and counts the failure once)
    return _Checked(principal, runtime.key_touches.due(principal.key_id, now), held)


def _checked_principal(
    request: Request, runtime: Runtime, record: keys.KeyRecord, now: datetime
) -> keys.Principal:
    principal = keys.principal_of(record, now=now)
    require_scope(principal, "widget")
    widget_auth.check_origin(
        principal,
        widget_auth.page_origin(
            origin=request.headers.get("origin"),
            sec_fetch_site=request.headers.get("sec-fetch-site"),
            public_url=runtime.settings.public_url,
        ),
    )
    return principal


def _touch(request: Request, key_id: uuid.UUID) -> None:
    with session_scope(request.app.state.engine) as session:
        keys.touch(session=session, key_id=key_id, now=utcnow())


def _after_check(
    request: Request, runtime: Runtime, checked: _Checked, product: str, variant: str | None
) -> Response | _Miss:
    """Limits, then the rendered bytes when the cache holds them at the current generation,
    else where to store them once rendered."""
    principal = checked.principal
    if request.headers.get("origin"):
        request.state.cors_origin = request.headers["origin"]
    widget_auth.limit(runtime=runtime, principal=principal, client_ip=client_ip(request))
    found = checked.held or _lookup(runtime, principal, product, variant)
    return _Miss(found.key, found.token) if isinstance(found, _Miss) else respond(request, found)


def _serve_in_thread(
    request: Request, runtime: Runtime, product: str, variant: str | None
) -> Response:
    """The scale-out path: the cache and the limiter are Redis, so all of it runs on one
    worker thread (a Redis that hangs must not stop the event loop), the same steps."""
    checked = _fast_check(request, runtime, product, variant)
    if checked is None:
        return _serve_blocking(request, runtime, product, variant)
    if checked.touch:
        _touch(request, checked.principal.key_id)
    answer = _after_check(request, runtime, checked, product, variant)
    if isinstance(answer, _Miss):
        return _render_and_store(request, runtime, checked.principal, product, variant, miss=answer)
    return answer


async def serve(request: Request, runtime: Runtime, product: str, variant: str | None) -> Response:
    """Answer ``GET /v1/widget/config`` (see the module docstring)."""
    handed: _Handed | None = request.scope.get("state", {}).get(_HANDED)
    if handed is not None:  # checked and counted by ``FastPath``: finish what it began
        if handed.refusal is not None:
            raise handed.refusal
        assert handed.miss is not None
        return await run_in_threadpool(
            functools.partial(_render_and_store, miss=handed.miss),
            request,
            runtime,
            handed.principal,
            product,
            variant,
        )
    if not _in_process(runtime):
        return await run_in_threadpool(_serve_in_thread, request, runtime, product, variant)
    checked = _fast_check(request, runtime, product, variant)
    if checked is None:
        return await run_in_threadpool(_serve_blocking, request, runtime, product, variant)
    if checked.touch:
        await run_in_threadpool(_touch, request, checked.principal.key_id)
    answer = _after_check(request, runtime, checked, product, variant)
    if isinstance(answer, _Miss):
        return await run_in_threadpool(
            functools.partial(_render_and_store, miss=answer),
            request,
            runtime,
            checked.principal,
            product,
            variant,
        )
    return answer


def _in_process(runtime: Runtime) -> bool:
    """Whether the read cache and the limiter live in this process (the embedded mode):
    then a hit does no I/O and may run on the event loop."""
    return runtime.redis is None and isinstance(runtime.reads.backend, MemoryCache)


_HANDED = "widget_config_handed"
_MAX_REF = 128


@dataclass(frozen=True, slots=True)
class _Handed:
    """What ``FastPath`` leaves the route when it began a request it cannot finish alone:
    the limits refused it (``refusal``, rendered as problem+json by the app), or the bytes
    must be rendered (``miss``). Either way the key was checked and counted once."""

    principal: keys.Principal
    refusal: GatewayError | None = None
    miss: _Miss | None = None


class FastPath:
    """Pure ASGI, innermost: ``GET /v1/widget/config`` answered from the rendered bytes
    before FastAPI's routing and dependency resolution, in the embedded mode (where the key's
    record, the limits and the bytes are all in this process). Everything else, and every
    request it cannot answer without the database or that a check refuses, goes to the app
    unchanged: the route then gives the same answer (the refusal as problem+json)."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != PATH
            or not _in_process(self.runtime)
        ):
            await self.app(scope, receive, send)
            return
        refs = _refs(scope["query_string"])
        if refs is None:
            await self.app(scope, receive, send)
            return
        product, variant = refs
        request = Request(scope)
        checked = _fast_check(request, self.runtime, product, variant, count_failures=False)
        if checked is None:
            await self.app(scope, receive, send)
            return
        if checked.touch:
            await run_in_threadpool(_touch, request, checked.principal.key_id)
        try:
            answer = _after_check(request, self.runtime, checked, product, variant)
        except GatewayError as exc:
            scope.setdefault("state", {})[_HANDED] = _Handed(checked.principal, refusal=exc)
            await self.app(scope, receive, send)
            return
        if isinstance(answer, _Miss):
            scope.setdefault("state", {})[_HANDED] = _Handed(checked.principal, miss=answer)
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE  # as routing would set it: the latency metric's label
        await answer(scope, receive, send)


PATH = "/v1/widget/config"


@dataclass(frozen=True, slots=True)
class _RouteName:
    path: str


_ROUTE = _RouteName(PATH)


def _refs(query_string: bytes) -> tuple[str, str | None] | None:
    """``product`` and ``variant`` when the query is exactly what the route validates as
    good (each at most once, 1 to 128 characters, nothing else); None otherwise."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in ("product", "variant") or name in found:
            return None
        if not 1 <= len(value) <= _MAX_REF:
            return None
        found[name] = value
    product = found.get("product")
    return (product, found.get("variant")) if product is not None else None
