"""The wearer's skin, learnt from their own face: which pixels look like it, and its colour
(pure functions). Used to find hair (not skin), the old clothes (not skin), where a necklace
rests on bare skin, and to paint a neck or an arm where a new top leaves them bare."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.composite import F32, Roi, polygon_mask
from ml_service.render.geometry import F64, face_oval
from ml_service.types import Face

SKIN_DISTANCE = 2.0  # Mahalanobis distance (chroma) within which a pixel is skin
SKIN_DARKEST = 0.6  # of the face's median brightness
LUMA = np.array([0.114, 0.587, 0.299], np.float32)


@dataclass(frozen=True)
class SkinModel:
    """A Gaussian over the face's (Cr, Cb) chroma, a brightness floor, and its median colour."""

    mean: NDArray[np.float32]
    inverse: NDArray[np.float32]
    floor: float
    colour: NDArray[np.float32]  # median BGR, 0..255
    table: NDArray[np.bool_]  # 256 x 256: whether (Cr, Cb) is within the skin's chroma

    def likely(self, region: NDArray[np.uint8]) -> NDArray[np.bool_]:
        """Which pixels of ``region`` (BGR) look like this skin (a table look-up per pixel)."""
        ycrcb = np.asarray(
            cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_BGR2YCrCb), np.uint8
        )
        # Dark hair can share the skin's hue; skin in shadow rarely falls this far below the
        # face's typical brightness.
        out: NDArray[np.bool_] = self.table[ycrcb[..., 1], ycrcb[..., 2]] & (
            ycrcb[..., 0] >= self.floor
        )
        return out


def skin_model(image: NDArray[np.uint8], face: Face) -> SkinModel | None:
    """The skin model of ``face`` (its inner three quarters), or None when too few pixels."""
    oval = face_oval(face)
    sample_roi = Roi(*_box(oval, image.shape[:2]))
    # About 40 x 40 samples are plenty for a mean, a covariance and a median.
    step = max(1, round(max(sample_roi.shape) / 40))
    inner = polygon_mask(_shrunk(oval, 0.75), sample_roi)[::step, ::step] > 0.5
    pixels = np.asarray(sample_roi.of(image))[::step, ::step][inner]
    if len(pixels) < 30:
        return None
    values = chroma(pixels.reshape(-1, 1, 3)).reshape(-1, 2)
    cov = np.cov(values.T) + np.eye(2)  # a floor: evenly lit faces are very tight
    luma = pixels.astype(np.float32) @ LUMA
    mean = values.mean(axis=0).astype(np.float32)
    inverse = np.linalg.inv(cov).astype(np.float32)
    dr = np.arange(256, dtype=np.float32)[:, None] - mean[0]
    db = np.arange(256, dtype=np.float32)[None, :] - mean[1]
    quadratic = inverse[0, 0] * dr * dr + (inverse[0, 1] + inverse[1, 0]) * dr * db
    table = quadratic + inverse[1, 1] * db * db < SKIN_DISTANCE**2
    return SkinModel(
        mean=mean,
        inverse=inverse,
        floor=SKIN_DARKEST * float(np.median(luma)),
        colour=np.median(pixels, axis=0).astype(np.float32),
        table=np.asarray(table, bool),
    )


def chroma(bgr: NDArray[np.uint8]) -> F32:
    ycrcb = cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2YCrCb)
    return np.asarray(ycrcb[..., 1:], np.float32)


def _shrunk(oval: F64, factor: float) -> F64:
    centre = oval.mean(axis=0)
    return np.asarray(centre + (oval - centre) * factor, np.float64)


def _box(oval: F64, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[0], shape[1]
    x0, y0 = np.floor(oval.min(axis=0)).astype(int)
    x1, y1 = np.ceil(oval.max(axis=0)).astype(int) + 1
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(w, int(x1)), min(h, int(y1))
    return x0, y0, max(x0, x1), max(y0, y1)
