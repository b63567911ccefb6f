"""Decode untrusted image bytes into BGR arrays: caps first, allowlisted formats, EXIF applied.

Order matters: the byte cap before anything, the magic bytes before any decoder, the pixel
count from the header before the full decode (decompression bombs), then decode, apply the
EXIF orientation and drop all metadata (only pixels leave this module).

``decode_image_reduced`` decodes a large JPEG at 1/2, 1/4 or 1/8 of its size in the JPEG
decoder itself (DCT scaling: a 12 Mpx photo in about a sixth of the time) for work that does
not need every pixel, such as perception, which maps its results back to the full image with
the returned scale (``ml_service.perception.rescale``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from ml_service.errors import ImageTooLarge, InvalidImage

MAX_BYTES = 10 * 1024 * 1024
MAX_ASPECT = 10.0
FORMATS = {"JPEG", "PNG", "WEBP"}
JPEG_SCALES = (8, 4, 2)  # the reductions libjpeg's DCT scaling offers, largest first
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class Decoded:
    """An upright image decoded at 1/``scale`` of its full size (``width`` x ``height``).

    Pixel ``j`` of ``pixels`` covers full-size pixels ``scale * j`` to ``scale * j + scale
    - 1``: its centre is at ``scale * j + (scale - 1) / 2`` in the full image.
    """

    pixels: NDArray[np.uint8]  # H x W x 3 BGR
    scale: int  # 1, 2, 4 or 8
    width: int
    height: int


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
    return _decode(data, max_bytes=max_bytes, max_pixels=max_pixels, min_side=None).pixels


def decode_image_reduced(
    data: bytes, *, min_side: int, max_bytes: int = MAX_BYTES, max_pixels: int = 24_000_000
) -> Decoded:
    """Like ``decode_image``, but a JPEG whose shorter side is at least twice ``min_side`` is
    decoded at the largest of 1/2, 1/4, 1/8 of its size that keeps that side >= ``min_side``.
    Other formats and smaller images come at full size (scale 1). The checks are the same."""
    if min_side < 1:
        raise ValueError("min_side must be positive")
    return _decode(data, max_bytes=max_bytes, max_pixels=max_pixels, min_side=min_side)


def _reduction(width: int, height: int, min_side: int | None) -> int:
    if min_side is None:
        return 1
    return next((k for k in JPEG_SCALES if min(width, height) // k >= min_side), 1)


def _decode(data: bytes, *, max_bytes: int, max_pixels: int, min_side: int | None) -> Decoded:
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
                scale = _reduction(w, h, min_side) if kind == "JPEG" else 1
                if scale > 1:  # libjpeg decodes straight to the smaller size
                    image.draft("RGB", (-(-w // scale), -(-h // scale)))
                    scale = round(w / image.size[0])
                image.load()
                orientation = image.getexif().get(EXIF_ORIENTATION, 1)
                # Copies cost tens of milliseconds on a large photo: make only the needed ones.
                upright = ImageOps.exif_transpose(image) if orientation != 1 else image
                if upright.mode != "RGB":
                    upright = upright.convert("RGB")
                rgb = np.asarray(upright, dtype=np.uint8)
    except (InvalidImage, ImageTooLarge):
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"cannot decode the {kind} image: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc), limit=max_pixels, actual=0) from None
    bgr = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    turned = orientation in (5, 6, 7, 8)  # EXIF orientations that swap width and height
    return Decoded(pixels=bgr, scale=scale, width=h if turned else w, height=w if turned else h)


def read_image_file(
    path: Path, *, max_bytes: int = MAX_BYTES, max_pixels: int = 24_000_000
) -> NDArray[np.uint8]:
    """Read and decode an image file (same checks as ``decode_image``)."""
    return decode_image(_read(path, max_bytes), max_bytes=max_bytes, max_pixels=max_pixels)


def read_image_file_reduced(
    path: Path, *, min_side: int, max_bytes: int = MAX_BYTES, max_pixels: int = 24_000_000
) -> Decoded:
    """Read an image file and decode it as ``decode_image_reduced`` does."""
    data = _read(path, max_bytes)
    return decode_image_reduced(data, min_side=min_side, max_bytes=max_bytes, max_pixels=max_pixels)


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        if not path.is_file():
            raise InvalidImage("no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLarge(
                f"{size} bytes exceeds the cap of {max_bytes}", limit=max_bytes, actual=size
            )
        return path.read_bytes()
    except OSError as exc:
        raise InvalidImage(f"cannot read: {exc.strerror or exc}") from None
