"""Video tracking: detection only when lost, crops from the previous frame, smoothing."""

from __future__ import annotations

import numpy as np

from ml_service.perception import Perceiver
from tests.support.images import load_bgr


def _shifted(image: np.ndarray, dx: int) -> np.ndarray:
    canvas = np.zeros((480, 640, 3), np.uint8)
    h, w = image.shape[:2]
    canvas[100 : 100 + h, 150 + dx : 150 + dx + w] = image
    return canvas


def test_detector_runs_once_while_the_face_is_tracked(perceiver: Perceiver) -> None:
    tracker = perceiver.tracker()
    face = load_bgr("bus_face")
    xs = []
    for i in range(8):
        analysis = tracker.process(_shifted(face, 4 * i), i / 30)
        assert len(analysis.faces) == 1
        xs.append(float(analysis.faces[0].landmarks[:, 0].mean()))
        assert ("detect" in analysis.timings_ms) == (i == 0)
    assert tracker.detections == 1
    assert xs[-1] - xs[0] > 15  # the landmarks follow the moving face


def test_lost_face_is_detected_again(perceiver: Perceiver) -> None:
    tracker = perceiver.tracker()
    face = load_bgr("bus_face")
    assert len(tracker.process(_shifted(face, 0), 0.0).faces) == 1
    assert tracker.process(np.zeros((480, 640, 3), np.uint8), 0.033).faces == []
    again = tracker.process(_shifted(face, 60), 0.066)
    assert len(again.faces) == 1
    assert tracker.detections >= 2


def test_smoothing_steadies_landmarks_on_a_noisy_still_face(perceiver: Perceiver) -> None:
    rng = np.random.default_rng(5)
    base = _shifted(load_bgr("bus_face"), 0).astype(np.int16)
    frames = [
        np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8) for _ in range(12)
    ]
    tracker = perceiver.tracker()
    tracked = [tracker.process(f, i / 30).faces[0].landmarks[:, :2] for i, f in enumerate(frames)]
    photo = [perceiver.analyze(f, bodies=False).faces[0].landmarks[:, :2] for f in frames]
    jitter_tracked = np.std(np.stack(tracked[4:]), axis=0).mean()
    jitter_photo = np.std(np.stack(photo[4:]), axis=0).mean()
    assert jitter_tracked < 0.6 * jitter_photo


def test_body_tracking_follows_from_its_own_landmarks(perceiver: Perceiver) -> None:
    tracker = perceiver.tracker(bodies=True)
    image = load_bgr("bus")
    first = tracker.process(image, 0.0)
    second = tracker.process(image, 1 / 30)
    assert len(first.bodies) == 1
    assert len(second.bodies) == 1
    assert "pose" in second.timings_ms
    assert np.abs(first.bodies[0].landmarks[:, :2] - second.bodies[0].landmarks[:, :2]).mean() < 15
