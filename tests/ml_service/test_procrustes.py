"""Weighted Procrustes: similarity fits, means of many shapes, mirror twins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ml_service.perception.procrustes import (
    MIRROR_X,
    assignment,
    fit_similarity,
    mirror_pairs,
    normalise,
    procrustes_mean,
)
from ml_service.render.geometry import rotation_from_pose


def _shape(rng: np.random.Generator, n: int = 60) -> np.ndarray:
    return rng.normal(0.0, 3.0, (n, 3))


def test_a_known_similarity_is_recovered() -> None:
    rng = np.random.default_rng(1)
    source = _shape(rng)
    rotation = rotation_from_pose(35, -20, 10)
    target = 2.5 * source @ rotation.T + [4.0, -1.0, 7.0]
    fitted = fit_similarity(source, target)
    assert np.allclose(fitted.rotation, rotation)
    assert fitted.scale == pytest.approx(2.5)
    assert np.allclose(fitted.apply(source), target)
    rigid = fit_similarity(source, target / 2.5, scale=False)
    assert rigid.scale == 1.0
    assert np.allclose(rigid.rotation, rotation)


def test_zero_weights_drop_points_and_a_mirror_image_gives_no_reflection() -> None:
    rng = np.random.default_rng(2)
    source = _shape(rng)
    rotation = rotation_from_pose(-10, 5, 40)
    target = source @ rotation.T
    target[:10] += rng.normal(0, 20, (10, 3))  # wrong points
    weights = np.ones(len(source))
    weights[:10] = 0
    assert np.allclose(fit_similarity(source, target, weights).rotation, rotation)
    mirrored = fit_similarity(source, source @ MIRROR_X)
    assert np.linalg.det(mirrored.rotation) == pytest.approx(1.0)


def test_the_mean_of_turned_noisy_copies_is_the_shape() -> None:
    rng = np.random.default_rng(3)
    shape = _shape(rng)
    copies = [
        1.7 * (shape + rng.normal(0, 0.05, shape.shape)) @ rotation_from_pose(*angles).T + 3
        for angles in rng.uniform(-40, 40, (12, 3))
    ]
    mean, aligned = procrustes_mean(copies, reference=shape)
    assert np.abs(mean - normalise(shape)).max() < 0.02
    assert all(np.abs(a - mean).max() < 0.05 for a in aligned)


def test_mirror_twins_of_a_symmetric_shape_are_found() -> None:
    rng = np.random.default_rng(4)
    half = rng.normal(0.0, 3.0, (30, 3))
    half[:, 0] = np.abs(half[:, 0]) + 0.5  # one side of the plane x = 0
    midline = rng.normal(0.0, 3.0, (6, 3))
    midline[:, 0] = 0.0
    shape = np.vstack([half, half @ MIRROR_X, midline])
    order = rng.permutation(len(shape))  # labels in no particular order
    shuffled = shape[order]
    turned = (shuffled + rng.normal(0, 0.03, shuffled.shape)) @ rotation_from_pose(8, -6, 4).T
    pairs = mirror_pairs(turned)
    truth = np.concatenate([np.arange(30, 60), np.arange(30), np.arange(60, 66)])
    inverse = np.argsort(order)
    assert np.array_equal(pairs, inverse[truth[order]])
    assert np.array_equal(pairs[pairs], np.arange(len(shape)))


def test_assignment_finds_the_cheapest_matching() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 4, 6):
        for _ in range(20):
            cost = rng.uniform(0, 1, (n, n))
            found = assignment(cost)
            best = min(
                sum(cost[i, j] for i, j in enumerate(perm))
                for perm in itertools.permutations(range(n))
            )
            assert sorted(found) == list(range(n))
            assert cost[np.arange(n), found].sum() == pytest.approx(best)
    with pytest.raises(ValueError, match="square"):
        assignment(np.zeros((2, 3)))
