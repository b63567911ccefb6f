"""Asset preparation: the demo set, anchors, serialisation and hostile images."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from ml_service.assets import load_asset, prepare_asset
from ml_service.demo_assets.generate import generate
from ml_service.render.errors import AssetRefused, AssetUnreadable, BadAnchors

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
MANIFEST = json.loads((DEMO / "manifest.json").read_text())


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return bytes(buf)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_demo_assets_prepare_with_their_anchors(name: str) -> None:
    entry = MANIFEST[name]
    asset = prepare_asset(
        (DEMO / entry["file"]).read_bytes(), entry["category"], width_mm=entry["width_mm"]
    )
    w, h = asset.size
    for x, y in asset.anchors.values():
        assert -0.25 * w <= x <= 1.25 * w
        assert -0.25 * h <= y <= 1.25 * h
    if entry["category"] == "eyewear":
        a = asset.anchors
        assert (
            a["frame_left"][0]
            < a["lens_left"][0]
            < a["bridge"][0]
            < a["lens_right"][0]
            < a["frame_right"][0]
        )
        assert len(asset.lenses) == 2
        assert asset.tinted == name.startswith("sunglasses")
        # Clear lenses are stored as white (transmission 1), tinted ones darker.
        lx, ly = (int(v) for v in a["lens_left"])
        grey = float(asset.image[ly, lx, :3].mean())
        assert (grey < 170) if asset.tinted else (grey > 240)
    if entry["category"] == "top":
        a = asset.anchors
        assert (
            a["sleeve_left"][0]
            < a["armpit_left"][0]
            < a["collar"][0]
            < a["armpit_right"][0]
            < a["sleeve_right"][0]
        )
        assert a["collar"][1] < a["armpit_left"][1] < a["hem_left"][1]


def test_demo_assets_are_reproducible(tmp_path: Path) -> None:
    generate(tmp_path)
    for name, entry in MANIFEST.items():
        fresh = cv2.imread(str(tmp_path / entry["file"]))
        committed = cv2.imread(str(DEMO / entry["file"]))
        assert fresh.shape == committed.shape, name
        assert np.abs(fresh.astype(int) - committed).max() <= 2, name


def test_serialisation_round_trip_and_hash() -> None:
    data = (DEMO / "sunglasses-aviator.png").read_bytes()
    asset = prepare_asset(data, "eyewear", frame_width_mm=142)
    again = prepare_asset(data, "eyewear", frame_width_mm=142)
    assert asset.content_hash == again.content_hash
    loaded = load_asset(asset.png, asset.meta_json, expected_hash=asset.content_hash)
    assert np.array_equal(loaded.image, asset.image)
    for name, (x, y) in asset.anchors.items():
        assert loaded.anchors[name] == pytest.approx((x, y), abs=0.01)
    assert loaded.width_mm == 142
    assert loaded.tinted
    other = prepare_asset(data, "eyewear", frame_width_mm=150)
    assert other.content_hash != asset.content_hash
    with pytest.raises(AssetUnreadable):
        load_asset(asset.png, asset.meta_json, expected_hash=other.content_hash)
    with pytest.raises(AssetUnreadable):
        load_asset(asset.png[:100], asset.meta_json)
    with pytest.raises(AssetUnreadable):
        load_asset(asset.png, b"{not json")


def test_anchor_overrides_are_applied_and_checked() -> None:
    data = (DEMO / "glasses-round-black.png").read_bytes()
    auto = prepare_asset(data, "eyewear")
    moved = prepare_asset(data, "eyewear", anchors={"bridge": [600, 120]})
    # Overrides are in input-image pixels; the crop offset is subtracted.
    offset = np.subtract(auto.anchors["bridge"], moved.anchors["bridge"])
    assert abs(offset[0]) > 1 or abs(offset[1]) > 1
    with pytest.raises(BadAnchors):
        prepare_asset(data, "eyewear", anchors={"bridge": [1e9, 0]})
    with pytest.raises(BadAnchors):
        prepare_asset(data, "eyewear", anchors={"bridge": ["a", 1]})  # type: ignore[list-item]
    with pytest.raises(BadAnchors):
        prepare_asset(data, "eyewear", anchors={"nonsense": [1, 1]})


def test_existing_alpha_is_kept() -> None:
    hat = np.zeros((300, 400, 4), np.uint8)
    cv2.rectangle(hat, (120, 40), (280, 220), (40, 60, 90, 255), -1)
    cv2.ellipse(hat, (200, 230), (190, 30), 0, 0, 360, (40, 60, 90, 255), -1)
    asset = prepare_asset(_png(hat), "hat")
    alpha = asset.image[:, :, 3]
    assert alpha.max() == 255
    assert alpha.min() == 0
    a = asset.anchors
    assert a["crown_right"][0] - a["crown_left"][0] < a["brim_right"][0] - a["brim_left"][0]


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _noise() -> bytes:
    rng = np.random.default_rng(1)
    return _png(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8))


def _two_objects() -> bytes:
    img = np.full((300, 600, 3), 255, np.uint8)
    cv2.circle(img, (150, 150), 80, (0, 0, 0), -1)
    cv2.circle(img, (450, 150), 80, (0, 0, 0), -1)
    return _png(img)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 100, "unsupported-type"),
        ((DEMO / "hat-fedora.png").read_bytes()[:300], "corrupt"),
        (_bomb_png(100_000, 100_000), "too-many-pixels"),
        (_bomb_png(40_000, 100), "bad-aspect-ratio"),
        (_png(np.full((300, 300, 3), 128, np.uint8)), "no-clear-object"),
        (_noise(), "no-clear-object"),
        (_two_objects(), "several-objects"),
        (_png(np.full((20, 20, 3), 255, np.uint8)), "too-small"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "corrupt"),
    ],
    ids=[
        "zero-bytes",
        "wrong-type",
        "truncated",
        "bomb",
        "aspect",
        "one-colour",
        "noise",
        "several",
        "tiny",
        "bad-jpeg",
    ],
)
def test_hostile_images_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(AssetRefused) as info:
        prepare_asset(data, "hat")
    assert info.value.reason == reason


def test_small_object_and_wrong_category_are_refused() -> None:
    img = np.full((400, 400, 3), 255, np.uint8)
    cv2.circle(img, (200, 200), 10, (0, 0, 0), -1)
    with pytest.raises(AssetRefused) as info:
        prepare_asset(_png(img), "hat")
    assert info.value.reason in {"too-small", "no-clear-object"}
    with pytest.raises(AssetRefused) as info:
        prepare_asset((DEMO / "hat-fedora.png").read_bytes(), "eyewear")
    assert info.value.reason in {"not-eyewear", "no-lenses"}
    with pytest.raises(AssetRefused) as info:
        prepare_asset((DEMO / "hat-fedora.png").read_bytes(), "shoes")
    assert info.value.reason == "unknown-category"


def test_array_input_and_pair_of_earrings() -> None:
    img = cv2.imread(str(DEMO / "earrings-drop.png"))
    asset = prepare_asset(img, "earrings")
    # One earring of the pair is kept (the renderer mirrors it for the other ear).
    assert asset.size[0] < img.shape[1] / 2
    assert asset.anchors["hook"][1] < 0.05 * asset.size[1]
    assert io.BytesIO(asset.png).getbuffer().nbytes > 0
