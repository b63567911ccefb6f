"""The One Euro filter (Casiez et al., CHI 2012) for landmark arrays.

Low jitter at rest, low lag in motion: an exponential smoother whose cutoff rises with the
signal's speed. Speeds are divided by ``scale`` (the object's size in pixels) so one set of
parameters fits a face near the camera and one far from it, as MediaPipe does.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

MIN_DT_S = 1e-3


def _alpha(cutoff: NDArray[np.float64] | float, dt: float) -> NDArray[np.float64]:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    result: NDArray[np.float64] = 1.0 / (1.0 + tau / dt)
    return result


class OneEuroFilter:
    """Filters arrays of a fixed shape over time. Not thread-safe (one per tracked object)."""

    def __init__(self, *, min_cutoff: float = 0.05, beta: float = 80.0, d_cutoff: float = 1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._value: NDArray[np.float64] | None = None
        self._speed: NDArray[np.float64] | None = None
        self._time = 0.0

    def reset(self) -> None:
        self._value = None
        self._speed = None

    def __call__(
        self, value: NDArray[np.float32], t: float, *, scale: float = 1.0
    ) -> NDArray[np.float32]:
        x = np.asarray(value, dtype=np.float64)
        if self._value is None or self._value.shape != x.shape or self._speed is None:
            self._value, self._speed, self._time = x, np.zeros_like(x), t
            return x.astype(np.float32)
        # Frames can arrive with equal or out-of-order timestamps; never divide by <= 0.
        dt = max(t - self._time, MIN_DT_S)
        self._time = max(t, self._time)
        speed = (x - self._value) / dt / max(scale, 1e-6)
        self._speed = self._speed + _alpha(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value = self._value + _alpha(cutoff, dt) * (x - self._value)
        return self._value.astype(np.float32)
