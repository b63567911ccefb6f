"""Hardened decoding of untrusted images (SECURITY.md: shopper photos, merchant uploads).

The order matters: size cap on the raw bytes, magic-byte allowlist, pixel and aspect caps read
from the header, and only then the full decode, restricted to the sniffed format's decoder.
EXIF orientation is applied and every other piece of metadata is dropped (only pixels leave
this module). Every failure is a ``GatewayError`` with a 4xx status, never a crash.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from gateway.errors import (
    EmptyBody,
    ImageTooLarge,
    InvalidImage,
    PayloadTooLarge,
    UnsupportedMediaType,
)

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
ACCEPTED_CONTENT_TYPES = frozenset({*MEDIA_TYPES.values(), "application/octet-stream"})


MIN_SIDE = 16
"""The shortest side an image may have, in pixels (``422 invalid-image`` below it)."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_aspect: float
    min_side: int = MIN_SIDE


def request_body(description: str, media_types: tuple[str, ...]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of an image upload, its decoding rules declared where JSON
    Schema has no word for them (``x-min-side-px``)."""
    schema = {"type": "string", "format": "binary", "x-min-side-px": MIN_SIDE}
    return {
        "required": True,
        "description": f"{description}; each side at least {MIN_SIDE} pixels",
        "content": {media: {"schema": dict(schema)} for media in media_types},
    }


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """BGR pixels (H x W x 3, uint8, orientation applied; OpenCV's channel order, as
    ``ml_service`` takes them) and the format they came in."""

    pixels: NDArray[np.uint8]
    format: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def sniff(data: bytes) -> str | None:
    """The image format from the magic bytes, or None when it is not on the allowlist."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_content_type(content_type: str | None) -> None:
    """Refuse a declared type that is not an image we take (the bytes are sniffed anyway)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            "Send the image as image/jpeg, image/png or image/webp",
            accepted=sorted(MEDIA_TYPES.values()),
        )


def decode(data: bytes, limits: ImageLimits) -> DecodedImage:
    """Decode ``data`` safely or raise a 4xx ``GatewayError`` saying why not."""
    if not data:
        raise EmptyBody("The image is empty (zero bytes)")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The image is {len(data)} bytes; the limit is {limits.max_bytes}",
            limit_bytes=limits.max_bytes,
        )
    kind = sniff(data)
    if kind is None:
        raise UnsupportedMediaType(
            "Only JPEG, PNG and WebP images are accepted (checked from the file's content)",
            accepted=sorted(MEDIA_TYPES.values()),
        )
    with warnings.catch_warnings():
        # Pillow's own bomb check warns before it raises; ours (below) is stricter anyway.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge("The image declares far too many pixels") from None
        except UnidentifiedImageError:
            raise InvalidImage(f"The file looks like {kind.upper()} but cannot be read") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidImage(f"The {kind.upper()} header is damaged") from exc
        with image:
            _check_dimensions(image.size, limits)
            try:
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise ImageTooLarge("The image decompresses to too many pixels") from None
            except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
                raise InvalidImage(f"The {kind.upper()} data is truncated or damaged") from exc
    # Transposition can only swap the sides; checked again for the frames Pillow expands.
    _check_dimensions(rgb.size, limits)
    bgr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[:, :, ::-1])
    return DecodedImage(pixels=bgr, format=kind)


def _check_dimensions(size: tuple[int, int], limits: ImageLimits) -> None:
    width, height = size
    if width < limits.min_side or height < limits.min_side:
        raise InvalidImage(
            f"The image is {width}x{height}; each side needs at least {limits.min_side} pixels"
        )
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height} ({width * height} pixels); "
            f"the limit is {limits.max_pixels} pixels",
            limit_pixels=limits.max_pixels,
        )
    if max(width, height) / min(width, height) > limits.max_aspect:
        raise InvalidImage(
            f"The image is {width}x{height}; the sides may differ by at most "
            f"{limits.max_aspect:g} times"
        )


def downscale(pixels: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """``pixels`` shrunk so that its long side is at most ``max_side`` (area filter)."""
    height, width = pixels.shape[:2]
    if max(height, width) <= max_side:
        return pixels
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


_ENCODE_PARAMS = {
    "jpeg": (".jpg", cv2.IMWRITE_JPEG_QUALITY),
    "webp": (".webp", cv2.IMWRITE_WEBP_QUALITY),
    "png": (".png", cv2.IMWRITE_PNG_COMPRESSION),
}


def encode(pixels: NDArray[np.uint8], kind: str, *, quality: int = 88) -> bytes:
    """Encode BGR pixels as ``kind`` (jpeg, png, webp). Only pixels: no metadata at all."""
    if kind not in _ENCODE_PARAMS:
        raise ValueError(f"unknown image kind {kind!r}")
    ext, flag = _ENCODE_PARAMS[kind]
    value = 3 if kind == "png" else quality
    ok, buf = cv2.imencode(ext, pixels, [flag, value])
    if not ok:
        raise ValueError(f"cannot encode a {pixels.shape} array as {kind}")
    return bytes(buf)
