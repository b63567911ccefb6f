"""Crops of rotated regions and the mapping back to the image (pure functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml_service.perception.geometry import (
    Roi,
    crop,
    letterbox_roi,
    normalize_radians,
    rotation_between,
    to_image,
)


def _dot_image(x: int, y: int) -> np.ndarray:
    image = np.zeros((300, 400, 3), dtype=np.uint8)
    image[y - 2 : y + 3, x - 2 : x + 3] = 255
    return image


@pytest.mark.parametrize("rotation", [0.0, 0.4, -1.2, math.pi / 2])
@pytest.mark.parametrize("flip", [False, True])
def test_a_point_found_in_the_crop_maps_back_to_where_it_was(rotation: float, flip: bool) -> None:
    image = _dot_image(230, 140)
    roi = Roi(200.0, 150.0, 120.0, 120.0, rotation)
    pixels, matrix = crop(image, roi, (64, 64), flip=flip)
    ys, xs = np.nonzero(pixels[:, :, 0] > 128)
    assert len(xs) > 0
    found = np.array([[xs.mean(), ys.mean(), 0.0]], dtype=np.float32)
    back = to_image(found, matrix)
    assert np.allclose(back[0, :2], [230, 140], atol=1.5)


def test_z_scales_with_the_crop() -> None:
    roi = Roi(100.0, 100.0, 384.0, 384.0, 0.3)
    _, matrix = crop(np.zeros((10, 10, 3), np.uint8), roi, (192, 192))
    out = to_image(np.array([[0.0, 0.0, 10.0]], dtype=np.float32), matrix)
    assert out[0, 2] == pytest.approx(20.0, rel=1e-5)


def test_rotation_follows_mediapipe_rule() -> None:
    # eyes level: no rotation; right-hand eye lower (y down): the crop turns clockwise
    assert rotation_between(np.array([0.0, 0.0]), np.array([10.0, 0.0]), target_deg=0) == 0.0
    assert rotation_between(np.array([0.0, 0.0]), np.array([10.0, 10.0]), target_deg=0) == (
        pytest.approx(math.pi / 4)
    )
    # body: hips -> point above the head should map to "up" with target 90 degrees
    assert rotation_between(np.array([0.0, 0.0]), np.array([0.0, -10.0]), target_deg=90) == (
        pytest.approx(0.0)
    )
    assert normalize_radians(3 * math.pi) == pytest.approx(math.pi) or normalize_radians(
        3 * math.pi
    ) == pytest.approx(-math.pi)


def test_letterbox_roi_is_the_square_around_the_whole_image() -> None:
    roi = letterbox_roi(400, 300)
    assert (roi.cx, roi.cy, roi.width, roi.height) == (200, 150, 400, 400)
    pixels, _ = crop(np.full((300, 400, 3), 200, np.uint8), roi, (128, 128))
    assert pixels[0, 64, 0] == 0  # padding above
    assert pixels[64, 64, 0] == 200
