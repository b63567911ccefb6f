"""BigCommerce: the app's callbacks (auth, load, uninstall, remove_user), light hooks, the v3
catalog, v2 orders and the storefront loader registered through the Scripts API (routes
under ``/platforms/bigcommerce/``).

Importing the package registers ``BigCommerceAdapter`` with the core's registry.
"""

from __future__ import annotations

from gateway.platforms import registry
from gateway.platforms.bigcommerce.adapter import BigCommerceAdapter
from gateway.stores.models import Platform

registry.register(BigCommerceAdapter.from_settings, platform=Platform.BIGCOMMERCE)

__all__ = ["BigCommerceAdapter"]
