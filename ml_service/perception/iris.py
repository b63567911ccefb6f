"""Iris landmarks: eye crops from the face mesh, decoding, iris size. Pure functions.

The iris model was trained on one eye side: the subject's left eye is mirrored before it
and its points are mirrored back (the crop matrix carries the flip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.geometry import F64, Roi, bounding_roi, rotation_between, to_image

INPUT_SIZE = 64
ROI_SCALE = 2.3
IRIS_DIAMETER_MM = 11.7
# (outer/first corner, inner/second corner, mirrored): the subject's right eye, then left.
EYES: tuple[tuple[int, int, bool], ...] = ((33, 133, False), (362, 263, True))


@dataclass(frozen=True, slots=True)
class Iris:
    centre: NDArray[np.float32]  # 2, image pixels
    diameter_px: float


def eye_rois(landmarks: NDArray[np.float32]) -> list[tuple[Roi, bool]]:
    """The two eye crops (right eye, left eye of the subject) and whether each is mirrored."""
    rois = []
    for first, second, mirrored in EYES:
        corners = landmarks[[first, second], :2]
        rotation = rotation_between(corners[0], corners[1], target_deg=0)
        rois.append((bounding_roi(corners, rotation).scaled(ROI_SCALE), mirrored))
    return rois


def decode(raw_iris: NDArray[np.float32], matrix: F64) -> Iris:
    """15 raw values (centre + 4 boundary points, x y z, crop pixels) -> centre, diameter."""
    points = to_image(raw_iris.reshape(5, 3), matrix)
    horizontal = float(np.linalg.norm(points[1, :2] - points[3, :2]))
    vertical = float(np.linalg.norm(points[2, :2] - points[4, :2]))
    # A turned head foreshortens one axis of the iris disc; the larger one is the true size.
    return Iris(centre=points[0, :2].copy(), diameter_px=max(horizontal, vertical))


def mm_per_px(diameters_px: list[float]) -> float:
    """Scale at the eye plane from the mean iris diameter (11.7 mm, MediaPipe Iris)."""
    return IRIS_DIAMETER_MM / float(np.mean(diameters_px))
