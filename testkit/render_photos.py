"""The test photos the render tests use: ``testkit.images`` plus crops and reductions made
here.

- ``bus_person``: the man on the left of ``bus.jpg``, head to knees (270 x 400), for tops:
  the full photo's people are too small for the body model's letterboxed view.
- ``zidane_pair``: the right half of ``zidane.jpg`` (640 x 480), where the face detector
  finds both men (Carlo Ancelotti, larger, and Zinedine Zidane).
- ``astronaut_bust``: the astronaut from the head to the chest (400 x 400), the half-body
  crop of the render sheets.
- ``astronaut_small``, ``grace_small``, ``camera_small``: the photos at half size (people
  further away).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from testkit import images

CROPS = {
    "bus_person": ("bus", (0, 360, 270, 760)),  # x0, y0, x1, y1
    "zidane_pair": ("zidane", (480, 0, 1120, 480)),
    "astronaut_bust": ("astronaut", (60, 0, 460, 400)),
}
HALVED = {"astronaut_small": "astronaut", "grace_small": "grace_hopper", "camera_small": "camera"}


def load_photo(name: str) -> NDArray[np.uint8]:
    """Test photo ``name`` as BGR (a crop or reduction made here, or one of testkit.images)."""
    if name in CROPS:
        source, (x0, y0, x1, y1) = CROPS[name]
        return np.ascontiguousarray(images.load_bgr(source)[y0:y1, x0:x1])
    if name in HALVED:
        full = images.load_bgr(HALVED[name])
        h, w = full.shape[:2]
        return np.asarray(cv2.resize(full, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    return images.load_bgr(name)


def from_source(name: str, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Points in the pixels of the photo ``name`` was made from -> in ``name``'s pixels."""
    p = np.asarray(points, np.float64)
    if name in CROPS:
        _, (x0, y0, _x1, _y1) = CROPS[name]
        return p - np.array([x0, y0], np.float64)
    if name in HALVED:
        return p / 2.0
    if name == "bus_face":
        x0, y0, x1, _y1 = images.BUS_FACE_BOX
        return (p - np.array([x0, y0], np.float64)) * (256.0 / (x1 - x0))
    return p
