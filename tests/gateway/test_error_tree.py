"""One exception tree: every gateway error is defined in ``gateway/errors.py`` and drawn in
its docstring with its status and slug, so the tree a reader sees is the whole tree."""

from __future__ import annotations

import importlib
import pkgutil
import re

import gateway
from gateway import errors
from gateway.errors import GatewayError


def _every_gateway_module() -> None:
    for info in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if not info.name.startswith("gateway.migrations"):  # Alembic scripts run on import
            importlib.import_module(info.name)


def _subclasses(cls: type[GatewayError]) -> set[type[GatewayError]]:
    found: set[type[GatewayError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _drawn() -> dict[str, tuple[int, str]]:
    """Name -> (status, slug) for every line of the docstring's tree."""
    drawn = {}
    for match in re.finditer(r"(\w+)\s+(\d{3}) ([a-z-]+)", errors.__doc__ or ""):
        drawn[match.group(1)] = (int(match.group(2)), match.group(3))
    return drawn


def test_every_gateway_error_lives_in_the_tree() -> None:
    _every_gateway_module()
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(GatewayError)
        if cls.__module__ != "gateway.errors"
    )
    assert outside == []


def test_the_drawn_tree_is_the_tree() -> None:
    _every_gateway_module()
    actual = {
        cls.__name__: (cls.status, cls.slug) for cls in {GatewayError, *_subclasses(GatewayError)}
    }
    assert _drawn() == actual
