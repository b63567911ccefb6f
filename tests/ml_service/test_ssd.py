"""SSD anchors, decoding and weighted NMS of the two MediaPipe detectors."""

from __future__ import annotations

import numpy as np
import pytest

from ml_service.perception import face_detection, pose_detection, ssd


def test_anchor_counts_match_the_models() -> None:
    assert len(ssd.anchors(128, face_detection.CONFIG.strides)) == 896
    assert len(ssd.anchors(224, pose_detection.CONFIG.strides)) == 2254
    full = face_detection.FULL_RANGE_CONFIG
    assert len(ssd.anchors(full.input_size, full.strides, full.anchors_per_layer)) == 2304


def test_full_range_anchors_are_one_per_cell_at_stride_4() -> None:
    full = face_detection.FULL_RANGE_CONFIG
    anchors = ssd.anchors(full.input_size, full.strides, full.anchors_per_layer)
    assert np.allclose(anchors[0], [0.5 / 48, 0.5 / 48])
    assert np.allclose(anchors[1], [1.5 / 48, 0.5 / 48])
    assert np.allclose(anchors[48], [0.5 / 48, 1.5 / 48])


def test_first_anchors_are_cell_centres_twice() -> None:
    anchors = ssd.anchors(128, face_detection.CONFIG.strides)
    assert np.allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[512], [0.5 / 8, 0.5 / 8])  # first stride-16 cell, 6 anchors


def _raw(config: ssd.SsdConfig, hits: dict[int, tuple[float, float, float]]) -> tuple:
    count = len(ssd.anchors(config.input_size, config.strides))
    regressors = np.zeros((count, 4 + 2 * config.num_keypoints), np.float32)
    scores = np.full((count, 1), -10.0, np.float32)
    for index, (dx, size, logit) in hits.items():
        regressors[index, 0] = dx
        regressors[index, 2] = regressors[index, 3] = size
        scores[index, 0] = logit
    return regressors, scores


def test_decode_offsets_are_relative_to_the_anchor_and_input_size() -> None:
    config = face_detection.CONFIG
    regressors, scores = _raw(config, {600: (12.8, 32.0, 4.0)})
    rows, kept = ssd.decode(regressors, scores, config, threshold=0.5)
    assert len(rows) == 1
    assert kept[0] == pytest.approx(1 / (1 + np.exp(-4.0)))
    cx = ssd.anchors(128, config.strides)[600, 0] + 0.1
    assert rows[0, 0] == pytest.approx(cx - 0.125)
    assert rows[0, 2] == pytest.approx(cx + 0.125)


def test_weighted_nms_merges_overlaps_and_keeps_separate_boxes() -> None:
    rows = np.array(
        [[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]], dtype=np.float32
    )
    scores = np.array([0.9, 0.6, 0.7], dtype=np.float32)
    kept = ssd.weighted_nms(rows, scores)
    assert [score for _, score in kept] == pytest.approx([0.9, 0.7])
    merged = kept[0][0]
    assert merged[0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.6) / 1.5)


def test_extreme_logits_do_not_overflow() -> None:
    config = face_detection.CONFIG
    regressors, scores = _raw(config, {0: (0.0, 10.0, 1e30)})
    scores[1:] = -1e30
    with np.errstate(over="raise"):
        rows, kept = ssd.decode(regressors, scores, config, threshold=0.5)
    assert len(rows) == 1
    assert kept[0] == pytest.approx(1.0)
