"""Where the hair is, from what perception gives: no hair model, but a person mask and a face.

Around the head, what belongs to the person but is neither the face nor skin-coloured is
taken for hair: the person mask (pose segmentation) inside a zone around the face (up over
the crown, out past the ears, down to the shoulders for long hair), less the face oval, less
pixels whose colour matches the face's skin (ears and neck; ``render.skin``). Pure
functions. Measured against hand-labelled crops of the test photos: ``make hair-iou``
(docs/render.md, "Hair").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.render.composite import F32, Roi, gaussian, polygon_mask
from ml_service.render.geometry import F64, face_oval
from ml_service.render.skin import SkinModel, skin_model
from ml_service.types import Face

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
    skin: SkinModel | None = None  # the face's skin model, when the caller has it already

    def in_roi(self, face: Face, roi: Roi) -> F32:
        """Hair probability in ``roi``."""
        return hair_mask(self.photo, face, self.person, roi, self.skin)


def hair_mask(
    image: NDArray[np.uint8], face: Face, person: F32, roi: Roi, skin: SkinModel | None = None
) -> F32:
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
    hair = inside & zone & ~face_area
    skin = skin if skin is not None else skin_model(image, face)
    if skin is not None:  # ears and neck are skin-coloured; hair rarely is
        hair &= ~skin.likely(np.ascontiguousarray(roi.of(image)))
    return gaussian(hair.astype(np.float32), max(0.8, 0.01 * size))


def _zone(oval: F64, size: float) -> F64:
    """A box around the face (image pixels), as a polygon."""
    cx = float(oval[:, 0].mean())
    top, bottom = float(oval[:, 1].min()), float(oval[:, 1].max())
    half, above, below = ZONE
    x0, x1 = cx - half * size, cx + half * size
    y0, y1 = top - above * size, bottom + below * size
    # The chin's corner regions: below the jaw's widest point the zone narrows to the jaw.
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
