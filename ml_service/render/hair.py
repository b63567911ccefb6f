"""Where the hair is, from what perception gives: no hair model, but a person mask and a face.

Around the head, what belongs to the person but is neither the face nor skin-coloured is
taken for hair: the person mask (pose segmentation) inside a zone around the face (up over
the crown, out past the ears, down to the shoulders for long hair), less the face oval, less
pixels whose colour matches the face's skin (ears and neck). Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.composite import F32, Roi, gaussian, polygon_mask
from ml_service.render.geometry import F64, face_oval
from ml_service.types import Face

SKIN_DISTANCE = 2.0  # Mahalanobis distance (chroma) within which a pixel is skin
SKIN_DARKEST = 0.6  # of the face's median brightness
# The head zone around the face oval, in face sizes: half width, height above the oval, and
# below the chin (nothing: under the chin are the neck and clothes, which the mask cannot
# tell from hair; what hair hides in front of accessories is above it).
ZONE = (1.35, 0.7, 0.0)


@dataclass(frozen=True)
class Hair:
    """What a renderer needs to find one face's hair: the untouched photo and the person
    mask of the body that goes with the face."""

    photo: NDArray[np.uint8]
    person: F32

    def in_roi(self, face: Face, roi: Roi) -> F32:
        """Hair probability in ``roi``."""
        return hair_mask(self.photo, face, self.person, roi)


def hair_mask(image: NDArray[np.uint8], face: Face, person: F32, roi: Roi) -> F32:
    """Hair probability (0..1) in ``roi`` for ``face``, given the person mask (image size)."""
    h, w = roi.shape
    if h == 0 or w == 0:
        return np.zeros((h, w), np.float32)
    oval = face_oval(face)
    size = float(max(np.ptp(oval[:, 0]), np.ptp(oval[:, 1])))
    inside = np.asarray(roi.of(person), np.float32) > 0.5
    zone = polygon_mask(_zone(oval, size), roi) > 0.5
    # The face, grown a little: its outline is soft and the hairline sits on it.
    face_area = polygon_mask(oval, roi, feather=0.01 * size) > 0.3
    skin = _skin_like(image, oval, roi)
    hair = (inside & zone & ~face_area & ~skin).astype(np.float32)
    return gaussian(hair, max(0.8, 0.01 * size))


def _zone(oval: F64, size: float) -> F64:
    """A box around the face (image pixels), as a polygon."""
    cx = float(oval[:, 0].mean())
    top, bottom = float(oval[:, 1].min()), float(oval[:, 1].max())
    half, above, below = ZONE
    x0, x1 = cx - half * size, cx + half * size
    y0, y1 = top - above * size, bottom + below * size
    # The chin's corner regions: below the jaw's widest point the zone narrows to the jaw.
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _skin_like(image: NDArray[np.uint8], oval: F64, roi: Roi) -> NDArray[np.bool_]:
    """Pixels of ``roi`` whose chroma is close to the face's (Cr, Cb Gaussian model)."""
    face_box = _box(oval, image.shape[:2])
    sample_roi = Roi(*face_box)
    inner = polygon_mask(_shrunk(oval, 0.75), sample_roi) > 0.5
    face_pixels = np.asarray(sample_roi.of(image))[inner]
    if len(face_pixels) < 30:
        return np.zeros(roi.shape, bool)
    chroma = _chroma(face_pixels.reshape(-1, 1, 3)).reshape(-1, 2)
    mean = chroma.mean(axis=0)
    cov = np.cov(chroma.T) + np.eye(2)  # a floor: evenly lit faces are very tight
    inverse = np.linalg.inv(cov)
    region = np.asarray(roi.of(image))
    pixels = _chroma(region) - mean
    distance = np.einsum("hwi,ij,hwj->hw", pixels, inverse, pixels)
    # Dark hair can share the skin's hue; skin in shadow rarely falls this far below the
    # face's typical brightness.
    luma = region @ np.array([0.114, 0.587, 0.299], np.float32)
    floor = SKIN_DARKEST * float(np.median(face_pixels @ np.array([0.114, 0.587, 0.299])))
    out: NDArray[np.bool_] = (distance < SKIN_DISTANCE**2) & (luma >= floor)
    return out


def _chroma(bgr: NDArray[np.uint8]) -> F32:
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
