"""Compositing primitives on image regions (pure functions, float32 in [0, 1] or uint8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
ScalarT = TypeVar("ScalarT", bound=np.generic)


@dataclass(frozen=True)
class Roi:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def of(self, image: NDArray[ScalarT]) -> NDArray[ScalarT]:
        """The region's view of ``image`` (writes go through to the image)."""
        return image[self.y0 : self.y1, self.x0 : self.x1]


def roi_around(points: NDArray[np.float64], size: tuple[int, int], *, pad: int = 4) -> Roi:
    """The bounding box of ``points`` grown by ``pad``, clipped to an image of ``size`` (w, h)."""
    w, h = size
    if not np.isfinite(points).all():
        return Roi(0, 0, 0, 0)
    x0 = max(0, int(np.floor(points[:, 0].min())) - pad)
    y0 = max(0, int(np.floor(points[:, 1].min())) - pad)
    x1 = min(w, int(np.ceil(points[:, 0].max())) + pad + 1)
    y1 = min(h, int(np.ceil(points[:, 1].max())) + pad + 1)
    return Roi(x0, y0, max(x0, x1), max(y0, y1))


def warp_into(layer: U8, homography: NDArray[np.float64], roi: Roi) -> U8:
    """Warp an asset layer (uint8, up to 4 channels) into the ROI through ``homography``
    (asset pixels -> image pixels); outside the asset is zero."""
    shift = np.array([[1, 0, -roi.x0], [0, 1, -roi.y0], [0, 0, 1]], np.float64)
    h, w = roi.shape
    out = cv2.warpPerspective(
        layer, shift @ homography, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.asarray(out, dtype=np.uint8)


def warp_affine_into(layer: U8, matrix: NDArray[np.float64], roi: Roi) -> U8:
    """Like :func:`warp_into` for a 2 x 3 affine matrix."""
    m = np.asarray(matrix, np.float64).copy()
    m[0, 2] -= roi.x0
    m[1, 2] -= roi.y0
    h, w = roi.shape
    out = cv2.warpAffine(layer, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return np.asarray(out, dtype=np.uint8)


def over(base: F32, colour: F32, alpha: F32) -> F32:
    """Porter-Duff "over": ``colour`` with ``alpha`` (H x W) on ``base`` (H x W x 3)."""
    a = alpha[:, :, None]
    out: F32 = base * (1.0 - a) + colour * a
    return out


def soft_shadow(alpha: F32, *, sigma: float, offset: tuple[float, float]) -> F32:
    """A blurred, shifted copy of ``alpha``: a contact shadow's density (0..1)."""
    blurred = alpha if sigma <= 0.3 else gaussian(alpha, sigma)
    m = np.array([[1, 0, offset[0]], [0, 1, offset[1]]], np.float32)
    h, w = alpha.shape
    out = cv2.warpAffine(blurred, m, (w, h), borderMode=cv2.BORDER_CONSTANT)
    return np.asarray(out, dtype=np.float32)


def gaussian(plane: F32, sigma: float) -> F32:
    """A Gaussian blur of a float32 plane (``sigma`` in pixels)."""
    return np.asarray(cv2.GaussianBlur(plane, (0, 0), sigma), dtype=np.float32)


def polygon_mask(polygon: NDArray[np.float64], roi: Roi, *, feather: float = 0.0) -> F32:
    """A 0..1 mask of ``polygon`` (image pixels) in ROI coordinates, optionally feathered."""
    h, w = roi.shape
    mask = np.zeros((h, w), np.uint8)
    pts = np.round((polygon - [roi.x0, roi.y0]) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], 255, cv2.LINE_AA, shift=4)
    out: F32 = mask.astype(np.float32) * np.float32(1.0 / 255.0)
    return gaussian(out, feather) if feather > 0.3 else out


def luminance(bgr: F32) -> F32:
    """Rec. 601 luma of a BGR float image."""
    out: F32 = (0.114 * bgr[:, :, 0] + 0.587 * bgr[:, :, 1] + 0.299 * bgr[:, :, 2]).astype(
        np.float32
    )
    return out


def to_float(image: U8) -> F32:
    """uint8 -> float32 in [0, 1]."""
    out: F32 = image.astype(np.float32) * np.float32(1.0 / 255.0)
    return out


def to_u8(image: F32) -> U8:
    """float in [0, 1] -> uint8, rounded and clipped."""
    out: U8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


class PyramidCache:
    """Reduced copies of an asset layer, so a warp never shrinks by more than about 1.5x
    (bilinear warps alias when they shrink more, which makes thin rims shimmer in video)."""

    def __init__(self, layer: U8) -> None:
        self._levels: list[tuple[U8, float, float]] = [(layer, 1.0, 1.0)]

    def for_scale(self, scale: float) -> tuple[U8, NDArray[np.float64]]:
        """The copy to warp for an overall asset -> image ``scale``, and the 3x3 matrix taking
        original asset pixels to that copy's pixels."""
        level = 0
        while scale * (2.0**level) < 0.66 and level < 6:
            if level + 1 >= len(self._levels):
                prev = self._levels[-1][0]
                h, w = prev.shape[:2]
                if min(h, w) < 16:
                    break
                small = np.asarray(
                    cv2.resize(prev, (w // 2, h // 2), interpolation=cv2.INTER_AREA), np.uint8
                )
                w0, h0 = self._levels[0][0].shape[1], self._levels[0][0].shape[0]
                self._levels.append((small, small.shape[1] / w0, small.shape[0] / h0))
            level += 1
        layer, sx, sy = self._levels[level]
        # Pixel centres: x' + 0.5 = (x + 0.5) * s.
        to_level = np.array(
            [[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64
        )
        return layer, to_level
