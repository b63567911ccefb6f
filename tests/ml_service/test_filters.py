"""One Euro filter: still signals get steadier, moving ones keep up."""

from __future__ import annotations

import numpy as np

from ml_service.perception.filters import OneEuroFilter


def test_first_value_passes_through_and_constant_stays_constant() -> None:
    f = OneEuroFilter()
    x = np.array([[10.0, 20.0]], np.float32)
    assert np.array_equal(f(x, 0.0), x)
    for i in range(1, 10):
        assert np.allclose(f(x, i / 30), x)


def test_jitter_on_a_still_point_is_reduced() -> None:
    rng = np.random.default_rng(3)
    noisy = 100.0 + rng.normal(0, 0.5, size=(120, 1, 2)).astype(np.float32)
    f = OneEuroFilter()
    out = np.stack([f(noisy[i], i / 30, scale=100.0) for i in range(120)])
    assert out[30:].std() < 0.7 * noisy[30:].std()


def test_fast_motion_is_followed_with_little_lag() -> None:
    f = OneEuroFilter()
    positions = [np.array([[i * 10.0, 0.0]], np.float32) for i in range(60)]
    out = [f(p, i / 30, scale=100.0) for i, p in enumerate(positions)]
    assert abs(float(out[-1][0, 0]) - 590.0) < 25.0  # under 2.5 frames of lag at 300 px/s


def test_equal_or_backward_timestamps_do_not_break_it() -> None:
    f = OneEuroFilter()
    x = np.array([1.0, 2.0], np.float32)
    f(x, 1.0)
    out = f(x + 1, 1.0)
    out = f(x + 2, 0.5)
    assert np.all(np.isfinite(out))
