"""WooCommerce: the key exchange, signed webhooks, the REST API v3 catalog and orders (routes
under ``/platforms/woocommerce/``); the WordPress plugin is ``plugins/woocommerce/``.

Importing the package registers ``WooCommerceAdapter`` with the core's registry.
"""

from __future__ import annotations

from gateway.platforms import registry
from gateway.platforms.woocommerce.adapter import WooCommerceAdapter
from gateway.stores.models import Platform

registry.register(WooCommerceAdapter.from_settings, platform=Platform.WOOCOMMERCE)

__all__ = ["WooCommerceAdapter"]
