"""Errors of asset preparation and rendering.

::

    MLError (ml_service.errors)
    └── TryOnInputError                 an input that cannot be used (4xx)
        ├── AssetRefused                the product image cannot become a try-on asset
        │   └── AssetUnreadable         not a PNG/JPEG/WebP we decode safely, or over the caps
        ├── BadAnchors                  hand-given anchors are malformed or outside the image
        └── CannotRender                the photo does not allow this category

Every error carries a stable ``reason`` (a short slug the gateway puts into problem+json)
and a human message. They all mean "the input is unusable": a 4xx, never a 500.
"""

from __future__ import annotations

from ml_service.errors import MLError


class TryOnInputError(MLError):
    """Base: an input (product image, anchors, photo) that cannot be used."""

    reason: str = "invalid-input"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class AssetRefused(TryOnInputError):
    """The product image cannot be turned into a try-on asset."""

    reason = "asset-refused"


class AssetUnreadable(AssetRefused):
    """The bytes are not an image we accept (type, size, pixels, corruption)."""

    reason = "unreadable"


class BadAnchors(TryOnInputError):
    """Hand-given anchors are malformed, missing points, or outside the image."""

    reason = "bad-anchors"


class CannotRender(TryOnInputError):
    """The photo does not show what this category needs (no face, body not visible...)."""

    reason = "cannot-render"
