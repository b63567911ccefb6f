"""Hardened decoding of untrusted images (SECURITY.md: shopper photos, merchant uploads).

The order matters: size cap on the raw bytes, magic-byte allowlist, pixel and aspect caps read
from the header, and only then the full decode, restricted to the sniffed format's decoder.
EXIF orientation is applied and every other piece of metadata is dropped (only pixels leave
this module). Every failure is a ``GatewayError`` with a 4xx status, never a crash.
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass
from typing import Any

import anyio
import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from gateway.errors import (
    EmptyBody,
    ImageTooLarge,
    InvalidImage,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from gateway.memory import MemoryBudget, release_freed_memory

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


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an upload's header says, read (and checked against the caps) before decoding."""

    format: str
    width: int
    height: int
    mode: str
    """Pillow's mode before any conversion (``L``, ``RGB``, ``RGBA``, ``P``, ...)."""


# Bytes per pixel of Pillow's own buffer for a mode (multi-band modes take 4 bytes a pixel).
_PIL_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
_KEEP_MODES = frozenset({"L", "RGB"})
"""Modes resized as they are; any other is converted to RGB at full size first."""
_JPEG_REDUCTIONS = (8, 4, 2)
_WORKING_COPIES = 4 + 4 + 3 + 3
"""Bytes per working-size pixel: the resized image, its RGB conversion, the upright copy and
the BGR array (an upper bound: some are skipped when not needed)."""


def inspect(data: bytes, limits: ImageLimits) -> ImageHeader:
    """The header of ``data`` after the byte, type, pixel and aspect checks; decodes nothing."""
    with _open(data, limits) as image:
        return ImageHeader(
            format=_sniffed(data), width=image.size[0], height=image.size[1], mode=image.mode
        )


def working_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """``width`` x ``height`` shrunk so that the long side is at most ``max_side`` (pure)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def jpeg_reduction(width: int, height: int, target: tuple[int, int]) -> int:
    """The largest DCT scaling (1/8, 1/4, 1/2) that keeps a JPEG at least ``target`` (pure;
    the choice Pillow's ``draft`` makes)."""
    for k in _JPEG_REDUCTIONS:
        if -(-width // k) >= target[0] and -(-height // k) >= target[1]:
            return k
    return 1


def decode_cost(header: ImageHeader, *, max_side: int | None) -> int:
    """Peak bytes that ``decode(..., max_side=max_side)`` allocates for this image (pure): the
    full-size buffer the decoder fills (smaller for a JPEG decoded at a reduced size), a
    full-size conversion for modes other than L and RGB, and the working-size copies."""
    width, height = header.width, header.height
    target = working_size(width, height, max_side)
    mode = header.mode
    if header.format == "jpeg" and target != (width, height):
        k = jpeg_reduction(width, height, target)
        width, height = -(-width // k), -(-height // k)
    full = width * height * _PIL_BYTES_PER_PIXEL.get(mode, 4)
    if mode not in _KEEP_MODES:
        full += width * height * 4
    return full + target[0] * target[1] * _WORKING_COPIES


def decode(data: bytes, limits: ImageLimits, *, max_side: int | None = None) -> DecodedImage:
    """Decode ``data`` safely or raise a 4xx ``GatewayError`` saying why not.

    With ``max_side``, the pixels come at most that long on their long side: a JPEG is decoded
    straight to (about) that size by the decoder's DCT scaling, other formats are shrunk right
    after decoding, before any other copy is made. ``decode_cost`` says how many bytes that
    takes at the peak."""
    with _open(data, limits) as image:
        kind = _sniffed(data)
        target = working_size(*image.size, max_side)
        try:
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            if kind == "jpeg" and target != image.size:
                image.draft("RGB", target)
            image.load()
            # What the decoder made is checked again, in case it is not what the header said.
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageTooLarge("The image decompresses to too many pixels")
            work: Image.Image = image
            if work.mode not in _KEEP_MODES:
                work = work.convert("RGB")
            if work.size != target:
                work = work.resize(target, Image.Resampling.BOX)
            if work.mode != "RGB":
                work = work.convert("RGB")
            rgb = np.asarray(_upright(work, orientation), dtype=np.uint8)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge("The image decompresses to too many pixels") from None
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
            raise InvalidImage(f"The {kind.upper()} data is truncated or damaged") from exc
    bgr = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    return DecodedImage(pixels=bgr, format=kind)


TRIM_ABOVE_BYTES = 64 << 20
"""Decodes that needed more than this hand the freed memory back to the system at once
(a 24 Mpx upload, a 12 Mpx photo; not every live frame: a 1080p frame costs about 37 MB)."""


async def decode_within(
    budget: MemoryBudget, data: bytes, limits: ImageLimits, *, max_side: int | None = None
) -> DecodedImage:
    """``decode`` on a worker thread, holding its peak size (``decode_cost``, from the header)
    out of ``budget`` meanwhile: 413 when it alone needs more than the budget, 503 when the
    budget stays taken by others for the budget's wait."""
    # The header only (format, size, EXIF orientation): tens of microseconds, cheaper on the
    # event loop than a hop to a worker thread and back.
    header = inspect(data, limits)
    cost = decode_cost(header, max_side=max_side)
    async with budget.hold(cost):
        return await anyio.to_thread.run_sync(
            functools.partial(_decode_and_trim, data, limits, max_side=max_side, cost=cost)
        )


def _decode_and_trim(
    data: bytes, limits: ImageLimits, *, max_side: int | None, cost: int
) -> DecodedImage:
    try:
        return decode(data, limits, max_side=max_side)
    finally:
        if cost > TRIM_ABOVE_BYTES:
            release_freed_memory()


_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image, orientation: object) -> Image.Image:
    """``image`` turned as its (original's) EXIF orientation says; only pixels are kept."""
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def _sniffed(data: bytes) -> str:
    kind = sniff(data)
    if kind is None:
        raise UnsupportedMediaType(
            "Only JPEG, PNG and WebP images are accepted (checked from the file's content)",
            accepted=sorted(MEDIA_TYPES.values()),
        )
    return kind


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    """The image opened lazily (header only) after the byte, type and dimension checks."""
    if not data:
        raise EmptyBody("The image is empty (zero bytes)")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The image is {len(data)} bytes; the limit is {limits.max_bytes}",
            limit_bytes=limits.max_bytes,
        )
    kind = _sniffed(data)
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
    try:
        _check_dimensions(image.size, limits)
    except BaseException:
        image.close()
        raise
    return image


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
