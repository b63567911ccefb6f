"""Which adapter speaks for which platform: platform packages register a factory at import.

``register`` is called by each platform package (``gateway/platforms/<platform>/__init__``
or its ``adapter`` module); ``get_adapter`` builds the adapter from settings for the core
(intake, sync, handlers) and the CLI. Tests register small fakes the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from gateway.errors import NotFound
from gateway.platforms.protocol import PlatformAdapter
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform

AdapterFactory = Callable[[GatewaySettings], PlatformAdapter]

_FACTORIES: dict[Platform, AdapterFactory] = {}

# Platform packages that register themselves on import; imported lazily by ``get_adapter``
# so the core never imports a platform package at module level.
_KNOWN_PACKAGES: dict[Platform, str] = {
    Platform.SHOPIFY: "gateway.platforms.shopify",
    Platform.BIGCOMMERCE: "gateway.platforms.bigcommerce",
    Platform.WOOCOMMERCE: "gateway.platforms.woocommerce",
    Platform.MAGENTO: "gateway.platforms.magento",
}


def register(
    adapter_factory: AdapterFactory | Platform,
    factory: AdapterFactory | None = None,
    *,
    platform: Platform | None = None,
) -> None:
    """Make ``adapter_factory(settings)`` the adapter for its platform (the last registration
    wins). ``platform`` defaults to the factory's ``platform`` attribute, so an adapter class
    with a ``platform`` class attribute registers itself with ``register(ShopifyAdapter)``;
    ``register(Platform.SHOPIFY, factory)`` (the first published form) works too."""
    chosen: AdapterFactory | None
    if isinstance(adapter_factory, str):
        platform, chosen = Platform(adapter_factory), factory
    else:
        chosen = adapter_factory
    if chosen is None:
        raise ValueError("register() needs an adapter factory")
    key = platform if platform is not None else getattr(chosen, "platform", None)
    if key is None:
        raise ValueError("register() needs a platform: pass platform= or give the factory one")
    _FACTORIES[Platform(key)] = chosen


def unregister(platform: Platform) -> None:
    """Forget the adapter of ``platform`` (tests that registered a fake)."""
    _FACTORIES.pop(Platform(platform), None)


def get_adapter(settings: GatewaySettings, platform: Platform | str) -> PlatformAdapter:
    """The adapter for ``platform``; ``NotFound`` when no package provides one."""
    try:
        key = Platform(platform)
    except ValueError:
        raise NotFound(f"unknown platform {platform!r}") from None
    if key not in _FACTORIES and key in _KNOWN_PACKAGES:
        module = _KNOWN_PACKAGES[key]
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the package exists but is broken: say so
                raise
    factory = _FACTORIES.get(key)
    if factory is None:
        raise NotFound(f"no adapter for platform {key.value!r}")
    return factory(settings)
