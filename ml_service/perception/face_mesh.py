"""Face landmarks (468 points) on a rotated face crop: regions and decoding. Pure functions."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.activations import sigmoid
from ml_service.perception.face_detection import Detection
from ml_service.perception.geometry import F64, Roi, bounding_roi, rotation_between, to_image

INPUT_SIZE = 192
NUM_LANDMARKS = 468
ROI_SCALE = 1.5
# Outer eye corners: the subject's right (image left when not mirrored) and left.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263


def roi_from_detection(detection: Detection) -> Roi:
    """Crop for the landmark model from a detection: eye-to-eye rotation, 1.5x, square."""
    x0, y0, x1, y1 = detection.box
    rotation = rotation_between(detection.keypoints[0], detection.keypoints[1], target_deg=0)
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation).scaled(ROI_SCALE)


def roi_from_landmarks(landmarks: NDArray[np.float32]) -> Roi:
    """Crop for the next frame from this frame's landmarks (image pixels)."""
    rotation = rotation_between(landmarks[RIGHT_EYE_OUTER], landmarks[LEFT_EYE_OUTER], target_deg=0)
    return bounding_roi(landmarks, rotation).scaled(ROI_SCALE)


def decode(raw: NDArray[np.float32], matrix: F64) -> NDArray[np.float32]:
    """1404 raw values (crop pixels) -> 468 x 3 image pixels (z relative, pixel scale)."""
    return to_image(raw.reshape(NUM_LANDMARKS, 3), matrix)


def presence(logit: float) -> float:
    return float(sigmoid(logit))
