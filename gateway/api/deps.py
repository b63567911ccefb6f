"""Dependency aliases every router may use: ``SessionDep`` (one session per request) and
``SettingsDep``, and the caller's address. They know no domain: key checks live with the keys
(``gateway.keys.deps``: ``MerchantDep`` and the scoped aliases), widget checks with the widget
(``gateway.widget.deps``: ``WidgetDep``, ``BeaconWidgetDep``), the runtime's alias with the
runtime (``gateway.runtime.RuntimeDep``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.clients import client_address
from gateway.db.session import session_scope
from gateway.settings import GatewaySettings


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


def client_ip(request: Request) -> str:
    """The caller's address (``X-Forwarded-For`` only through ``TRYON_TRUSTED_PROXIES``)."""
    settings: GatewaySettings = request.app.state.settings
    return client_address(request, settings.trusted_proxies)
