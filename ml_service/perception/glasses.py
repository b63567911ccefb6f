"""The shopper's own glasses and how open the eyes are, from the face mesh. Pure functions.

Glasses show as lines the face does not have: a bar across the nose bridge between the
eyes, a rim under each eye (between the lower lid and the cheek) and a rim outside each
outer eye corner. The eye band is warped to a patch in the face's own frame (eye line
horizontal, one unit = the distance between the outer eye corners 33 and 263, 64 pixels),
and each of those places is scored by how much its strongest row (or column) of edges
stands out from the band's texture: a frame's edge is a continuous line that crosses every
column of the band, while skin, lashes and brows give scattered edges. Tinted lenses
(sunglasses) are told by the skin under the eyes, behind the lens, being much darker than
the cheeks.

Measured on the test photos and drawn-glasses variants (docs/ml.md, "The shopper's own
glasses"); the thresholds come from there.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.types import Glasses

UNIT = 64  # patch pixels per eye-corner distance
# Patch: x from -0.45 to 1.45 units (0 = the subject's right outer eye corner 33, 1 = the
# left one 263, in the image's left-to-right order), y from -0.45 to +0.65 units.
X0, X1, Y0, Y1 = -0.45, 1.45, -0.45, 0.65
THRESHOLD = 0.5  # score above which glasses are reported
BARE_LEVEL = 4.35  # bridge + lower rim strength where bare faces end (test photos)
DARK_RATIO = 0.6  # skin under the eyes darker than this fraction of the cheeks: tinted
MAX_YAW = 35.0  # degrees: beyond, glasses are not judged


def eye_openness(landmarks: NDArray[np.float32]) -> float:
    """Lid gap / eye width of the more open eye (about 0.25-0.35 open, under 0.1 closed)."""
    pts = landmarks[:, :2].astype(np.float64)

    def ratio(upper: int, lower: int, corner_a: int, corner_b: int) -> float:
        width = float(np.linalg.norm(pts[corner_a] - pts[corner_b]))
        return float(np.linalg.norm(pts[upper] - pts[lower])) / max(width, 1e-6)

    return max(ratio(159, 145, 33, 133), ratio(386, 374, 362, 263))


def _patch_matrix(landmarks: NDArray[np.float32]) -> NDArray[np.float64]:
    """2x3 affine from patch pixels to image pixels (eye line horizontal)."""
    a = landmarks[33, :2].astype(np.float64)
    b = landmarks[263, :2].astype(np.float64)
    if a[0] > b[0]:  # mirrored or turned around: keep the patch's x to the image's right
        a, b = b, a
    d = b - a
    scale = float(np.linalg.norm(d)) / UNIT
    cos, sin = d / max(float(np.linalg.norm(d)), 1e-6)
    rot = np.array([[cos, -sin], [sin, cos]]) * scale
    origin = a + rot @ np.array([X0 * UNIT, Y0 * UNIT])
    return np.hstack([rot, origin[:, None]])


def _band(
    grad: NDArray[np.float32], x: tuple[float, float], y: tuple[float, float]
) -> NDArray[np.float32]:
    """The gradient patch's region in face units (clipped to the patch)."""
    h, w = grad.shape
    c0 = max(0, round((x[0] - X0) * UNIT))
    c1 = min(w, round((x[1] - X0) * UNIT))
    r0 = max(0, round((y[0] - Y0) * UNIT))
    r1 = min(h, round((y[1] - Y0) * UNIT))
    return grad[r0:r1, c0:c1]


def _median(values: NDArray[np.float32]) -> float:
    """The upper median (numpy's median averages the middle pair and costs 10x more on
    arrays this small; the difference is far below the thresholds' precision)."""
    flat = values.ravel()
    if flat.size == 0:
        return 0.0
    k = flat.size // 2
    return float(np.partition(flat, k)[k])


def _line_strength(region: NDArray[np.float32], axis: int, texture: float) -> float:
    """How strongly a line crosses the region, above the texture: for a horizontal line
    (axis=0: rows searched within each column) the strongest edge of each column, then the
    median over columns, so a curved rim counts as much as a straight one and scattered
    edges (skin, lashes) do not."""
    if region.size == 0:
        return 0.0
    return _median(region.max(axis=axis)) / max(texture, 1e-3)


def features(image: NDArray[np.uint8], landmarks: NDArray[np.float32]) -> dict[str, float]:
    """The measurements behind the score (for the report and tests). ``image``: BGR or
    gray; only the eye band is warped and converted."""
    matrix = _patch_matrix(landmarks)
    size = (round((X1 - X0) * UNIT), round((Y1 - Y0) * UNIT))
    band = cv2.warpAffine(
        image,
        matrix,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if band.ndim == 3:
        band = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    raw = np.asarray(band, dtype=np.float32)
    patch = np.asarray(cv2.GaussianBlur(raw, (3, 3), 0), dtype=np.float32)
    gy = np.abs(cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3))
    gx = np.abs(cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3))
    # Texture: the median edge strength over the band (skin, lashes, brows), with a floor
    # for flat, noiseless pictures.
    texture = max(_median(np.hypot(gx, gy)), 2.0)
    bridge = _line_strength(_band(gy, (0.42, 0.58), (-0.4, 0.12)), 0, texture)
    lower = min(
        _line_strength(_band(gy, (0.0, 0.3), (0.12, 0.45)), 0, texture),
        _line_strength(_band(gy, (0.7, 1.0), (0.12, 0.45)), 0, texture),
    )
    outer = min(
        _line_strength(_band(gx, (-0.3, -0.02), (-0.12, 0.2)), 1, texture),
        _line_strength(_band(gx, (1.02, 1.3), (-0.12, 0.2)), 1, texture),
    )
    # Tinted lenses: just under the lower lids (behind any lens) against the cheeks below
    # any frame; medians, so a thick rim crossing the band does not count as tint.
    under = [_band(raw, x, (0.09, 0.17)) for x in ((0.05, 0.3), (0.7, 0.95))]
    cheek = [_band(raw, x, (0.5, 0.62)) for x in ((0.05, 0.3), (0.7, 0.95))]
    # Both sides: one shadowed side is not a tint (a false tint refuses eyewear).
    dark = max(_median(u) / max(_median(c), 1.0) for u, c in zip(under, cheek, strict=True))
    return {"bridge": bridge, "lower": lower, "outer": outer, "dark": dark}


def score(measured: dict[str, float]) -> float:
    """Evidence for glasses, 0..1: the bridge bar and the lower rims together, past the
    level bare faces reach (a logistic of their sum)."""
    return 1.0 / (1.0 + math.exp(-4.0 * (measured["bridge"] + measured["lower"] - BARE_LEVEL)))


def detect(
    image: NDArray[np.uint8], landmarks: NDArray[np.float32], *, yaw: float
) -> Glasses | None:
    """Whether the face wears glasses (and whether they are tinted); None when the head is
    turned too far to see both eyes (the far rim is hidden, the near one foreshortened)."""
    if abs(yaw) > MAX_YAW:
        return None
    measured = features(image, landmarks)
    value = score(measured)
    dark = measured["dark"] < DARK_RATIO
    return Glasses(present=value >= THRESHOLD or dark, score=round(value, 3), dark=dark)
