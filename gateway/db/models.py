"""Every mapped class, imported in one place so metadata and migrations see them all."""

from gateway.assets.models import BrandModelPhoto, ModelPhotoKind, TryOnAsset
from gateway.db.base import Base
from gateway.experiments.models import Experiment
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants.models import Merchant, MerchantStatus
from gateway.platforms.magento.models import PendingActivation
from gateway.platforms.models import CategoryRule, JobKind, JobStatus, PlatformJob
from gateway.platforms.shopify.models import PixelEvidence
from gateway.products.models import Category, Product, ProductVariant
from gateway.sessions.models import TryOnMode, TryOnSession
from gateway.stores.models import Platform, Store, StoreStatus
from gateway.usage.models import QuotaUse, UsageDaily

__all__ = [
    "ApiKey",
    "Base",
    "BrandModelPhoto",
    "Category",
    "CategoryRule",
    "Experiment",
    "JobKind",
    "JobStatus",
    "KeyKind",
    "Merchant",
    "MerchantStatus",
    "ModelPhotoKind",
    "PendingActivation",
    "PixelEvidence",
    "Platform",
    "PlatformJob",
    "Product",
    "ProductVariant",
    "QuotaUse",
    "Store",
    "StoreStatus",
    "TryOnAsset",
    "TryOnMode",
    "TryOnSession",
    "UsageDaily",
]
