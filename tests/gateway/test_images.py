"""Hostile and odd images are refused with a 4xx error, never a crash (SECURITY.md)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gateway import images
from gateway.errors import (
    EmptyBody,
    GatewayError,
    ImageTooLarge,
    InvalidImage,
    PayloadTooLarge,
    UnsupportedMediaType,
)

LIMITS = images.ImageLimits(max_bytes=2_000_000, max_pixels=4_000_000, max_aspect=4.0)


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def photo(width: int = 64, height: int = 48) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def png_with_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (the pixel data need not match)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_each_allowed_format_decodes(fmt: str) -> None:
    decoded = images.decode(encode(photo(), fmt), LIMITS)
    assert decoded.format == fmt.lower()
    assert decoded.pixels.shape == (48, 64, 3)
    assert decoded.pixels.dtype == np.uint8


def test_channels_come_out_bgr() -> None:
    red = Image.new("RGB", (32, 32), (255, 0, 0))
    pixels = images.decode(encode(red, "PNG"), LIMITS).pixels
    assert tuple(pixels[0, 0]) == (0, 0, 255)


def test_zero_bytes() -> None:
    with pytest.raises(EmptyBody):
        images.decode(b"", LIMITS)


def test_size_cap_before_anything_else() -> None:
    with pytest.raises(PayloadTooLarge):
        images.decode(b"\xff\xd8\xff" + b"\0" * LIMITS.max_bytes, LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        encode(photo(), "GIF"),
        encode(photo(), "BMP"),
        encode(photo(), "TIFF"),
        b"%PDF-1.7\n1 0 obj<<>>endobj\n",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"PK\x03\x04" + b"\0" * 100,
        b"\x00" * 64,
    ],
    ids=["gif", "bmp", "tiff", "pdf", "svg", "zip", "nul"],
)
def test_wrong_types_are_415(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        images.decode(data, LIMITS)


def test_decompression_bomb_is_refused_from_the_header() -> None:
    # 50000 x 50000 pixels declared in a file of a few hundred bytes.
    bomb = png_with_header(50_000, 50_000, zlib.compress(b"\0" * 10_000))
    assert len(bomb) < 1000
    with pytest.raises(ImageTooLarge):
        images.decode(bomb, LIMITS)


def test_pillow_scale_bomb_is_refused() -> None:
    bomb = png_with_header(200_000, 200_000)
    with pytest.raises(ImageTooLarge):
        images.decode(bomb, LIMITS)


def test_giant_dimensions_within_bytes() -> None:
    big = Image.new("L", (2500, 2000))  # 5 Mpx of one colour compresses to a few KB
    data = encode(big, "PNG")
    assert len(data) < LIMITS.max_bytes
    with pytest.raises(ImageTooLarge):
        images.decode(data, LIMITS)


@pytest.mark.parametrize(("w", "h"), [(1000, 100), (100, 1000)])
def test_aspect_cap(w: int, h: int) -> None:
    with pytest.raises(InvalidImage, match="differ"):
        images.decode(encode(photo(w, h), "PNG"), LIMITS)


def test_tiny_images_are_refused() -> None:
    with pytest.raises(InvalidImage):
        images.decode(encode(photo(8, 8), "PNG"), LIMITS)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_files(fmt: str, keep: float) -> None:
    data = encode(photo(256, 192), fmt)
    with pytest.raises(InvalidImage):
        images.decode(data[: int(len(data) * keep)], LIMITS)


def test_magic_bytes_with_garbage_after() -> None:
    for magic in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBPVP8 "):
        with pytest.raises(InvalidImage):
            images.decode(magic + b"<script>alert(1)</script>" * 10, LIMITS)


def test_polyglot_keeps_only_pixels() -> None:
    # A valid JPEG with a ZIP archive (or a script) appended: the pixels decode; nothing of
    # the appended payload can survive, because only pixels leave the decoder.
    payload = b"PK\x03\x04" + b"<script>alert(1)</script>" * 20
    decoded = images.decode(encode(photo(), "JPEG") + payload, LIMITS)
    out = images.encode(decoded.pixels, "jpeg")
    assert b"<script>" not in out
    assert b"PK\x03\x04" not in out


def test_png_with_a_gif_inside_is_refused() -> None:
    data = b"\x89PNG\r\n\x1a\n" + encode(photo(), "GIF")
    with pytest.raises(InvalidImage):
        images.decode(data, LIMITS)


def test_exif_orientation_is_applied_and_metadata_dropped() -> None:
    image = photo(64, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "SecretCameraMaker"
    data = encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    decoded = images.decode(data, LIMITS)
    assert decoded.pixels.shape[:2] == (64, 32)  # portrait after orientation
    out = images.encode(decoded.pixels, "jpeg")
    assert b"SecretCameraMaker" not in out
    assert b"Exif" not in out


def test_cmyk_and_greyscale_and_alpha_become_bgr() -> None:
    for mode in ("CMYK", "L", "RGBA", "P", "I;16"):
        image = photo().convert(mode) if mode != "I;16" else Image.new("I;16", (40, 40))
        fmt = "JPEG" if mode in ("CMYK", "L") else "PNG"
        decoded = images.decode(encode(image, fmt), LIMITS)
        assert decoded.pixels.ndim == 3
        assert decoded.pixels.shape[2] == 3


def test_animated_webp_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    decoded = images.decode(out.getvalue(), LIMITS)
    assert tuple(decoded.pixels[0, 0]) == (0, 0, 255)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP"]),
    body=st.binary(max_size=4096),
)
def test_any_bytes_give_a_4xx_or_a_valid_image(prefix: bytes, body: bytes) -> None:
    status = 200
    try:
        decoded = images.decode(prefix + body, LIMITS)
    except GatewayError as exc:
        status = exc.status
    else:
        assert decoded.pixels.ndim == 3
        assert decoded.pixels.dtype == np.uint8
    assert status == 200 or 400 <= status < 500


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_mutated_real_images_give_a_4xx_or_a_valid_image(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(["JPEG", "PNG", "WEBP"]))
    raw = bytearray(encode(photo(48, 40), fmt))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    status = 200
    try:
        images.decode(bytes(raw), LIMITS)
    except GatewayError as exc:
        status = exc.status
    assert status == 200 or 400 <= status < 500


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("image/jpeg", True),
        ("image/png; charset=binary", True),
        ("application/octet-stream", True),
        ("image/gif", False),
        ("text/html", False),
        (None, False),
    ],
)
def test_declared_content_type(content_type: str | None, ok: bool) -> None:
    if ok:
        images.check_content_type(content_type)
    else:
        with pytest.raises(UnsupportedMediaType):
            images.check_content_type(content_type)


def test_downscale_keeps_aspect() -> None:
    pixels = np.zeros((1000, 3000, 3), np.uint8)
    assert images.downscale(pixels, 600).shape == (200, 600, 3)
    assert images.downscale(pixels, 5000) is pixels
