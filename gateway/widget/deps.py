"""Publishable-key dependencies for widget routes: ``WidgetDep`` (a ``pk_`` key from an
allowed origin, within its limits) and ``BeaconWidgetDep`` (the same, for ``POST /v1/events``,
where the key may also come as ``?key=``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.api.deps import SessionDep, client_ip
from gateway.db.base import utcnow
from gateway.keys import service as keys
from gateway.runtime import Runtime, RuntimeDep
from gateway.widget import auth as widget_auth


def widget_caller(
    request: Request, session: Session, runtime: Runtime, *, allow_query_key: bool
) -> widget_auth.WidgetCaller:
    """The checked caller of a widget request (key, origin, limits), as the dependencies below
    give it; also for routes that check it themselves (``gateway.widget.config``)."""
    address = client_ip(request)
    with runtime.counting_failures(address):
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
    return widget_caller(request, session, runtime, allow_query_key=False).principal


def beacon_caller(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> widget_auth.WidgetCaller:
    """As ``widget_principal``, with the page's origin, and the key also taken from
    ``?key=pk_...``: ``navigator.sendBeacon`` cannot set headers (``POST /v1/events`` only)."""
    return widget_caller(request, session, runtime, allow_query_key=True)


WidgetDep = Annotated[keys.Principal, Depends(widget_principal)]
BeaconWidgetDep = Annotated[widget_auth.WidgetCaller, Depends(beacon_caller)]
