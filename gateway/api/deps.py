"""Dependency aliases for the routers: ``SessionDep``, ``SettingsDep``, ``MerchantDep``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.db.session import session_scope
from gateway.errors import InvalidApiKey, KeyTypeNotAllowed
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.settings import GatewaySettings


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
