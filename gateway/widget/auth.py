"""Publishable-key authentication for widget calls: key, scope, origin, then limits.

Shared by HTTP routes (``WidgetDep``) and the live WebSocket (``authorize``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.api.origins import normalise_origin
from gateway.api.scopes import require_scope
from gateway.errors import InvalidApiKey, KeyTypeNotAllowed, OriginNotAllowed, RateLimited
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.limits.ratelimit import retry_after_header
from gateway.runtime import Runtime


def authenticate(
    *, session: Session, raw_key: str | None, origin: str | None, now: datetime
) -> keys.Principal:
    """The principal of a widget call (key, kind, scope, origin checked), or the
    ``GatewayError`` that refuses it. Limits are the caller's next step (``limit``)."""
    if not raw_key:
        raise InvalidApiKey("Send the publishable key as 'Authorization: Bearer pk_...'")
    principal = keys.authenticate(session=session, raw_key=raw_key, now=now)
    if principal.kind is not KeyKind.PUBLISHABLE:
        raise KeyTypeNotAllowed(
            "Widget endpoints take a publishable key (pk_...); never put a secret key in a page"
        )
    require_scope(principal, "widget")
    check_origin(principal, origin)
    keys.touch(session=session, key_id=principal.key_id, now=now)
    return principal


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
    """Per-key and per-IP rate limits (429 with Retry-After)."""
    s = runtime.settings
    for scope, key, per_window in (
        ("rate_key", f"key:{principal.key_id}", s.rate_limit_per_key),
        ("rate_ip", f"ip:{client_ip}", s.rate_limit_per_ip),
    ):
        decision = runtime.limiter.hit(key, limit=per_window, window_s=s.rate_limit_window_s)
        if not decision.allowed:
            runtime.metrics.rejections.labels(scope).inc()
            what = "this key" if scope == "rate_key" else "this address"
            raise RateLimited(
                f"Too many requests from {what}; slow down",
                retry_after=retry_after_header(decision),
            )
