"""Iris centres between iris-model runs: the eye-contour motion model (pure functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml_service.perception import iris
from ml_service.perception.iris import Iris


def _mesh(seed: int = 3) -> np.ndarray:
    """A plausible face mesh: random points, eyes placed as a face's would be."""
    rng = np.random.default_rng(seed)
    mesh = rng.uniform(100, 300, (468, 3)).astype(np.float32)
    for contour, cx in zip(iris.EYE_CONTOURS, (160.0, 240.0), strict=True):
        angles = np.linspace(0, 2 * math.pi, len(contour), endpoint=False)
        mesh[list(contour), 0] = cx + 20 * np.cos(angles)
        mesh[list(contour), 1] = 180 + 8 * np.sin(angles)
    return mesh


def _moved(mesh: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    out = mesh.copy()
    out[:, :2] = scale * mesh[:, :2] @ rotation.T + np.array(shift)
    return out


def test_fit_similarity_recovers_a_known_motion() -> None:
    points = np.random.default_rng(0).uniform(0, 50, (16, 2))
    rotation = np.array([[math.cos(0.3), -math.sin(0.3)], [math.sin(0.3), math.cos(0.3)]])
    target = 1.7 * points @ rotation.T + np.array([5.0, -2.0])
    fitted, residual = iris.fit_similarity(points, target)
    assert fitted.scale == pytest.approx(1.7)
    assert np.allclose(fitted.rotation, rotation)
    assert residual < 1e-9


@pytest.mark.parametrize(
    ("angle", "scale", "shift"),
    [(0.0, 1.0, (12.0, -7.0)), (0.25, 1.2, (30.0, 5.0)), (-0.4, 0.8, (0.0, 0.0))],
)
def test_irises_follow_a_rigid_head_motion_exactly(
    angle: float, scale: float, shift: tuple[float, float]
) -> None:
    mesh = _mesh()
    measured = (Iris(np.float32([163.0, 181.0]), 9.0), Iris(np.float32([236.0, 179.0]), 9.5))
    anchor = iris.anchor_irises(mesh, measured)
    moved = _moved(mesh, angle, scale, shift)
    right, left = iris.predict_irises(anchor, moved)
    for predicted, original in ((right, measured[0]), (left, measured[1])):
        truth = _moved(np.array([[*original.centre, 0.0]]), angle, scale, shift)[0, :2]
        assert np.allclose(predicted.centre, truth, atol=1e-3)
        assert predicted.diameter_px == pytest.approx(original.diameter_px * scale, rel=1e-6)
    assert iris.eye_change(anchor, moved) < 1e-6


def test_a_blink_or_a_gaze_shift_is_an_eye_change() -> None:
    mesh = _mesh()
    anchor = iris.anchor_irises(mesh, (Iris(np.float32([160, 180]), 9.0),) * 2)
    blinking = mesh.copy()
    upper_lid = [159, 158, 160]  # the right eye's upper lid comes down
    blinking[upper_lid, 1] += 6.0  # 15% of the 40 px eye width
    assert iris.eye_change(anchor, blinking) > 0.05
    turned = mesh.copy()  # the head turns: the left eye looks narrower than the right
    turned[list(iris.EYE_CONTOURS[1]), 0] = 240 + 0.8 * (mesh[list(iris.EYE_CONTOURS[1]), 0] - 240)
    assert iris.eye_change(anchor, turned) > 0.05
