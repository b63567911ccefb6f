"""Body pose (33 landmarks with visibility) and the person mask: regions and decoding.

Pure functions. The model also predicts two auxiliary points (33: body centre, 34: a point
on the body's scale circle) from which the next crop is derived, as MediaPipe does between
frames: centre at point 33, side 2 x |34 - 33| x 1.25, rotated so that 33 -> 34 points up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.activations import sigmoid, sigmoid_f32
from ml_service.perception.geometry import F64, Roi, rotation_between, to_image, warp_to_image
from ml_service.perception.ssd import Detection

INPUT_SIZE = 256
NUM_BODY = 33
NUM_ALL = 39
ROI_SCALE = 1.25
# Face-derived crop (the "face" strategy, measured against the detector in docs/ml.md):
# hips this many face-box heights below the face, body radius as many face-box heights.
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
    return roi_below_face(detection.box, detection.keypoints[:2])


def roi_below_face(box: tuple[float, float, float, float], eyes: NDArray[np.float32]) -> Roi:
    """:func:`roi_from_face` from a face box and its (right, left) eye centres."""
    x0, y0, x1, y1 = box
    face_h = y1 - y0
    rotation = rotation_between(eyes[0], eyes[1], target_deg=0)
    down = np.array([-np.sin(rotation), np.cos(rotation)])
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + down * FACE_TO_HIPS * face_h
    side = 2.0 * FACE_TO_RADIUS * face_h
    return Roi(float(centre[0]), float(centre[1]), side, side, rotation).scaled(ROI_SCALE)


HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


def refine_from_heatmap(
    xy: NDArray[np.float32], heatmap: NDArray[np.float32], *, crop_size: int = INPUT_SIZE
) -> NDArray[np.float32]:
    """MediaPipe's refinement: move each point (crop pixels) to the confidence-weighted mean
    of the heatmap cells in a 7 x 7 window around it, when that window is confident enough."""
    rows, cols, channels = heatmap.shape
    count = min(len(xy), channels)
    out = xy.astype(np.float32, copy=True)
    half = (HEATMAP_KERNEL - 1) // 2
    col = (xy[:count, 0] / crop_size * cols).astype(np.int64)  # truncation, as MediaPipe
    row = (xy[:count, 1] / crop_size * rows).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    # All points' 7 x 7 windows at once, on a copy padded with "no confidence" so that
    # windows at the border are clipped exactly as a per-point loop would clip them.
    padded = np.pad(
        heatmap[:, :, :count], ((half, half), (half, half), (0, 0)), constant_values=-1e4
    )
    offsets = np.arange(-half, half + 1)
    r = np.clip(row, 0, rows - 1)[:, None] + offsets + half  # count x 7
    c = np.clip(col, 0, cols - 1)[:, None] + offsets + half
    points = np.arange(count)
    windows = sigmoid(padded[r[:, :, None], c[:, None, :], points[:, None, None]])  # count x 7 x 7
    totals = windows.sum(axis=(1, 2))
    confident = inside & (windows.max(axis=(1, 2)) >= HEATMAP_MIN_CONFIDENCE) & (totals > 0)
    grid = (r - half).astype(np.float64), (c - half).astype(np.float64)
    mean_row = (windows.sum(axis=2) * grid[0]).sum(axis=1) / np.maximum(totals, 1e-12)
    mean_col = (windows.sum(axis=1) * grid[1]).sum(axis=1) / np.maximum(totals, 1e-12)
    out[:count, 0] = np.where(confident, mean_col / cols * crop_size, out[:count, 0])
    out[:count, 1] = np.where(confident, mean_row / rows * crop_size, out[:count, 1])
    return out


def decode(
    raw_landmarks: NDArray[np.float32],
    presence_logit: float,
    segmentation: NDArray[np.float32],
    matrix: F64,
    heatmap: NDArray[np.float32] | None = None,
) -> PoseResult:
    """Raw outputs of one crop -> landmarks in image pixels with visibility in 0..1."""
    points = raw_landmarks.reshape(NUM_ALL, 5).copy()
    if heatmap is not None:
        points[:, :2] = refine_from_heatmap(points[:, :2], heatmap)
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
    return warp_to_image(sigmoid_f32(result.mask_logits), result.matrix, image_size)


def torso_size(landmarks: NDArray[np.float32]) -> float:
    """Shoulder-centre to hip-centre distance in pixels (the scale for body errors)."""
    shoulders = landmarks[[11, 12], :2].mean(axis=0)
    hips = landmarks[[23, 24], :2].mean(axis=0)
    return float(np.linalg.norm(shoulders - hips))


# The head as both models see it: BlazePose points and the face-mesh points at the same
# places (nose tip, eye centres, mouth corners; the subject's right first in each pair).
BODY_HEAD_POINTS = (0, 5, 2, 10, 9)
FACE_HEAD_POINTS = ((1,), (33, 133), (263, 362), (61,), (291,))
HEAD_MATCH_MAX = 0.6  # mean head-point distance, in face sizes, above which it is not a pair


def head_match_cost(
    face_landmarks: NDArray[np.float32], body_landmarks: NDArray[np.float32]
) -> float:
    """How far a body's head points lie from a face mesh's same points, in face sizes (mean
    over the points the body sees; inf when it sees none and its shoulders are not under
    the face). A body and a face belong to one person when this is small: pairing by
    geometry, not by size (docs/render.md, "The right person")."""
    face = np.asarray(face_landmarks, np.float64)
    body = np.asarray(body_landmarks, np.float64)
    size = max(float(np.ptp(face[:, 0])), float(np.ptp(face[:, 1])), 1.0)
    costs = [
        float(np.linalg.norm(body[b, :2] - face[list(f), :2].mean(axis=0))) / size
        for b, f in zip(BODY_HEAD_POINTS, FACE_HEAD_POINTS, strict=True)
        if body[b, 3] >= 0.5
    ]
    if costs:
        return float(np.mean(costs))
    # Head points unseen (turned away, hidden): the shoulders' middle below the face.
    if (body[[11, 12], 3] < 0.5).any():
        return float("inf")
    middle = body[[11, 12], :2].mean(axis=0)
    centre = face[:, :2].mean(axis=0)
    across = abs(float(middle[0] - centre[0])) / size
    below = float(middle[1] - centre[1]) / size
    return across + 0.3 if 0.3 <= below <= 2.5 else float("inf")
