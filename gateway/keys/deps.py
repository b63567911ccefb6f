"""Secret-key dependencies for merchant routes: ``MerchantDep`` (an ``sk_`` key's merchant)
and one alias per scope (``ProductsRead``, ``ProductsWrite``, ...), checked before the body is
even validated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from gateway.api.deps import SessionDep, client_ip
from gateway.errors import InvalidApiKey, KeyTypeNotAllowed
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.keys.scopes import require_scope


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidApiKey("Send the key as 'Authorization: Bearer sk_...'")
    return token.strip()


def secret_key_principal(request: Request, session: SessionDep) -> keys.Principal:
    """The merchant behind an ``sk_`` key; publishable keys are refused here, and refusals
    are counted per address (``Runtime.counting_failures``: 429 past the limit)."""
    # The runtime sits above the keys (it holds their caches): reached through the app.
    with request.app.state.runtime.counting_failures(client_ip(request)):
        principal = keys.authenticate(session=session, raw_key=_bearer(request))
        if principal.kind is not KeyKind.SECRET:
            raise KeyTypeNotAllowed("This endpoint needs a secret key (sk_...)")
    return principal


MerchantDep = Annotated[keys.Principal, Depends(secret_key_principal)]


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
ExperimentsWrite = Annotated[keys.Principal, Depends(_scoped("experiments:write"))]
