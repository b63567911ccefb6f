"""Magento 2: the integration's OAuth 1.0a activation, the REST catalog and orders, and the
module's signed order posts (routes under ``/platforms/magento/``).

Importing the package registers ``MagentoAdapter`` with the core's registry.
"""

from __future__ import annotations

from gateway.platforms import registry
from gateway.platforms.magento.adapter import MagentoAdapter
from gateway.stores.models import Platform

registry.register(MagentoAdapter.from_settings, platform=Platform.MAGENTO)

__all__ = ["MagentoAdapter"]
