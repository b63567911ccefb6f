"""Rotated regions of interest: crop an image to a model's input and map points back.

Coordinates are pixels as MediaPipe uses them: a crop pixel index maps to the image position
given by the affine map of the region's corners (no half-pixel shift), and model outputs in
crop pixels map back through the same matrix, so results line up with MediaPipe's. A region
has a centre, a size and a rotation in radians; its own x axis points along
``(cos r, sin r)`` in the image (y down), so a positive rotation turns it clockwise on
screen. These are pure functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Roi:
    """A rotated rectangle in image pixels."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0  # radians, clockwise on screen

    def scaled(self, scale: float, *, square_long: bool = True) -> Roi:
        w, h = self.width, self.height
        if square_long:
            w = h = max(w, h)
        return Roi(self.cx, self.cy, w * scale, h * scale, self.rotation)


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_between(start: F32 | F64, end: F32 | F64, *, target_deg: float) -> float:
    """MediaPipe's rule: rotate so that start->end points at ``target_deg`` (0 = +x)."""
    dx, dy = float(end[0] - start[0]), float(end[1] - start[1])
    return normalize_radians(math.radians(target_deg) - math.atan2(-dy, dx))


def crop_to_image_matrix(roi: Roi, size: tuple[int, int], *, flip: bool = False) -> F64:
    """2x3 affine mapping crop pixels (size = (h, w)) to image pixels."""
    out_h, out_w = size
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    sx, sy = roi.width / out_w, roi.height / out_h
    if flip:  # the crop is mirrored left-right
        sx = -sx
    # p = c + R @ diag(sx, sy) @ (u - out_w / 2, v - out_h / 2)
    a = np.array([[cos * sx, -sin * sy], [sin * sx, cos * sy]], dtype=np.float64)
    t = np.array([roi.cx, roi.cy]) - a @ np.array([out_w / 2, out_h / 2])
    return np.hstack([a, t[:, None]])


def crop(
    image: NDArray[np.uint8],
    roi: Roi,
    size: tuple[int, int],
    *,
    flip: bool = False,
    replicate: bool = False,
) -> tuple[NDArray[np.uint8], F64]:
    """Warp ``roi`` of ``image`` to ``size`` (h, w); also return the crop->image matrix."""
    matrix = crop_to_image_matrix(roi, size, flip=flip)
    out = cv2.warpAffine(
        image,
        matrix,
        (size[1], size[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(out, dtype=np.uint8), matrix


def to_image(points: F32, matrix: F64) -> F32:
    """Map N x 2+ crop points to image pixels; extra columns (z) scale with the crop."""
    xy = points[:, :2].astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
    out = points.astype(np.float32, copy=True)
    out[:, :2] = xy
    if points.shape[1] > 2:
        out[:, 2] = points[:, 2] * float(np.hypot(matrix[0, 0], matrix[1, 0]))
    return out


def warp_to_image(
    plane: NDArray[np.float32], matrix: F64, image_size: tuple[int, int]
) -> NDArray[np.float32]:
    """Resample a crop-space plane (e.g. a mask) onto the image grid (h, w); outside is 0."""
    h, w = image_size
    out = cv2.warpAffine(
        plane,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    return np.asarray(out, dtype=np.float32)


def bounding_roi(points: F32, rotation: float) -> Roi:
    """The axis-aligned box of ``points`` as a region with ``rotation`` (MediaPipe's rule)."""
    x0, y0 = float(points[:, 0].min()), float(points[:, 1].min())
    x1, y1 = float(points[:, 0].max()), float(points[:, 1].max())
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation)


def letterbox_roi(width: int, height: int) -> Roi:
    """The whole image as a square region (the model sees it letterboxed)."""
    side = float(max(width, height))
    return Roi(width / 2, height / 2, side, side, 0.0)
