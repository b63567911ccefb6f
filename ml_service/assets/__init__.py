"""Try-on assets: product image -> cut-out, crop, anchors, real size, content hash.

Public API: :func:`prepare_asset`, :class:`PreparedAsset`, :func:`load_asset`.
"""

from ml_service.assets.model import CATEGORIES, Category, PreparedAsset, load_asset
from ml_service.assets.prepare import prepare_asset

__all__ = ["CATEGORIES", "Category", "PreparedAsset", "load_asset", "prepare_asset"]
