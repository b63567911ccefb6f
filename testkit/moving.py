"""A synthetic moving clip of a test photo with the exact motion of every frame.

The photo is panned, zoomed, turned in the image plane and given a mild perspective (a head
turn's keystone) on a grey canvas. The 3 x 3 matrix of each frame maps photo pixels to frame
pixels, so a point measured once on the photo has a known true position in every frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.perception import Perceiver
from testkit.images import load_bgr


def moving_clip(
    photo: NDArray[np.uint8], *, frames: int = 60, size: tuple[int, int] = (640, 480)
) -> tuple[list[NDArray[np.uint8]], list[NDArray[np.float64]]]:
    """``frames`` frames of ``photo`` in motion (one loop) and the photo->frame matrices."""
    h, w = photo.shape[:2]
    width, height = size
    centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]], dtype=np.float64)
    clip, matrices = [], []
    for i in range(frames):
        phase = 2 * np.pi * i / frames
        scale = (0.8 * height / h) * (1 + 0.15 * np.sin(2 * phase))
        similar = np.eye(3)
        similar[:2] = cv2.getRotationMatrix2D((w / 2, h / 2), 12 * np.sin(phase), scale)
        similar[:2, 2] += (
            width / 2 + 60 * np.sin(phase) - w / 2,
            height / 2 + 25 * np.cos(phase) - h / 2,
        )
        keystone = np.array([[1, 0, 0], [0, 1, 0], [4e-4 * np.sin(phase), 0, 1]])
        matrix = np.linalg.inv(centre) @ keystone @ centre @ similar
        frame = cv2.warpPerspective(photo, matrix, size, borderValue=(90, 90, 90))
        clip.append(np.asarray(frame, dtype=np.uint8))
        matrices.append(matrix)
    return clip, matrices


def project(matrix: NDArray[np.float64], point: NDArray[np.float32]) -> NDArray[np.float64]:
    """A photo pixel's position in the frame."""
    v = matrix @ np.array([float(point[0]), float(point[1]), 1.0])
    out: NDArray[np.float64] = v[:2] / v[2]
    return out


def slow_pan(photo: NDArray[np.uint8], frames: int = 45) -> list[NDArray[np.uint8]]:
    """A slow camera move over the photo: 1 px per frame right, 0.5 down, zooming in 0.3 %
    per frame (the edges reflected)."""
    h, w = photo.shape[:2]
    clip = []
    for i in range(frames):
        s = 1.0 + 0.003 * i
        m = np.array([[s, 0, i - (s - 1) * w / 2], [0, s, 0.5 * i - (s - 1) * h / 2]])
        clip.append(np.asarray(cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_REFLECT)))
    return clip


def iris_errors(perceiver: Perceiver, name: str, iris_every: int) -> tuple[np.ndarray, int]:
    """Per-frame iris error (% of the inter-ocular distance, worse eye) of a tracker on a
    moving clip, against the truth: the photo's iris centres carried by the clip's motion."""
    photo = load_bgr(name)
    truth = perceiver.analyze(photo, bodies=False).faces[0]
    clip, matrices = moving_clip(photo)
    tracker = perceiver.tracker(iris_every=iris_every)
    errors = []
    for i, (frame, matrix) in enumerate(zip(clip, matrices, strict=True)):
        faces = tracker.process(frame, i / 30).faces
        assert len(faces) == 1
        face = faces[0]
        iod = float(np.linalg.norm(face.landmarks[33, :2] - face.landmarks[263, :2]))
        errors.append(
            max(
                np.linalg.norm(face.iris_right - project(matrix, truth.iris_right)),
                np.linalg.norm(face.iris_left - project(matrix, truth.iris_left)),
            )
            / iod
        )
    return np.asarray(errors), tracker.iris_runs
