"""SSD detectors of MediaPipe (BlazeFace, BlazePose detector): anchors, decoding, weighted NMS.

Pure functions. Boxes and keypoints are first in the detector's letterboxed square (0..1),
then mapped to image pixels with the crop matrix. Anchors have a fixed size, so only their
centres matter, and the raw offsets are divided by the input size (no exponential).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.activations import sigmoid
from ml_service.perception.geometry import F64

IOU_THRESHOLD = 0.3


@dataclass(frozen=True, slots=True)
class SsdConfig:
    input_size: int
    strides: tuple[int, ...]
    num_keypoints: int
    anchors_per_layer: int = 2  # 1: no interpolated-scale anchor (the full-range face model)


@dataclass(frozen=True, slots=True)
class Detection:
    """An object in image pixels: box (x0, y0, x1, y1), score, keypoints (K x 2)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: NDArray[np.float32]


@functools.cache
def anchors(input_size: int, strides: tuple[int, ...], per_layer: int = 2) -> NDArray[np.float32]:
    """Anchor centres (x, y in 0..1) in model order.

    Aspect ratio 1 plus the interpolated scale gives 2 anchors per layer and cell (1 when
    the model has no interpolated scale, as the full-range face detector: 48x48 at stride 4,
    2304); layers of equal stride share one feature map (e.g. the short-range face detector:
    16x16 x 2 at stride 8, then 8x8 x 6 for its three stride-16 layers: 896).
    """
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += per_layer  # aspect ratio 1 (+ the interpolated scale)
            last += 1
        side = -(-input_size // strides[layer])  # ceil
        for y in range(side):
            for x in range(side):
                centres.extend([((x + 0.5) / side, (y + 0.5) / side)] * per_cell)
        layer = last
    return np.asarray(centres, dtype=np.float32)


def decode(
    regressors: NDArray[np.float32],
    classificators: NDArray[np.float32],
    config: SsdConfig,
    *,
    threshold: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Raw outputs (A x (4 + 2K), A x 1) -> (N decoded rows, N scores) above ``threshold``.

    Decoded rows: x0, y0, x1, y1, then K keypoints (x, y), all in the 0..1 letterbox square.
    """
    # The sigmoid is monotonic: preselect on the logits (with a margin for the float32
    # rounding of the score), then compute it for the few candidates and test exactly.
    logits = classificators[:, 0]
    keep = logits >= np.float32(np.log(threshold / (1.0 - threshold)) - 1e-3)
    scores = sigmoid(logits[keep])
    keep_scores = scores >= threshold
    keep[keep] = keep_scores
    scores = scores[keep_scores]
    raw = regressors[keep] / config.input_size
    centre = anchors(config.input_size, config.strides, config.anchors_per_layer)[keep]
    cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    out = np.empty((raw.shape[0], 4 + 2 * config.num_keypoints), dtype=np.float32)
    out[:, 0], out[:, 1] = cx - w / 2, cy - h / 2
    out[:, 2], out[:, 3] = cx + w / 2, cy + h / 2
    out[:, 4::2] = raw[:, 4::2] + centre[:, :1]
    out[:, 5::2] = raw[:, 5::2] + centre[:, 1:]
    return out, scores


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
    config: SsdConfig,
    *,
    threshold: float,
    max_count: int,
) -> list[Detection]:
    """Raw outputs of one image -> detections in image pixels, best first."""
    rows, scores = decode(regressors, classificators, config, threshold=threshold)
    detections = []
    for row, score in weighted_nms(rows, scores)[:max_count]:
        pts = row.reshape(-1, 2).astype(np.float64) * config.input_size
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
