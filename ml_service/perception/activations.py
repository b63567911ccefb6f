"""Numerically safe activations for raw model outputs."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

LOGIT_CLIP = 100.0  # MediaPipe clips score logits to +-100 before the sigmoid


def sigmoid(logits: ArrayLike) -> NDArray[np.float32]:
    """Logistic function, computed in float64 so that clipped logits never overflow."""
    x = np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_CLIP, LOGIT_CLIP)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
