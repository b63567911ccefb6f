"""Shopify: OAuth install, session tokens, webhooks, the GraphQL catalog, the embedded admin
page and the web pixel's second attribution signal (routes under ``/platforms/shopify/``).

Importing the package registers ``ShopifyAdapter`` with the core's registry.
"""

from __future__ import annotations

from gateway.platforms import registry
from gateway.platforms.shopify.adapter import ShopifyAdapter
from gateway.stores.models import Platform

registry.register(ShopifyAdapter.from_settings, platform=Platform.SHOPIFY)

__all__ = ["ShopifyAdapter"]
