"""Body pose (33 landmarks with visibility) and the person mask: regions and decoding.

Pure functions. The model also predicts two auxiliary points (33: body centre, 34: a point
on the body's scale circle) from which the next crop is derived, as MediaPipe does between
frames: centre at point 33, side 2 x |34 - 33| x 1.25, rotated so that 33 -> 34 points up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.activations import sigmoid
from ml_service.perception.face_detection import Detection
from ml_service.perception.geometry import F64, Roi, rotation_between, to_image, warp_to_image

INPUT_SIZE = 256
NUM_BODY = 33
NUM_ALL = 39
ROI_SCALE = 1.25
# Face-derived crop: body centre (hips) below the face and body radius, in face-box heights.
# Fitted on the reference crops MediaPipe's pose detector produced for the test images
# (scripts/ml/mediapipe_reference.py), see docs/ml.md "Body crop strategy".
FACE_TO_HIPS = 3.2
FACE_TO_RADIUS = 3.4


@dataclass(frozen=True, slots=True)
class PoseResult:
    landmarks: NDArray[np.float32]  # 33 x 4 image pixels + visibility
    auxiliary: NDArray[np.float32]  # 2 x 2 image pixels
    presence: float
    mask_logits: NDArray[np.float32]  # 256 x 256 crop-space logits
    matrix: F64


def roi_from_auxiliary(aux: NDArray[np.float32]) -> Roi:
    """The next crop from the auxiliary points (image pixels)."""
    centre, scale_point = aux[0], aux[1]
    side = 2.0 * float(np.linalg.norm(scale_point - centre))
    rotation = rotation_between(centre, scale_point, target_deg=90)
    return Roi(float(centre[0]), float(centre[1]), side, side, rotation).scaled(ROI_SCALE)


def roi_from_face(detection: Detection) -> Roi:
    """A body crop guessed from a face: hips below the face along the face's down axis."""
    x0, y0, x1, y1 = detection.box
    face_h = y1 - y0
    eyes = detection.keypoints[:2]
    rotation = rotation_between(eyes[0], eyes[1], target_deg=0)
    down = np.array([-np.sin(rotation), np.cos(rotation)])
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + down * FACE_TO_HIPS * face_h
    side = 2.0 * FACE_TO_RADIUS * face_h
    return Roi(float(centre[0]), float(centre[1]), side, side, rotation).scaled(ROI_SCALE)


def decode(
    raw_landmarks: NDArray[np.float32],
    presence_logit: float,
    segmentation: NDArray[np.float32],
    matrix: F64,
) -> PoseResult:
    """Raw outputs of one crop -> landmarks in image pixels with visibility in 0..1."""
    points = raw_landmarks.reshape(NUM_ALL, 5)
    xyz = to_image(points[:, :3], matrix)
    body = np.empty((NUM_BODY, 4), dtype=np.float32)
    body[:, :3] = xyz[:NUM_BODY]
    body[:, 3] = sigmoid(points[:NUM_BODY, 3])
    return PoseResult(
        landmarks=body,
        auxiliary=xyz[NUM_BODY : NUM_BODY + 2, :2].copy(),
        presence=float(sigmoid(presence_logit)),
        mask_logits=segmentation.reshape(INPUT_SIZE, INPUT_SIZE),
        matrix=matrix,
    )


def person_mask(result: PoseResult, image_size: tuple[int, int]) -> NDArray[np.float32]:
    """Person probability (0..1) on the image grid (h, w)."""
    # Sigmoid first: outside the crop the warp fills 0, which must mean "no person".
    return warp_to_image(sigmoid(result.mask_logits), result.matrix, image_size)


def torso_size(landmarks: NDArray[np.float32]) -> float:
    """Shoulder-centre to hip-centre distance in pixels (the scale for body errors)."""
    shoulders = landmarks[[11, 12], :2].mean(axis=0)
    hips = landmarks[[23, 24], :2].mean(axis=0)
    return float(np.linalg.norm(shoulders - hips))
