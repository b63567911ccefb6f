"""Decoding untrusted image bytes: caps, allowlist, EXIF, and hostile files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ml_service.errors import ImageTooLarge, InvalidImage
from ml_service.image_io import decode_image, decode_image_reduced, sniff


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def test_png_jpeg_webp_decode_to_bgr() -> None:
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    for fmt in ("PNG", "JPEG", "WEBP"):
        pixels = decode_image(_encode(red, fmt, quality=95) if fmt != "PNG" else _encode(red, fmt))
        assert pixels.shape == (10, 20, 3)
        assert pixels.dtype == np.uint8
        assert pixels[5, 10, 2] > 200
        assert pixels[5, 10, 0] < 60


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    pixels = decode_image(_encode(image, "JPEG", exif=exif.tobytes()))
    assert pixels.shape[:2] == (40, 20)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 30, "not a JPEG"),
        (b"%PDF-1.7\n", "not a JPEG"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 10, "cannot decode"),  # truncated JPEG
    ],
)
def test_hostile_or_wrong_files_are_invalid(data: bytes, error: str) -> None:
    with pytest.raises(InvalidImage, match=error):
        decode_image(data)


def test_truncated_png_is_invalid() -> None:
    data = _encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    with pytest.raises(InvalidImage):
        decode_image(data[: len(data) // 2])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions (a decompression bomb never gets decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 100)
    chunk2 = b"IDAT" + idat
    body += struct.pack(">I", len(idat)) + chunk2 + struct.pack(">I", zlib.crc32(chunk2))
    return b"\x89PNG\r\n\x1a\n" + body


def test_pixel_bombs_are_refused_from_the_header() -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(_png_header_only(60000, 60000))


def test_byte_cap_comes_first() -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(b"\xff\xd8\xff" + b"\x00" * 2000, max_bytes=1000)


def test_extreme_aspect_ratio_is_refused() -> None:
    with pytest.raises(InvalidImage, match="aspect"):
        decode_image(_encode(Image.new("RGB", (2000, 10)), "PNG"))


def test_polyglot_is_judged_by_its_magic_bytes() -> None:
    png = _encode(Image.new("RGB", (8, 8)), "PNG")
    assert sniff(png + b"<script>alert(1)</script>") == "PNG"
    assert decode_image(png + b"%PDF trailing junk").shape == (8, 8, 3)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_give_an_image_or_invalid_image(data: bytes) -> None:
    try:
        pixels = decode_image(data)
    except InvalidImage:
        return
    assert pixels.ndim == 3
    assert pixels.shape[2] == 3


def _photo_jpeg(width: int, height: int, **kwargs: object) -> bytes:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
    return _encode(image, "JPEG", quality=92, **kwargs)


@pytest.mark.parametrize(
    ("size", "min_side", "scale"),
    [
        ((4000, 3000), 1080, 2),
        ((4000, 3000), 700, 4),
        ((4000, 3000), 300, 8),
        ((1600, 1200), 1080, 1),
    ],
)
def test_large_jpegs_decode_reduced_in_the_decoder(
    size: tuple[int, int], min_side: int, scale: int
) -> None:
    data = _photo_jpeg(*size)
    decoded = decode_image_reduced(data, min_side=min_side)
    assert decoded.scale == scale
    assert (decoded.width, decoded.height) == size
    assert decoded.pixels.shape == (-(-size[1] // scale), -(-size[0] // scale), 3)
    assert min(decoded.pixels.shape[:2]) >= min(min_side, *size)
    full = decode_image(data)
    # the same picture: block means of the full decode match the reduced pixels
    h, w = (s // scale for s in full.shape[:2])
    means = full[: h * scale, : w * scale].reshape(h, scale, w, scale, 3).mean(axis=(1, 3))
    assert np.abs(means - decoded.pixels[:h, :w]).mean() < 3.0


def test_reduced_decoding_keeps_every_check_and_the_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned by 90 degrees
    decoded = decode_image_reduced(_photo_jpeg(4000, 2400, exif=exif.tobytes()), min_side=600)
    assert (decoded.width, decoded.height) == (2400, 4000)
    assert decoded.pixels.shape == (1000, 600, 3)
    with pytest.raises(ImageTooLarge):
        decode_image_reduced(_photo_jpeg(4000, 3000), min_side=500, max_pixels=10_000_000)
    with pytest.raises(InvalidImage):
        decode_image_reduced(b"GIF89a" + b"\0" * 100, min_side=500)
    png = _encode(Image.new("RGB", (3000, 2400)), "PNG")
    assert decode_image_reduced(png, min_side=500).scale == 1  # only JPEG has DCT scaling
