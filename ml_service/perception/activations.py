"""Numerically safe activations for raw model outputs."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

LOGIT_CLIP = 100.0  # MediaPipe clips score logits to +-100 before the sigmoid


def sigmoid(logits: ArrayLike) -> NDArray[np.float32]:
    """Logistic function, computed in float64 so that clipped logits never overflow."""
    x = np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_CLIP, LOGIT_CLIP)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def sigmoid_f32(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Logistic function in float32, for large planes (masks) where float64 costs time.

    Logits are clipped to +-80 first, where float32's exp still fits; the values agree with
    ``sigmoid`` to float32 rounding.
    """
    x = np.clip(np.asarray(logits, dtype=np.float32), -80.0, 80.0)
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += np.float32(1.0)
    np.reciprocal(x, out=x)
    return x
