"""Publishable-key authentication for widget calls: key, scope, origin, then limits.

Shared by HTTP routes (``WidgetDep``, ``BeaconWidgetDep`` in ``gateway.api.deps``) and the
live WebSocket (``gateway.tryon.live``).

Where the page's origin comes from: the ``Origin`` header, which browsers send on every
cross-origin request, on every POST and on WebSocket handshakes. They send none on a
same-origin ``GET`` (a merchant page served from the API's own origin, such as the demo
store), but they do send ``Sec-Fetch-Site: same-origin``; the page's origin is then the
API's own public origin (``TRYON_PUBLIC_URL``), which the key must allow like any other.
Both headers are set by the browser and cannot be set by a page's scripts, and a client
outside a browser can forge either one: the origin check stops browsers on other sites from
using a key, nothing more, and ``Sec-Fetch-Site`` gives exactly that assurance too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from gateway.api.origins import normalise_origin
from gateway.api.scopes import require_scope
from gateway.errors import (
    Forbidden,
    InvalidApiKey,
    KeyTypeNotAllowed,
    OriginNotAllowed,
    RateLimited,
    Unauthorized,
)
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.limits.ratelimit import Hit, retry_after_header
from gateway.runtime import Runtime
from gateway.widget import reads

SAME_ORIGIN = "same-origin"


@dataclass(frozen=True, slots=True)
class WidgetCaller:
    """An authenticated widget call: the key's principal and the page's origin."""

    principal: keys.Principal
    origin: str
    """The page's normalised origin, one of the key's allowed origins."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def request_key(
    *, authorization: str | None, query_key: str | None, allow_query_key: bool
) -> str | None:
    """The publishable key of a request: ``Authorization: Bearer pk_...``, or ``?key=pk_...``
    where the caller cannot set headers (``navigator.sendBeacon``, WebSockets) and the
    endpoint accepts it (``allow_query_key``)."""
    token = bearer_token(authorization)
    if token is None and allow_query_key and query_key:
        return query_key
    return token


def page_origin(*, origin: str | None, sec_fetch_site: str | None, public_url: str) -> str | None:
    """The origin of the page that made the call (see the module docstring), or None."""
    if origin:
        return origin
    if (sec_fetch_site or "").strip().lower() == SAME_ORIGIN:
        parts = urlsplit(public_url)
        return f"{parts.scheme}://{parts.netloc}"
    return None


def authenticate(
    *,
    session: Session,
    runtime: Runtime,
    raw_key: str | None,
    origin: str | None,
    now: datetime,
) -> WidgetCaller:
    """The caller of a widget call (key, kind, scope, origin checked), or the
    ``GatewayError`` that refuses it. Limits are the caller's next step (``limit``).

    The key's record comes from the read cache (``gateway.widget.reads``); its last use is
    written at most once a minute per key and process."""
    if not raw_key:
        raise InvalidApiKey("Send the publishable key as 'Authorization: Bearer pk_...'")
    principal = reads.principal(session=session, reads=runtime.reads, raw_key=raw_key, now=now)
    if principal.kind is not KeyKind.PUBLISHABLE:
        raise KeyTypeNotAllowed(
            "Widget endpoints take a publishable key (pk_...); never put a secret key in a page"
        )
    require_scope(principal, "widget")
    normalised = check_origin(principal, origin)
    if runtime.key_touches.due(principal.key_id, now):
        keys.touch(session=session, key_id=principal.key_id, now=now)
    return WidgetCaller(principal=principal, origin=normalised)


def check_origin(principal: keys.Principal, origin: str | None) -> str:
    """The normalised origin when the key allows it; ``OriginNotAllowed`` otherwise."""
    if not origin:
        raise OriginNotAllowed("Widget calls must come from a page (no Origin header was sent)")
    try:
        normalised = normalise_origin(origin)
    except ValueError:
        raise OriginNotAllowed("The Origin header is not a web origin") from None
    if normalised not in principal.allowed_origins:
        raise OriginNotAllowed(
            "This origin is not allowed for this key; add it to the key's allowed origins"
        )
    return normalised


def limit(*, runtime: Runtime, principal: keys.Principal, client_ip: str) -> None:
    """Per-key and per-IP rate limits, counted in one step (429 with Retry-After)."""
    s = runtime.settings
    scopes = ("rate_key", "rate_ip")
    refused = runtime.limiter.hit_all(
        [
            Hit(f"key:{principal.key_id}", s.rate_limit_per_key, s.rate_limit_window_s),
            Hit(f"ip:{client_ip}", s.rate_limit_per_ip, s.rate_limit_window_s),
        ]
    )
    if refused is not None:
        scope = scopes[refused.index]
        runtime.metrics.rejections.labels(scope).inc()
        what = "this key" if scope == "rate_key" else "this address"
        raise RateLimited(
            f"Too many requests from {what}; slow down",
            retry_after=retry_after_header(refused.decision),
        )


@contextmanager
def counting_failures(*, runtime: Runtime, client_ip: str) -> Iterator[None]:
    """Count a key refused in the body (401, 403) against the caller's address; past
    ``TRYON_RATE_LIMIT_AUTH_FAILURES_PER_IP`` a window the answer is 429 instead, so guessing
    or replaying keys from one address is slowed down like any other flood."""
    try:
        yield
    except (Unauthorized, Forbidden):
        s = runtime.settings
        decision = runtime.limiter.hit(
            f"authfail:{client_ip}",
            limit=s.rate_limit_auth_failures_per_ip,
            window_s=s.rate_limit_window_s,
        )
        if decision.allowed:
            raise
        runtime.metrics.rejections.labels("auth_failures").inc()
        raise RateLimited(
            "Too many requests with refused keys from this address; slow down",
            retry_after=retry_after_header(decision),
        ) from None
