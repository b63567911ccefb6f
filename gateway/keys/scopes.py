"""Scope checks for keys."""

from __future__ import annotations

from gateway.errors import InsufficientScope
from gateway.keys.service import Principal


def require_scope(principal: Principal, scope: str) -> None:
    """Raise ``InsufficientScope`` unless the key carries ``scope``."""
    if scope not in principal.scopes:
        raise InsufficientScope(f"This key lacks the {scope!r} scope", required_scope=scope)
