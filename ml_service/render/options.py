"""Options and results of a render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What to draw. The defaults are what a shopper should see."""

    shadow: bool = True  # soft contact shadow of the product on the skin
    temples: bool = True  # eyewear: temple arms (hidden behind the head when it turns)
    reflections: bool = True  # eyewear: a faint reflection on the lenses
    occlusion: bool = True  # hide product parts behind the face, neck, arms
    max_faces: int = 4  # faces considered, largest first (one person is dressed)
    face: int = 0  # the person chosen: index into the faces by area, largest first
    match_colour: bool = True  # tops: shading and colour cast matched to the photo


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The rendered image (BGR uint8, same size as the input) and the geometry used, as
    JSON-ready data (what ``tryon render --json`` prints)."""

    image: NDArray[np.uint8]
    geometry: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


def rounded(points: NDArray[np.float64], digits: int = 1) -> list[list[float]]:
    """Points as JSON-ready nested lists."""
    return [
        [round(float(x), digits), round(float(y), digits)] for x, y in np.asarray(points)[:, :2]
    ]
