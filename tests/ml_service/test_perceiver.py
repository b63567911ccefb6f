"""Photo-mode perception on real photos: faces, irises, head pose, pupil distance, bodies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ml_service.errors import ImageTooLarge, InvalidImage
from ml_service.perception import Perceiver
from ml_service.settings import MLSettings
from testkit.images import load_bgr


def test_astronaut_face_is_complete_and_plausible(perceiver: Perceiver) -> None:
    analysis = perceiver.analyze(load_bgr("astronaut"), bodies=False)
    assert (analysis.width, analysis.height) == (512, 512)
    assert len(analysis.faces) == 1
    face = analysis.faces[0]
    assert face.landmarks.shape == (468, 3)
    assert face.landmarks.dtype == np.float32
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < x1 < 300
    assert 50 < y0 < y1 < 200
    # irises sit between their eye corners (subject's right eye = image left here)
    assert face.landmarks[33, 0] < face.iris_right[0] < face.landmarks[133, 0]
    assert face.landmarks[362, 0] < face.iris_left[0] < face.landmarks[263, 0]
    assert 50.0 < face.ipd_mm < 75.0  # adult pupil distances
    assert abs(face.head_pose.yaw) < 20
    assert abs(face.head_pose.roll) < 20
    assert face.mm_per_px == pytest.approx(11.7 / face.iris_diameter_px)
    assert set(analysis.timings_ms) >= {"decode", "detect", "landmarks", "iris", "total"}


def test_mirroring_the_photo_mirrors_yaw_and_swaps_eyes(perceiver: Perceiver) -> None:
    image = load_bgr("bus_face")
    plain = perceiver.analyze(image, bodies=False).faces[0]
    mirrored = perceiver.analyze(np.ascontiguousarray(image[:, ::-1]), bodies=False).faces[0]
    assert np.sign(plain.head_pose.yaw) == -np.sign(mirrored.head_pose.yaw)
    width = image.shape[1]
    assert mirrored.iris_left[0] == pytest.approx(width - plain.iris_right[0], abs=3.0)
    assert mirrored.ipd_mm == pytest.approx(plain.ipd_mm, rel=0.1)


def test_several_faces_in_one_image(perceiver: Perceiver) -> None:
    face = load_bgr("bus_face")
    pair = np.hstack([face, face[:, ::-1]])
    analysis = perceiver.analyze(pair, bodies=False)
    assert len(analysis.faces) == 2
    centres = sorted(float(f.landmarks[:, 0].mean()) for f in analysis.faces)
    assert centres[0] < 256 < centres[1]


def test_no_face_in_a_blank_image(perceiver: Perceiver) -> None:
    analysis = perceiver.analyze(np.full((240, 320, 3), 127, np.uint8))
    assert analysis.faces == []
    assert analysis.bodies == []


def test_body_pose_and_person_mask(perceiver: Perceiver) -> None:
    analysis = perceiver.analyze(load_bgr("bus"), faces=False)
    assert analysis.faces == []
    assert len(analysis.bodies) >= 1
    body = analysis.bodies[0]
    assert body.landmarks.shape == (33, 4)
    assert np.all((body.landmarks[:, 3] >= 0) & (body.landmarks[:, 3] <= 1))
    assert body.mask is not None
    assert body.mask.shape == (1080, 810)
    assert float(body.mask.min()) >= 0.0
    assert float(body.mask.max()) <= 1.0
    # the mask is high on the person's torso and low far from them
    shoulders = body.landmarks[[11, 12], :2].mean(axis=0)
    hips = body.landmarks[[23, 24], :2].mean(axis=0)
    torso = ((shoulders + hips) / 2).astype(int)
    assert body.mask[torso[1], torso[0]] > 0.5
    assert body.mask[50, 760] < 0.1
    assert {"pose_detect", "pose"} <= set(analysis.timings_ms)


def test_skipping_work_skips_its_stages(perceiver: Perceiver) -> None:
    faces_only = perceiver.analyze(load_bgr("astronaut"), bodies=False, iris_landmarks=False)
    assert faces_only.bodies == []
    assert "pose" not in faces_only.timings_ms
    assert "iris" not in faces_only.timings_ms
    assert faces_only.faces[0].iris_diameter_px == 0.0
    bodies_only = perceiver.analyze(load_bgr("astronaut"), faces=False, masks=False)
    assert bodies_only.faces == []
    assert "landmarks" not in bodies_only.timings_ms
    assert bodies_only.bodies[0].mask is None


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((10, 10, 3), np.float32), "uint8"),
        (np.zeros((10, 10, 5), np.uint8), "shape"),
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        ("not an array", "numpy"),
        (np.zeros((4, 4, 4, 3), np.uint8), "shape"),
    ],
)
def test_bad_frames_are_refused_clearly(perceiver: Perceiver, image: object, error: str) -> None:
    with pytest.raises(InvalidImage, match=error):
        perceiver.analyze(image)  # type: ignore[arg-type]


def test_gray_and_bgra_frames_are_accepted(perceiver: Perceiver) -> None:
    gray = load_bgr("astronaut")[:, :, 1]
    assert len(perceiver.analyze(gray, bodies=False).faces) == 1
    bgra = np.dstack([load_bgr("astronaut"), np.full((512, 512), 255, np.uint8)])
    assert len(perceiver.analyze(bgra, bodies=False).faces) == 1


def test_pixel_cap_is_enforced_before_any_work(built_models: object) -> None:
    settings = MLSettings(max_image_pixels=100 * 100)
    with Perceiver.from_settings(settings) as small, pytest.raises(ImageTooLarge):
        small.analyze(np.zeros((101, 100, 3), np.uint8))


def test_concurrent_calls_on_one_perceiver_agree(perceiver: Perceiver) -> None:
    images = [load_bgr("astronaut"), load_bgr("bus_face")] * 3
    expected = [perceiver.analyze(im, bodies=False).faces[0].landmarks for im in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda im: perceiver.analyze(im, bodies=False), images))
    for analysis, landmarks in zip(results, expected, strict=True):
        assert np.allclose(analysis.faces[0].landmarks, landmarks, atol=1e-3)
