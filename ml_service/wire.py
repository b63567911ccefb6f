"""The wire format shared by ``ml_service.service`` (server) and ``ml_service.client``.

Images travel as raw BGR bytes with their shape in a header: exact (the remote engine sees
the same pixels as an in-process one) and cheaper than any codec on a fast network. Errors
travel as problem+json naming the exception class and its context, so the client raises the
same exception types the in-process engine would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service import errors as ml_errors
from ml_service.assets import PreparedAsset, load_asset
from ml_service.engine import SizeOption
from ml_service.render import errors as render_errors

PIXELS_MEDIA_TYPE = "application/x-tryon-bgr"
SHAPE_HEADER = "tryon-shape"
GEOMETRY_HEADER = "tryon-geometry"
TIMINGS_HEADER = "tryon-timings"
SIZES_HEADER = "tryon-size-options"
SIZE_HEADER = "tryon-size-recommendation"
MAX_SIDE = 8192


def shape_header(image: NDArray[np.uint8]) -> str:
    height, width = image.shape[:2]
    return f"{height}x{width}"


def pixels_from_wire(body: bytes, shape: str | None) -> NDArray[np.uint8]:
    """BGR pixels from raw bytes and a ``HxW`` header; ``InvalidImage`` if they disagree."""
    try:
        height, width = (int(v) for v in (shape or "").split("x"))
    except ValueError:
        raise ml_errors.InvalidImage("the Tryon-Shape header must be HEIGHTxWIDTH") from None
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ml_errors.InvalidImage(f"image sides must be 1..{MAX_SIDE}")
    if len(body) != height * width * 3:
        raise ml_errors.InvalidImage(f"{len(body)} bytes do not make a {height}x{width} BGR image")
    return np.frombuffer(body, np.uint8).reshape(height, width, 3).copy()


def asset_to_json(asset: PreparedAsset) -> dict[str, Any]:
    return {
        "png": base64.b64encode(asset.png).decode(),
        "meta": json.loads(asset.meta_json),
        "content_hash": asset.content_hash,
    }


def asset_from_json(data: Mapping[str, Any]) -> PreparedAsset:
    try:
        png = base64.b64decode(data["png"], validate=True)
        meta = json.dumps(data["meta"], sort_keys=True, separators=(",", ":")).encode()
    except (KeyError, TypeError, ValueError) as exc:
        raise render_errors.AssetUnreadable(
            "the asset body is malformed", reason="malformed-asset"
        ) from exc
    return load_asset(png, meta, expected_hash=data.get("content_hash"))


def size_option_to_json(option: SizeOption) -> dict[str, Any]:
    return {
        "variant_id": option.variant_id,
        "size": option.size,
        "measurements": dict(option.measurements),
    }


def size_options_from_json(data: Any) -> list[SizeOption]:
    """Size options from JSON; ``InvalidImage`` (a 4xx) when malformed."""
    try:
        return [
            SizeOption(
                variant_id=str(o["variant_id"]),
                size=None if o.get("size") is None else str(o["size"]),
                measurements={str(k): float(v) for k, v in o.get("measurements", {}).items()},
            )
            for o in data
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ml_errors.InvalidImage("the size options are malformed") from None


# --- errors ----------------------------------------------------------------------------------

_INPUT_ERRORS: dict[str, type[render_errors.TryOnInputError]] = {
    cls.__name__: cls
    for cls in (
        render_errors.TryOnInputError,
        render_errors.AssetRefused,
        render_errors.AssetUnreadable,
        render_errors.BadAnchors,
        render_errors.CannotRender,
    )
}


def error_to_problem(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and problem body for an exception raised by the engine."""
    body: dict[str, Any] = {"error": type(exc).__name__, "detail": str(exc)}
    if isinstance(exc, render_errors.TryOnInputError):
        body.update(type="/problems/ml-input", title="Unusable input", reason=exc.reason)
        return 422, body
    if isinstance(exc, ml_errors.ImageTooLarge):
        body.update(
            type="/problems/ml-image-too-large",
            title="Image too large",
            limit=exc.limit,
            actual=exc.actual,
        )
        return 413, body
    if isinstance(exc, ml_errors.InvalidImage):
        body.update(type="/problems/ml-invalid-image", title="Invalid image")
        return 422, body
    if isinstance(exc, ml_errors.BackendError):
        body.update(
            type="/problems/ml-backend",
            title="Inference failed",
            model=exc.model,
            backend=exc.backend,
        )
        return 503, body
    if isinstance(exc, ml_errors.ModelUnavailable):
        body.update(type="/problems/ml-models-unavailable", title="Models unavailable")
        return 503, body
    raise exc


def problem_to_error(status: int, body: Mapping[str, Any]) -> Exception:
    """The exception a problem body stands for (the inverse of ``error_to_problem``)."""
    name = str(body.get("error", ""))
    detail = str(body.get("detail", "the ML service refused the request"))
    if name in _INPUT_ERRORS:
        return _INPUT_ERRORS[name](detail, reason=str(body.get("reason") or "invalid-input"))
    if name == "ImageTooLarge":
        return ml_errors.ImageTooLarge(
            detail, limit=int(body.get("limit", 0)), actual=int(body.get("actual", 0))
        )
    if name == "InvalidImage" or status in (400, 413, 415, 422):
        return ml_errors.InvalidImage(detail)
    if name == "ModelUnavailable":
        return ml_errors.ModelUnavailable(detail)
    return ml_errors.BackendUnavailable(
        detail, model=str(body.get("model", "-")), backend=str(body.get("backend", "http"))
    )
