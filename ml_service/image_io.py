"""Decode untrusted image bytes into BGR arrays: caps first, allowlisted formats, EXIF applied.

Order matters: the byte cap before anything, the magic bytes before any decoder, the pixel
count from the header before the full decode (decompression bombs), then decode, apply the
EXIF orientation and drop all metadata (only pixels leave this module).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from ml_service.errors import ImageTooLarge, InvalidImage

MAX_BYTES = 10 * 1024 * 1024
MAX_ASPECT = 10.0
FORMATS = {"JPEG", "PNG", "WEBP"}


def sniff(data: bytes) -> str | None:
    """The allowlisted format of ``data`` from its magic bytes, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = 24_000_000
) -> NDArray[np.uint8]:
    """JPEG / PNG / WebP bytes -> H x W x 3 BGR uint8, upright, without metadata."""
    if not data:
        raise InvalidImage("empty file")
    if len(data) > max_bytes:
        raise ImageTooLarge(
            f"{len(data)} bytes exceeds the cap of {max_bytes}", limit=max_bytes, actual=len(data)
        )
    kind = sniff(data)
    if kind is None:
        raise InvalidImage("not a JPEG, PNG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                w, h = image.size
                if w < 1 or h < 1:
                    raise InvalidImage("image has no pixels")
                if w * h > max_pixels:
                    raise ImageTooLarge(
                        f"{w}x{h} exceeds the cap of {max_pixels} pixels",
                        limit=max_pixels,
                        actual=w * h,
                    )
                if max(w, h) / min(w, h) > MAX_ASPECT:
                    raise InvalidImage(f"aspect ratio of {w}x{h} is beyond 1:{MAX_ASPECT:g}")
                image.load()
                upright = ImageOps.exif_transpose(image).convert("RGB")
    except (InvalidImage, ImageTooLarge):
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"cannot decode the {kind} image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc), limit=max_pixels, actual=0) from None
    rgb = np.asarray(upright, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def read_image_file(
    path: Path, *, max_bytes: int = MAX_BYTES, max_pixels: int = 24_000_000
) -> NDArray[np.uint8]:
    """Read and decode an image file (same checks as ``decode_image``)."""
    try:
        if not path.is_file():
            raise InvalidImage("no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLarge(
                f"{size} bytes exceeds the cap of {max_bytes}", limit=max_bytes, actual=size
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidImage(f"cannot read: {exc.strerror or exc}") from None
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
