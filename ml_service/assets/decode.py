"""Safe decoding of merchant product images into BGRA arrays.

Caps are checked before the full decode: byte size, magic bytes (PNG, JPEG, WebP only), and
the pixel count read from the header, so a decompression bomb is refused without allocating.

Shopper photos go through ``ml_service.image_io`` (BGR, 10 MB, errors of the perception
service); product images come here because they differ in what they must keep and allow:
the alpha channel (a cut-out packshot), a larger byte cap (15 MB: print-quality packshots),
a wider aspect ratio (20: a necklace laid out flat) and asset errors with a ``reason``. The
format sniffing is the same and is shared.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from ml_service.image_io import EXIF_ORIENTATION, sniff
from ml_service.render.errors import AssetUnreadable

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 24_000_000
MAX_ASPECT = 20.0


def decode_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> NDArray[np.uint8]:
    """Decode PNG/JPEG/WebP bytes to an H x W x 4 BGRA uint8 array (EXIF orientation applied).

    Raises AssetUnreadable with a reason for anything else."""
    if not data:
        raise AssetUnreadable("the image is empty (0 bytes)", reason="empty")
    if len(data) > max_bytes:
        raise AssetUnreadable(
            f"the image is {len(data)} bytes, over the {max_bytes} byte limit", reason="too-large"
        )
    fmt = sniff(data)
    if fmt is None:
        raise AssetUnreadable("not a PNG, JPEG or WebP image", reason="unsupported-type")
    try:
        with warnings.catch_warnings():
            # Our own pixel cap below is stricter; Pillow's bomb warning must not leak out.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                width, height = im.size
                _check_dimensions(width, height, max_pixels)
                arr = _bgra_array(im)
    except AssetUnreadable:
        raise
    except Image.DecompressionBombError:
        raise AssetUnreadable(
            "the image declares more pixels than allowed", reason="too-many-pixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise AssetUnreadable("the image is corrupt or truncated", reason="corrupt") from None
    return arr


def _bgra_array(im: Image.Image) -> NDArray[np.uint8]:
    """The decoded pixels as BGRA, upright. Each full-size buffer is let go as soon as the
    next one exists (a 24 Mpx packshot is 96 MB a copy): at most two are alive at once."""
    im.load()
    orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    rgba = im if im.mode == "RGBA" else im.convert("RGBA")
    if rgba is not im:
        im.close()
    if orientation != 1:
        upright = ImageOps.exif_transpose(rgba)
        rgba.close()
        rgba = upright
    rgb_a = np.asarray(rgba, dtype=np.uint8)
    rgba.close()
    return np.asarray(cv2.cvtColor(rgb_a, cv2.COLOR_RGBA2BGRA), dtype=np.uint8)


def _check_dimensions(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise AssetUnreadable("the image has no pixels", reason="corrupt")
    if width * height > max_pixels:
        raise AssetUnreadable(
            f"the image is {width}x{height}, over the {max_pixels} pixel limit",
            reason="too-many-pixels",
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise AssetUnreadable(
            f"the image is {width}x{height}: aspect ratio over {MAX_ASPECT:g}",
            reason="bad-aspect-ratio",
        )


def to_bgra(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Any uint8 grey, BGR or BGRA array as BGRA (a copy)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise AssetUnreadable("expected a uint8 grey, BGR or BGRA array", reason="bad-array")
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        grey = image[:, :, 0]
        return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    if channels == 3:
        return np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    if channels == 4:
        return image.copy()
    raise AssetUnreadable(f"expected 1, 3 or 4 channels, got {channels}", reason="bad-array")
