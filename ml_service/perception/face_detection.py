"""Face detection (MediaPipe short-range detector): anchors, decoding, weighted NMS.

Pure functions. Boxes and keypoints are first in the detector's letterboxed square (0..1),
then mapped to image pixels with the crop matrix. Keypoints: 0 right eye, 1 left eye, 2 nose
tip, 3 mouth centre, 4 right ear tragion, 5 left ear tragion (the subject's right and left).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.activations import sigmoid
from ml_service.perception.geometry import F64

INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
MIN_SCALE, MAX_SCALE = 0.1484375, 0.75
IOU_THRESHOLD = 0.3
NUM_KEYPOINTS = 6


@dataclass(frozen=True, slots=True)
class Detection:
    """A face in image pixels: box (x0, y0, x1, y1), score, 6 keypoints (6 x 2)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: NDArray[np.float32]


@functools.cache
def anchors() -> NDArray[np.float32]:
    """The 896 anchor centres (x, y in 0..1) of the short-range detector, in model order.

    SSD anchors with fixed size and aspect ratio 1 plus the interpolated scale: 2 anchors per
    cell on the 16x16 map (stride 8), then the three stride-16 layers share the 8x8 map,
    giving 6 anchors per cell. With fixed anchor size only the centres matter.
    """
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(STRIDES):
        per_cell = 0
        last = layer
        while last < len(STRIDES) and STRIDES[last] == STRIDES[layer]:
            per_cell += 2  # aspect ratio 1 + the interpolated scale
            last += 1
        side = INPUT_SIZE // STRIDES[layer]
        for y in range(side):
            for x in range(side):
                centres.extend([((x + 0.5) / side, (y + 0.5) / side)] * per_cell)
        layer = last
    return np.asarray(centres, dtype=np.float32)


def decode(
    regressors: NDArray[np.float32],
    classificators: NDArray[np.float32],
    *,
    threshold: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Raw outputs (896 x 16, 896 x 1) -> (K x 16 decoded, K scores) above ``threshold``.

    Decoded rows: x0, y0, x1, y1, then 6 keypoints (x, y), all in the 0..1 letterbox square.
    """
    scores = sigmoid(classificators[:, 0])
    keep = scores >= threshold
    raw = regressors[keep] / INPUT_SIZE
    centre = anchors()[keep]
    cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    out = np.empty((raw.shape[0], 4 + 2 * NUM_KEYPOINTS), dtype=np.float32)
    out[:, 0], out[:, 1] = cx - w / 2, cy - h / 2
    out[:, 2], out[:, 3] = cx + w / 2, cy + h / 2
    out[:, 4::2] = raw[:, 4::2] + centre[:, :1]
    out[:, 5::2] = raw[:, 5::2] + centre[:, 1:]
    return out, scores[keep]


def _iou(box: NDArray[np.float32], others: NDArray[np.float32]) -> NDArray[np.float32]:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    result: NDArray[np.float32] = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return result


def weighted_nms(
    rows: NDArray[np.float32], scores: NDArray[np.float32], *, iou_threshold: float = IOU_THRESHOLD
) -> list[tuple[NDArray[np.float32], float]]:
    """MediaPipe's weighted NMS: each cluster (IoU > threshold with its best box) becomes the
    score-weighted mean of its rows, with the best score."""
    order = np.argsort(-scores, kind="stable")
    rows, scores = rows[order], scores[order]
    remaining = np.ones(len(rows), dtype=bool)
    kept: list[tuple[NDArray[np.float32], float]] = []
    for i in range(len(rows)):
        if not remaining[i]:
            continue
        candidates = np.flatnonzero(remaining)
        overlap = _iou(rows[i], rows[candidates]) > iou_threshold
        cluster = candidates[overlap]
        remaining[cluster] = False
        weights = scores[cluster][:, None]
        merged = (rows[cluster] * weights).sum(axis=0) / weights.sum()
        kept.append((merged.astype(np.float32), float(scores[i])))
    return kept


def postprocess(
    regressors: NDArray[np.float32],
    classificators: NDArray[np.float32],
    matrix: F64,
    *,
    threshold: float,
    max_faces: int,
) -> list[Detection]:
    """Raw outputs of one image -> detections in image pixels, best first."""
    rows, scores = decode(regressors, classificators, threshold=threshold)
    detections = []
    for row, score in weighted_nms(rows, scores)[:max_faces]:
        pts = row.reshape(-1, 2).astype(np.float64) * INPUT_SIZE
        img = pts @ matrix[:, :2].T + matrix[:, 2]
        x0, y0 = img[0]
        x1, y1 = img[1]
        detections.append(
            Detection(
                box=(
                    float(min(x0, x1)),
                    float(min(y0, y1)),
                    float(max(x0, x1)),
                    float(max(y0, y1)),
                ),
                score=score,
                keypoints=img[2:].astype(np.float32),
            )
        )
    return detections
