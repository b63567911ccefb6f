"""The gateway's side of the ML facade: which engine, how its errors read, stored assets.

``TRYON_ML_URL`` set: ``MLClient`` over HTTP; otherwise the in-process ``LocalEngine``, one per
process (models load once, however many apps a process builds). ML errors become gateway
errors here, in one place: unusable input is a 4xx, a failing ML service a 503.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict

from gateway.errors import (
    AssetRefused,
    BadAnchors,
    BadRequest,
    DependencyUnavailable,
    EmptyBody,
    GatewayError,
    ImageTooLarge,
    InvalidImage,
    NothingToTryOn,
    UnsupportedMediaType,
)
from gateway.settings import GatewaySettings
from gateway.storage import Storage, require
from ml_service import errors as ml_errors
from ml_service.assets import PreparedAsset, load_asset
from ml_service.engine import LocalEngine, TryOnEngine
from ml_service.render import errors as render_errors

ASSET_CACHE = 128


@functools.cache
def local_engine() -> LocalEngine:
    """The process-wide in-process engine (models load on first use)."""
    return LocalEngine()


def build_engine(settings: GatewaySettings) -> TryOnEngine:
    if settings.ml_url:
        from ml_service.client import MLClient  # noqa: PLC0415 - only in the scale-out mode

        return MLClient(settings.ml_url, timeout_s=settings.ml_timeout_s)
    return local_engine()


_UNREADABLE: dict[str, type[GatewayError]] = {
    "empty": EmptyBody,
    "too-large": ImageTooLarge,
    "unsupported-type": UnsupportedMediaType,
}


def from_ml_error(exc: Exception) -> GatewayError:
    """The gateway error an ML exception stands for."""
    if isinstance(exc, render_errors.AssetUnreadable):
        return _UNREADABLE.get(exc.reason, InvalidImage)(exc.message, reason=exc.reason)
    if isinstance(exc, render_errors.BadAnchors):
        return BadAnchors(exc.message, reason=exc.reason)
    if isinstance(exc, render_errors.CannotRender):
        return NothingToTryOn(exc.message, reason=exc.reason)
    if isinstance(exc, render_errors.TryOnInputError):
        return AssetRefused(exc.message, reason=exc.reason)
    if isinstance(exc, ml_errors.ImageTooLarge):
        return ImageTooLarge(str(exc))
    if isinstance(exc, ml_errors.InvalidImage):
        return InvalidImage(str(exc))
    if isinstance(exc, ml_errors.MLError):
        return DependencyUnavailable("ml", "The try-on engine is unavailable")
    return BadRequest(str(exc))


ML_EXCEPTIONS = (ml_errors.MLError, render_errors.TryOnInputError)


# --- stored assets ---------------------------------------------------------------------------


def asset_keys(merchant_id: str, content_hash: str) -> tuple[str, str]:
    """Storage keys of an asset's cut-out and metadata."""
    base = f"{merchant_id}/assets/{content_hash}"
    return base + ".png", base + ".json"


def store_asset(storage: Storage, merchant_id: str, asset: PreparedAsset) -> str:
    """Write the asset (cut-out and metadata); returns the key of the cut-out."""
    png_key, meta_key = asset_keys(merchant_id, asset.content_hash)
    storage.put(png_key, asset.png)
    storage.put(meta_key, asset.meta_json)
    return png_key


def delete_stored_asset(storage: Storage, merchant_id: str, content_hash: str) -> None:
    """Remove the asset's cut-out and metadata (no error when they are gone already)."""
    for key in asset_keys(merchant_id, content_hash):
        storage.delete(key)


class AssetCache:
    """Loaded assets by content hash (they never change), read from storage on a miss."""

    def __init__(self, storage: Storage, capacity: int = ASSET_CACHE) -> None:
        self.storage = storage
        self.capacity = capacity
        self._items: OrderedDict[str, PreparedAsset] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, merchant_id: str, content_hash: str) -> tuple[PreparedAsset, bool]:
        """The asset and whether it came from memory; ``DependencyUnavailable`` if lost."""
        key = f"{merchant_id}:{content_hash}"
        with self._lock:
            asset = self._items.get(key)
            if asset is not None:
                self._items.move_to_end(key)
                return asset, True
        png_key, meta_key = asset_keys(merchant_id, content_hash)
        png = require(self.storage, png_key, "The prepared try-on asset")
        meta = require(self.storage, meta_key, "The prepared try-on asset")
        try:
            asset = load_asset(png, meta, expected_hash=content_hash)
        except render_errors.AssetUnreadable as exc:
            raise DependencyUnavailable("storage", "The stored try-on asset is damaged") from exc
        with self._lock:
            self._items[key] = asset
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return asset, False


def anchors_json(asset: PreparedAsset) -> dict[str, object]:
    """What the asset row keeps: the metadata without the pixels."""
    meta: dict[str, object] = json.loads(asset.meta_json)
    return meta
