"""Dependency aliases for the routers: ``SessionDep``, ``SettingsDep``, ``MerchantDep``,
``RuntimeDep`` (limits, cache, storage, metrics, ML) and ``WidgetDep`` (a publishable key
from an allowed origin, within its limits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.api.scopes import require_scope
from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import InvalidApiKey, KeyTypeNotAllowed
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.runtime import Runtime
from gateway.settings import GatewaySettings
from gateway.widget import auth as widget_auth


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed before the response is sent."""
    with session_scope(request.app.state.engine) as session:
        yield session


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidApiKey("Send the key as 'Authorization: Bearer sk_...'")
    return token.strip()


def secret_key_principal(request: Request, session: SessionDep) -> keys.Principal:
    """The merchant behind an ``sk_`` key; publishable keys are refused here."""
    principal = keys.authenticate(session=session, raw_key=_bearer(request))
    if principal.kind is not KeyKind.SECRET:
        raise KeyTypeNotAllowed("This endpoint needs a secret key (sk_...)")
    return principal


MerchantDep = Annotated[keys.Principal, Depends(secret_key_principal)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def widget_principal(request: Request, session: SessionDep, runtime: RuntimeDep) -> keys.Principal:
    """The merchant behind a ``pk_`` key called from one of its allowed origins, within limits.

    On success the origin is recorded so the CORS middleware echoes it (and only then)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    raw = token.strip() if scheme.lower() == "bearer" else None
    principal = widget_auth.authenticate(
        session=session, raw_key=raw, origin=request.headers.get("origin"), now=utcnow()
    )
    request.state.cors_origin = request.headers["origin"]
    widget_auth.limit(runtime=runtime, principal=principal, client_ip=client_ip(request))
    return principal


WidgetDep = Annotated[keys.Principal, Depends(widget_principal)]


def _scoped(scope: str) -> Callable[[keys.Principal], keys.Principal]:
    """A dependency checking ``scope`` before the body is even validated."""

    def check(principal: MerchantDep) -> keys.Principal:
        require_scope(principal, scope)
        return principal

    return check


ProductsRead = Annotated[keys.Principal, Depends(_scoped("products:read"))]
ProductsWrite = Annotated[keys.Principal, Depends(_scoped("products:write"))]
KeysWrite = Annotated[keys.Principal, Depends(_scoped("keys:write"))]
UsageRead = Annotated[keys.Principal, Depends(_scoped("usage:read"))]
