"""A top laid flat, split into what moves separately when worn (pure functions).

The torso hangs from the shoulders; each sleeve turns about its shoulder seam to follow the
arm. The parts are split by the armhole line (shoulder -> armpit, extended). The neck opening
shows the inside of the back in a front packshot; worn, the wearer's neck is there instead,
so that region is made transparent: it is the ellipse from the back collar down to where the
front rib starts (found by colour on the centre line, or a usual depth when not found).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.geometry import F64

TORSO, SLEEVE_LEFT, SLEEVE_RIGHT = 1, 2, 3
DEFAULT_NECK_DEPTH = 0.15  # front neck drop below the back collar, in shoulder breadths
COLOUR_CLOSE = 28.0  # BGR distance below which two colours are "the same" material


@dataclass(frozen=True)
class Garment:
    image: NDArray[np.uint8]  # BGRA, the neck opening made transparent
    parts: NDArray[np.uint8]  # part label per pixel (0 outside)
    points: dict[str, F64]  # anchors, plus "cuff_*" (inner sleeve ends) and "neckline"
    breadth: float  # shoulder to shoulder, pixels

    @property
    def across(self) -> F64:
        d = self.points["shoulder_right"] - self.points["shoulder_left"]
        return np.asarray(d / max(float(np.linalg.norm(d)), 1e-9), np.float64)

    @property
    def down(self) -> F64:
        a = self.across
        return np.array([-a[1], a[0]])


def prepare_garment(asset: PreparedAsset) -> Garment:
    """Split a top asset into parts and open its neck."""
    points = {k: np.asarray(v, np.float64) for k, v in asset.anchors.items()}
    image = asset.image.copy()
    solid = image[:, :, 3] > 127
    for side in ("left", "right"):
        points[f"cuff_{side}"] = _inner_cuff(solid, points, side)
    breadth = max(float(np.linalg.norm(points["shoulder_right"] - points["shoulder_left"])), 1.0)
    depth, half_width = _neck_opening(image, points, breadth)
    collar = points["collar"]
    points["neckline"] = collar + np.array([0.0, depth])
    points["neck_left"] = collar - np.array([half_width, 0.0])
    points["neck_right"] = collar + np.array([half_width, 0.0])
    _open_neck(image, collar, half_width, depth)
    return Garment(image=image, parts=_parts(image, points), points=points, breadth=breadth)


def _inner_cuff(solid: NDArray[np.bool_], a: dict[str, F64], side: str) -> F64:
    """The lowest point of the sleeve between its end and the armpit (the cuff's inner end)."""
    x_end, x_pit = a[f"sleeve_{side}"][0], a[f"armpit_{side}"][0]
    lo, hi = sorted((int(x_end), int(x_pit)))
    margin = max(1, int(0.1 * (hi - lo)))
    cols = range(lo + margin, hi - margin) if hi - lo > 2 * margin else range(lo, hi + 1)
    best = a[f"sleeve_{side}"]
    _h, w = solid.shape
    for x in cols:
        if not 0 <= x < w:
            continue
        ys = np.nonzero(solid[:, x])[0]
        ys = ys[ys <= a[f"armpit_{side}"][1] + 0.5 * abs(x_pit - x_end)]
        if ys.size and ys.max() > best[1]:
            best = np.array([float(x), float(ys.max())])
    return np.asarray(best, np.float64)


def _neck_opening(
    image: NDArray[np.uint8], a: dict[str, F64], breadth: float
) -> tuple[float, float]:
    """(depth below the collar point, half width) of the neck opening, pixels."""
    h, w = image.shape[:2]
    cx, cy = round(a["collar"][0]), round(a["collar"][1])
    alpha = image[:, :, 3] > 127
    # The collar's two high corners on either side of the centre: the opening lies between.
    span = int(0.4 * breadth)
    cols = np.arange(max(0, cx - span), min(w, cx + span + 1))
    tops = np.array([np.argmax(alpha[:, x]) if alpha[:, x].any() else h for x in cols])
    left, right = cols < cx - 0.04 * breadth, cols > cx + 0.04 * breadth
    if left.any() and right.any():
        xl = cols[left][np.argmin(tops[left])]
        xr = cols[right][np.argmin(tops[right])]
        half_width = (xr - xl) / 2  # through the corners' peaks: no rib ends sticking up
    else:
        half_width = 0.17 * breadth
    half_width = float(np.clip(half_width, 0.1 * breadth, 0.3 * breadth))
    depth = _front_rib_depth(image, cx, cy, breadth)
    return depth, half_width


def _front_rib_depth(image: NDArray[np.uint8], cx: int, cy: int, breadth: float) -> float:
    """Down the centre line from the back collar: the back rib, the inside of the back, then
    the front rib. The opening ends where the front rib starts (the rib's colour again)."""
    h = image.shape[0]
    reach = min(h, cy + int(0.4 * breadth))
    column = image[cy:reach, cx, :3].astype(np.float64)
    seen = image[cy:reach, cx, 3] > 127
    default = DEFAULT_NECK_DEPTH * breadth
    if column.shape[0] < 8 or not seen[:3].all():
        return default
    rib = np.median(column[: max(2, int(0.01 * breadth))], axis=0)
    is_rib = np.linalg.norm(column - rib, axis=1) < COLOUR_CLOSE
    # Leave the back rib, cross the inside, and find the rib again.
    inside = np.nonzero(~is_rib)[0]
    if inside.size == 0:
        return default
    after = np.nonzero(is_rib[inside[0] :])[0]
    if after.size == 0:
        return default
    depth = float(inside[0] + after[0])
    if not 0.04 * breadth <= depth <= 0.35 * breadth:
        return default
    return depth


def _open_neck(image: NDArray[np.uint8], collar: F64, half_width: float, depth: float) -> None:
    """Make the neck opening transparent (in place): the lower half of an ellipse from the
    collar down to the front rib, and the strip above it between the collar's corners."""
    h, w = image.shape[:2]
    hole = np.zeros((h, w), np.uint8)
    centre = (round(collar[0] * 16), round(collar[1] * 16))
    axes = (round(half_width * 16), round(depth * 16))
    cv2.ellipse(hole, centre, axes, 0, 0, 180, 255, -1, cv2.LINE_AA, shift=4)
    x0, x1 = int(collar[0] - half_width), int(collar[0] + half_width) + 1
    hole[: int(collar[1]) + 1, max(0, x0) : min(w, x1)] = 255
    keep = 1.0 - hole.astype(np.float32) / 255.0
    image[:, :, 3] = np.round(image[:, :, 3] * keep).astype(np.uint8)


def _parts(image: NDArray[np.uint8], a: dict[str, F64]) -> NDArray[np.uint8]:
    """Label each pixel: torso, or a sleeve (outside its armhole line, extended both ways)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    labels = np.where(image[:, :, 3] > 0, TORSO, 0).astype(np.uint8)
    for side, label, outward in (("left", SLEEVE_LEFT, -1.0), ("right", SLEEVE_RIGHT, 1.0)):
        s, p = a[f"shoulder_{side}"], a[f"armpit_{side}"]
        d = p - s
        # Signed side of the line s -> p; positive towards the sleeve end.
        cross = (xs - s[0]) * d[1] - (ys - s[1]) * d[0]
        end = a[f"sleeve_{side}"]
        sign = np.sign((end[0] - s[0]) * d[1] - (end[1] - s[1]) * d[0]) or outward
        labels[(labels > 0) & (cross * sign > 0)] = label
    return labels
