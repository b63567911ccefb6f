"""The test photos the render tests use: ``testkit.images`` plus crops made here.

``bus_person``: the man on the left of ``bus.jpg``, head to knees (270 x 400), for tops: the
full photo's people are too small for the body model's letterboxed view.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from testkit import images

CROPS = {"bus_person": ("bus", (0, 360, 270, 760))}  # x0, y0, x1, y1


def load_photo(name: str) -> NDArray[np.uint8]:
    """Test photo ``name`` as BGR (a crop made here, or one of testkit.images)."""
    if name in CROPS:
        source, (x0, y0, x1, y1) = CROPS[name]
        return np.ascontiguousarray(images.load_bgr(source)[y0:y1, x0:x1])
    return images.load_bgr(name)
