"""Labelled faces for the own-glasses detector: the test photos, their variants, and faces
with glasses drawn on (tests/ml_service/test_glasses.py, scripts/ml/glasses_report.py).

Labels were set by looking at the photos: bus.jpg has a man in dark sunglasses and one in
light orange-tinted glasses (also ``bus_face``); Grace Hopper wears clear glasses with a dark
upper rim; the astronaut, the cameraman and Ancelotti (zidane.jpg) wear none. Zidane's own
face (shouting, turned) is not found by either detector and is not labelled. Bare faces also
get glasses drawn on them (``draw_glasses``: thick black acetate, a thin gold wire frame,
dark sunglasses), placed with our own face mesh: synthetic positives, said so in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from testkit.variants import VARIANTS

Label = Literal["none", "clear", "dark"]
Image = NDArray[np.uint8]

# image -> (face centre x, y in the original photo, label)
LABELS: dict[str, list[tuple[float, float, Label]]] = {
    "astronaut": [(225, 125, "none")],
    "camera": [(228, 162, "none")],
    "bus": [(286, 449, "dark"), (133, 446, "clear")],
    "bus_face": [(135, 108, "clear")],
    "grace_hopper": [(264, 232, "clear")],
    "zidane": [(980, 198, "none")],
}
STYLES: dict[str, tuple[tuple[int, int, int], float, float]] = {
    # colour (BGR), rim thickness and lens darkening (0..1), thickness in eye-corner widths
    "black": ((20, 20, 22), 0.045, 0.0),
    "wire": ((60, 150, 190), 0.015, 0.0),
    "sunglasses": ((15, 15, 15), 0.04, 0.85),
}
DRAWN_ON = ("astronaut", "zidane")  # bare faces that get drawn glasses too


@dataclass(frozen=True)
class Case:
    name: str  # image__variant or image__drawn-style
    image: Image
    faces: list[tuple[float, float, Label]]  # centres in this image's pixels


def _variant_point(shape: tuple[int, ...], variant: str, x: float, y: float) -> tuple[float, float]:
    h, w = shape[:2]
    if variant == "mirror":
        return w - 1 - x, y
    if variant == "half":
        return x / 2, y / 2
    if variant.startswith("rot"):
        degrees = float(variant[3:])
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        out_w, out_h = round(h * sin + w * cos), round(h * cos + w * sin)
        matrix[0, 2] += out_w / 2 - w / 2
        matrix[1, 2] += out_h / 2 - h / 2
        px, py = matrix @ np.array([x, y, 1.0])
        return float(px), float(py)
    return x, y


def draw_glasses(image: Image, landmarks: NDArray[np.float32], style: str) -> Image:
    """Glasses drawn on a face from its mesh: two rounded rims around the eyes, a bridge,
    temples to the sides of the face; sunglasses darken the lenses."""
    colour, thickness, darken = STYLES[style]
    pts = landmarks[:, :2].astype(np.float64)
    unit = float(np.linalg.norm(pts[33] - pts[263]))
    angle = float(np.degrees(np.arctan2(pts[263, 1] - pts[33, 1], pts[263, 0] - pts[33, 0])))
    out = image.copy()
    width = max(1, round(thickness * unit))
    axes = (round(0.24 * unit), round(0.17 * unit))
    rims = []
    for a, b in ((33, 133), (362, 263)):
        centre = (pts[a] + pts[b]) / 2 + np.array([0.0, 0.03 * unit])
        rims.append(centre)
        if darken:
            lens = np.zeros(out.shape[:2], np.uint8)
            cv2.ellipse(lens, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 255, -1)
            mask = lens > 0
            out[mask] = (out[mask] * (1 - darken) + np.array(colour) * darken).astype(np.uint8)
        cv2.ellipse(
            out,
            (round(centre[0]), round(centre[1])),
            axes,
            angle,
            0,
            360,
            colour,
            width,
            cv2.LINE_AA,
        )
    direction = (rims[1] - rims[0]) / max(float(np.linalg.norm(rims[1] - rims[0])), 1e-6)
    inner = [rims[0] + direction * axes[0], rims[1] - direction * axes[0]]
    cv2.line(
        out,
        tuple(round(v) for v in inner[0]),
        tuple(round(v) for v in inner[1]),
        colour,
        width,
        cv2.LINE_AA,
    )
    for rim, side, sign in ((rims[0], 127, -1), (rims[1], 356, 1)):
        start = rim + sign * direction * axes[0]
        cv2.line(
            out,
            tuple(round(v) for v in start),
            tuple(round(v) for v in pts[side]),
            colour,
            width,
            cv2.LINE_AA,
        )
    return out


def cases(
    load: Callable[[str], Image], mesh_of: Callable[[Image, float, float], NDArray[np.float32]]
) -> list[Case]:
    """Every labelled case: each photo in each variant, then the drawn glasses.

    ``mesh_of(image, x, y)`` gives the face mesh nearest (x, y) (for drawing)."""
    out: list[Case] = []
    for name, faces in LABELS.items():
        photo = load(name)
        for variant, make in VARIANTS.items():
            image = make(photo)
            moved = [(*_variant_point(photo.shape, variant, x, y), label) for x, y, label in faces]
            out.append(Case(f"{name}__{variant}", image, moved))
        if name in DRAWN_ON:
            for style in STYLES:
                drawn = photo
                labels: list[tuple[float, float, Label]] = []
                for x, y, _label in faces:
                    drawn = draw_glasses(drawn, mesh_of(photo, x, y), style)
                    labels.append((x, y, "dark" if STYLES[style][2] else "clear"))
                out.append(Case(f"{name}__drawn-{style}", drawn, labels))
    return out


@dataclass(frozen=True)
class Outcome:
    case: str
    label: Label
    predicted: Label | None  # None: not judged (head turned) or the face was not found


def evaluate(analyze: Callable[[Image], list[object]], all_cases: list[Case]) -> list[Outcome]:
    """Our answer for each labelled face: the analysed face whose box holds its centre."""
    outcomes = []
    for case in all_cases:
        faces = analyze(case.image)
        for x, y, label in case.faces:
            found = [
                f
                for f in faces
                if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]  # type: ignore[attr-defined]
            ]
            glasses = found[0].glasses if found else None  # type: ignore[attr-defined]
            predicted: Label | None = None
            if glasses is not None:
                predicted = "dark" if glasses.dark else "clear" if glasses.present else "none"
            outcomes.append(Outcome(case.name, label, predicted))
    return outcomes
