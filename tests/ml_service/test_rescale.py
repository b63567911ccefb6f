"""A large photo analysed from a reduced decode, mapped back to the full image's pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml_service.image_io import decode_image, decode_image_reduced
from ml_service.perception import Perceiver
from ml_service.perception.rescale import to_full, to_full_image
from ml_service.types import Analysis, Rejection
from testkit.images import load_bgr


def test_a_reduced_pixel_maps_to_the_centre_of_its_block() -> None:
    points = np.array([[0.0, 0.0, 1.0], [10.0, 4.0, -2.0]], dtype=np.float32)
    assert to_full(points, 1).tolist() == points.tolist()
    assert to_full(points, 2).tolist() == [[0.5, 0.5, 2.0], [20.5, 8.5, -4.0]]
    assert to_full(points, 4)[1, :2].tolist() == [41.5, 17.5]


def test_rejections_survive_the_mapping() -> None:
    reduced = Analysis(
        width=100,
        height=80,
        rejected=[Rejection(box=(10.0, 20.0, 20.0, 30.0), score=0.7, reason="face-too-small")],
    )
    full = to_full_image(reduced, scale=2, width=200, height=160)
    assert full.rejected == [
        Rejection(box=(20.5, 40.5, 40.5, 60.5), score=0.7, reason="face-too-small")
    ]


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    """The astronaut at 2560 x 2560, as a phone photo would come."""
    big = cv2.resize(load_bgr("astronaut"), (2560, 2560), interpolation=cv2.INTER_CUBIC)
    ok, data = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def test_reduced_decode_gives_the_full_size_results(
    perceiver: Perceiver, large_jpeg: bytes
) -> None:
    full = perceiver.analyze(decode_image(large_jpeg))
    decoded = decode_image_reduced(large_jpeg, min_side=1080)
    assert decoded.scale == 2
    reduced = to_full_image(
        perceiver.analyze(decoded.pixels),
        scale=decoded.scale,
        width=decoded.width,
        height=decoded.height,
    )
    assert (reduced.width, reduced.height) == (full.width, full.height) == (2560, 2560)
    a, b = full.faces[0], reduced.faces[0]
    iod = float(np.linalg.norm(a.landmarks[33, :2] - a.landmarks[263, :2]))
    assert np.linalg.norm(a.landmarks[:, :2] - b.landmarks[:, :2], axis=1).mean() < 0.01 * iod
    assert np.linalg.norm(a.iris_left - b.iris_left) < 0.02 * iod
    assert np.abs(np.array(a.box) - np.array(b.box)).max() < 0.03 * iod
    assert b.ipd_mm == pytest.approx(a.ipd_mm, rel=0.03)
    assert b.mm_per_px == pytest.approx(a.mm_per_px, rel=0.03)
    assert b.head_pose.yaw == pytest.approx(a.head_pose.yaw, abs=2.0)
    assert np.allclose(b.head_pose.camera_matrix, a.head_pose.camera_matrix)
    body_a, body_b = full.bodies[0], reduced.bodies[0]
    torso = np.linalg.norm(
        body_a.landmarks[[11, 12], :2].mean(0) - body_a.landmarks[[23, 24], :2].mean(0)
    )
    # Visible points within the body fidelity limit (5% of the torso): a wrong mapping is off
    # by half the image. Hands and legs move more than faces here because a 2560 px frame
    # warped to the model's 256 px aliases (the reduced decode is the closer of the two to
    # MediaPipe on the 512 px original: 33 against 40 px mean).
    visible = body_a.landmarks[:, 3] > 0.5
    error = np.linalg.norm(body_a.landmarks[visible, :2] - body_b.landmarks[visible, :2], axis=1)
    assert error.mean() < 0.05 * torso
    assert body_b.mask is not None
    assert body_a.mask is not None
    assert body_b.mask.shape == body_a.mask.shape == (2560, 2560)
    assert np.abs(body_a.mask - body_b.mask).mean() < 0.02
