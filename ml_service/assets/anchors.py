"""Automatic anchors per category, found on a cropped cut-out (pure functions).

Coordinates are asset pixels. Each finder raises ``AssetRefused`` with a reason when the
shape does not look like the category (so a hat photo uploaded as glasses is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import Point
from ml_service.render.errors import AssetRefused


@dataclass
class EyewearParts:
    anchors: dict[str, Point]
    lens_masks: list[NDArray[np.bool_]]  # image-left lens first
    lenses: list[list[Point]] = field(default_factory=list)
    tinted: bool = False


def _extreme(mask: NDArray[np.bool_], rows: slice, *, left: bool) -> Point | None:
    sub = mask[rows]
    ys, xs = np.nonzero(sub)
    if xs.size == 0:
        return None
    x = xs.min() if left else xs.max()
    sel = xs == x
    y = float(ys[sel].mean()) + (rows.start or 0)
    return float(x), y


def _extremes(mask: NDArray[np.bool_], rows: slice) -> tuple[Point, Point]:
    left = _extreme(mask, rows, left=True)
    right = _extreme(mask, rows, left=False)
    if left is None or right is None:
        raise AssetRefused("the object has no extent where expected", reason="no-clear-object")
    return left, right


def _polygon(mask: NDArray[np.bool_]) -> list[Point]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(c, 0.004 * cv2.arcLength(c, True), True)
    return [(float(p[0][0]), float(p[0][1])) for p in approx]


def _centroid(mask: NDArray[np.bool_]) -> Point:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def eyewear(
    solid: NDArray[np.bool_], holes: NDArray[np.bool_], transmission: NDArray[np.float32]
) -> EyewearParts:
    """Lenses (clear ones are holes in the frame; tinted ones are found inside the rims),
    lens centres, bridge and the frame's outer hinge points."""
    h, w = solid.shape
    if w < 1.6 * h:
        raise AssetRefused(
            "this does not look like a front view of eyewear (it is not wide enough)",
            reason="not-eyewear",
        )
    lens_masks = _lenses_from_holes(holes, w) or _lenses_inside_rims(solid | holes)
    if lens_masks is None:
        raise AssetRefused("no pair of lenses found in the eyewear image", reason="no-lenses")
    (lx, ly), (rx, ry) = _centroid(lens_masks[0]), _centroid(lens_masks[1])
    lens_rows = np.nonzero(lens_masks[0].any(axis=1) | lens_masks[1].any(axis=1))[0]
    top, bottom = int(lens_rows.min()), int(lens_rows.max()) + 1
    mid_row = round((ly + ry) / 2)
    hinge_rows = slice(top, max(top + 1, mid_row + 1))
    frame_left = _extreme(solid, hinge_rows, left=True)
    frame_right = _extreme(solid, hinge_rows, left=False)
    if frame_left is None or frame_right is None:  # pragma: no cover - lenses imply a frame
        raise AssetRefused("no frame around the lenses", reason="no-lenses")
    bx = round((lx + rx) / 2)
    column = solid[top:bottom, max(0, bx - 1) : bx + 2].any(axis=1)
    bridge_rows = np.nonzero(column)[0]
    by = float(top + bridge_rows.mean()) if bridge_rows.size else top + 0.25 * (bottom - top)
    lens_t = np.concatenate([transmission[m] for m in lens_masks])
    anchors = {
        "lens_left": (lx, ly),
        "lens_right": (rx, ry),
        "bridge": (float(bx), by),
        "frame_left": frame_left,
        "frame_right": frame_right,
    }
    return EyewearParts(
        anchors=anchors,
        lens_masks=lens_masks,
        lenses=[_polygon(m) for m in lens_masks],
        tinted=bool(np.median(lens_t) < 0.7),
    )


def _lenses_from_holes(holes: NDArray[np.bool_], width: int) -> list[NDArray[np.bool_]] | None:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        holes.astype(np.uint8), connectivity=4
    )
    if count < 3:
        return None
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
    a, b = int(order[0]), int(order[1])
    area_a, area_b = stats[a, cv2.CC_STAT_AREA], stats[b, cv2.CC_STAT_AREA]
    if area_b < 0.5 * area_a or area_b < 0.01 * holes.size:
        return None
    ca = stats[a, cv2.CC_STAT_LEFT] + stats[a, cv2.CC_STAT_WIDTH] / 2
    cb = stats[b, cv2.CC_STAT_LEFT] + stats[b, cv2.CC_STAT_WIDTH] / 2
    if (ca - width / 2) * (cb - width / 2) >= 0:  # both on one side: not a pair of lenses
        return None
    left, right = (a, b) if ca < cb else (b, a)
    return [labels == left, labels == right]


def _lenses_inside_rims(filled: NDArray[np.bool_]) -> list[NDArray[np.bool_]] | None:
    """Opaque (sun) lenses: per half, the body left after opening away bridge, hinges and
    temples, shrunk by the rim thickness."""
    w = filled.shape[1]
    profile = filled.sum(axis=0).astype(np.float32)
    lo, hi = int(0.38 * w), int(0.62 * w)
    bridge_x = lo + int(np.argmin(profile[lo:hi])) if hi > lo else w // 2
    if profile[bridge_x] > 0.45 * profile.max():
        return None  # no narrow bridge between two lenses: not eyewear
    masks: list[NDArray[np.bool_]] = []
    for x0, x1 in ((0, bridge_x), (bridge_x, w)):
        half = np.zeros_like(filled)
        half[:, x0:x1] = filled[:, x0:x1]
        rows = np.nonzero(half.any(axis=1))[0]
        if rows.size == 0:
            return None
        size = max(3, int(0.3 * (rows.max() - rows.min() + 1)))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        body = cv2.morphologyEx(half.astype(np.uint8), cv2.MORPH_OPEN, k)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(body, connectivity=8)
        if count < 2:
            return None
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        blob = (labels == biggest).astype(np.uint8)
        rim = max(1, int(0.07 * stats[biggest, cv2.CC_STAT_HEIGHT]))
        k2 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1))
        lens = cv2.erode(blob, k2).astype(bool)
        if lens.sum() < 0.01 * filled.size:
            return None
        masks.append(lens)
    return masks


def _run_through(row: NDArray[np.bool_], x: int) -> tuple[float, float] | None:
    """The contiguous run of object pixels containing column ``x``."""
    if not row[x]:
        return None
    empty = np.nonzero(~row)[0]
    left = empty[empty < x]
    right = empty[empty > x]
    return float(left.max() + 1 if left.size else 0), float(
        right.min() - 1 if right.size else row.size - 1
    )


def hat(solid: NDArray[np.bool_]) -> dict[str, Point]:
    """Brim line (lowest left/right extremes) and the crown band (where the head goes)."""
    w = solid.shape[1]
    widths = solid.sum(axis=1).astype(np.float32)
    rows = np.nonzero(widths > 0)[0]
    top, bottom = int(rows.min()), int(rows.max())
    height = bottom - top + 1
    if height < 0.2 * w:
        raise AssetRefused("this does not look like a hat (too flat)", reason="not-a-hat")
    low = slice(max(top, bottom - int(0.2 * height)), bottom + 1)
    brim_left, brim_right = _extremes(solid, low)
    brim_w = brim_right[0] - brim_left[0]
    # Go up from the bottom: a brim is a wide band that narrows sharply to the crown.
    crown_row = None
    lowest = max(top, bottom - int(0.35 * height))
    widest = lowest + int(np.argmax(widths[lowest : bottom + 1]))
    for y in range(widest, max(top, bottom - int(0.6 * height)), -1):
        if widths[y] < 0.8 * brim_w:
            crown_row = max(top, y - int(0.05 * height))
            break
    if crown_row is None:
        crown_left, crown_right = brim_left, brim_right
    else:
        xs = np.nonzero(solid[crown_row])[0]
        crown_left, crown_right = (
            (float(xs.min()), float(crown_row)),
            (float(xs.max()), float(crown_row)),
        )
    return {
        "brim_left": brim_left,
        "brim_right": brim_right,
        "crown_left": crown_left,
        "crown_right": crown_right,
    }


def earring(solid: NDArray[np.bool_]) -> dict[str, Point]:
    """The hook: the top of the piece, at the middle of its topmost rows."""
    rows = np.nonzero(solid.any(axis=1))[0]
    top = int(rows.min())
    band = slice(top, top + max(1, int(0.03 * (rows.max() - top + 1))))
    xs = np.nonzero(solid[band].any(axis=0))[0]
    return {"hook": (float(xs.mean()), float(top))}


def necklace(solid: NDArray[np.bool_]) -> dict[str, Point]:
    """Clasp ends: the left and right extremes of the top rows of the chain."""
    rows = np.nonzero(solid.any(axis=1))[0]
    top, bottom = int(rows.min()), int(rows.max())
    band = slice(top, top + max(2, int(0.12 * (bottom - top + 1))))
    left, right = _extremes(solid, band)
    if right[0] - left[0] < 0.3 * solid.shape[1]:
        raise AssetRefused(
            "this does not look like a necklace laid open (no chain ends at the top)",
            reason="not-a-necklace",
        )
    return {"clasp_left": left, "clasp_right": right}


def top(solid: NDArray[np.bool_]) -> dict[str, Point]:
    """T-shirt / top laid flat: collar, shoulders, armpits, sleeve ends, hem corners."""
    w = solid.shape[1]
    widths = solid.sum(axis=1)
    rows = np.nonzero(widths > 0)[0]
    top_y, bottom = int(rows.min()), int(rows.max())
    height = bottom - top_y + 1
    hem_rows = slice(bottom - max(2, int(0.04 * height)), bottom + 1)
    hem_left, hem_right = _extremes(solid, hem_rows)
    torso_row = bottom - int(0.15 * height)
    xs = np.nonzero(solid[torso_row])[0]
    torso_l, torso_r = float(xs.min()), float(xs.max())
    torso_w = torso_r - torso_l
    if torso_w < 0.3 * w or height < 0.4 * w:
        raise AssetRefused("this does not look like a top laid flat", reason="not-a-top")
    # Armpit: going up, the first row where the run through the middle of the torso
    # reaches clearly past the torso's sides is where the sleeves join.
    cx = (torso_l + torso_r) / 2
    armpit_y = None
    prev = (torso_l, torso_r)
    for y in range(torso_row, top_y, -1):
        run = _run_through(solid[y], round(cx))
        if run is None:
            break
        if run[1] - run[0] > 1.12 * torso_w:
            armpit_y = y + 1
            break
        prev = run
    if armpit_y is None or armpit_y - top_y < 0.1 * height:
        raise AssetRefused("no sleeves or shoulders found on the top", reason="not-a-top")
    armpit_left = (prev[0], float(armpit_y))
    armpit_right = (prev[1], float(armpit_y))
    inset = 0.06 * torso_w

    def top_of(x: float) -> Point:
        col = np.nonzero(solid[:, round(x)])[0]
        return float(x), float(col.min())

    shoulder_left = top_of(torso_l + inset)
    shoulder_right = top_of(torso_r - inset)
    collar = top_of(cx)
    upper = slice(top_y, armpit_y + 1)
    sleeve_left, sleeve_right = _extremes(solid, upper)
    return {
        "collar": collar,
        "shoulder_left": shoulder_left,
        "shoulder_right": shoulder_right,
        "armpit_left": armpit_left,
        "armpit_right": armpit_right,
        "sleeve_left": sleeve_left,
        "sleeve_right": sleeve_right,
        "hem_left": hem_left,
        "hem_right": hem_right,
    }
