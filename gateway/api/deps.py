"""Dependency aliases for the routers: ``SessionDep``, ``SettingsDep``, ``MerchantDep``,
``RuntimeDep`` (limits, cache, storage, metrics, ML), ``WidgetDep`` (a publishable key
from an allowed origin, within its limits) and ``BeaconWidgetDep`` (the same, for
``POST /v1/events``, where the key may also come as ``?key=``)."""

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
from gateway.limits.clients import client_address
from gateway.runtime import Runtime
from gateway.settings import GatewaySettings
from gateway.widget import auth as widget_auth


# Dependencies that do no I/O are ``async``: a sync one costs a worker-thread hop per request.
async def get_settings(request: Request) -> GatewaySettings:
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


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_ip(request: Request) -> str:
    """The caller's address (``X-Forwarded-For`` only through ``TRYON_TRUSTED_PROXIES``)."""
    runtime: Runtime = request.app.state.runtime
    return client_address(request, runtime.settings.trusted_proxies)


def secret_key_principal(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> keys.Principal:
    """The merchant behind an ``sk_`` key; publishable keys are refused here (and refusals
    are counted per address: ``widget_auth.counting_failures``)."""
    with widget_auth.counting_failures(runtime=runtime, client_ip=client_ip(request)):
        principal = keys.authenticate(session=session, raw_key=_bearer(request))
        if principal.kind is not KeyKind.SECRET:
            raise KeyTypeNotAllowed("This endpoint needs a secret key (sk_...)")
    return principal


MerchantDep = Annotated[keys.Principal, Depends(secret_key_principal)]


def _widget_caller(
    request: Request, session: Session, runtime: Runtime, *, allow_query_key: bool
) -> widget_auth.WidgetCaller:
    address = client_ip(request)
    with widget_auth.counting_failures(runtime=runtime, client_ip=address):
        caller = widget_auth.authenticate(
            session=session,
            runtime=runtime,
            raw_key=widget_auth.request_key(
                authorization=request.headers.get("authorization"),
                query_key=request.query_params.get("key"),
                allow_query_key=allow_query_key,
            ),
            origin=widget_auth.page_origin(
                origin=request.headers.get("origin"),
                sec_fetch_site=request.headers.get("sec-fetch-site"),
                public_url=runtime.settings.public_url,
            ),
            now=utcnow(),
        )
    # CORS: the middleware echoes the Origin header only once it is known to be allowed. A
    # same-origin call without one needs no CORS headers.
    if request.headers.get("origin"):
        request.state.cors_origin = request.headers["origin"]
    widget_auth.limit(runtime=runtime, principal=caller.principal, client_ip=address)
    return caller


def widget_principal(request: Request, session: SessionDep, runtime: RuntimeDep) -> keys.Principal:
    """The merchant behind a ``pk_`` key (``Authorization: Bearer``) called from one of its
    allowed origins, within limits."""
    return _widget_caller(request, session, runtime, allow_query_key=False).principal


def beacon_caller(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> widget_auth.WidgetCaller:
    """As ``widget_principal``, with the page's origin, and the key also taken from
    ``?key=pk_...``: ``navigator.sendBeacon`` cannot set headers (``POST /v1/events`` only)."""
    return _widget_caller(request, session, runtime, allow_query_key=True)


WidgetDep = Annotated[keys.Principal, Depends(widget_principal)]
BeaconWidgetDep = Annotated[widget_auth.WidgetCaller, Depends(beacon_caller)]


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
OrdersWrite = Annotated[keys.Principal, Depends(_scoped("orders:write"))]
