"""Publishable-key authentication for ``POST /v1/events``: key, scope, allowed origin, CORS.

Kept small on purpose: the gateway's widget endpoints are growing fuller machinery (rate
limits, shared CORS); this module is the one place to switch over to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.api.deps import SessionDep
from gateway.api.origins import normalise_origin
from gateway.api.scopes import require_scope
from gateway.errors import InvalidApiKey, KeyTypeNotAllowed, OriginNotAllowed
from gateway.keys import service as keys
from gateway.keys.models import KeyKind


@dataclass(frozen=True, slots=True)
class WidgetCaller:
    principal: keys.Principal
    origin: str
    """The caller's normalised web origin (one of the key's allowed origins)."""


def _raw_key(request: Request) -> str:
    """``Authorization: Bearer pk_...``, or ``?key=pk_...`` where headers cannot be set
    (``navigator.sendBeacon``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.query_params.get("key")
    if key:
        return key
    raise InvalidApiKey("Send the publishable key as 'Authorization: Bearer pk_...' or ?key=")


def widget_caller(request: Request, session: SessionDep) -> WidgetCaller:
    principal = keys.authenticate(session=session, raw_key=_raw_key(request))
    if principal.kind is not KeyKind.PUBLISHABLE:
        raise KeyTypeNotAllowed("This endpoint takes a publishable key (pk_...)")
    require_scope(principal, "widget")
    raw_origin = request.headers.get("origin")
    if not raw_origin:
        raise OriginNotAllowed("Widget requests must carry an Origin header")
    try:
        origin = normalise_origin(raw_origin)
    except ValueError:
        raise OriginNotAllowed("The Origin header is not a web origin") from None
    if origin not in principal.allowed_origins:
        raise OriginNotAllowed("This origin is not allowed for the key")
    return WidgetCaller(principal=principal, origin=origin)


WidgetCallerDep = Annotated[WidgetCaller, Depends(widget_caller)]


def cors_headers(origin: str) -> dict[str, str]:
    """For an allowed origin only: echo it exactly, never ``*``, never credentials."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(raw_origin: str | None) -> dict[str, str]:
    """Preflights carry no key, so they cannot be checked against one: the POST is."""
    headers = {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
    try:
        origin = normalise_origin(raw_origin or "")
    except ValueError:
        return headers
    return {**headers, "Access-Control-Allow-Origin": origin}
