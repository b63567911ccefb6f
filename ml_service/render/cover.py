"""What a new top leaves of the old clothes, and what goes there instead (pure functions).

Within the person's outline, below the chin, whatever is neither skin (the wearer's own skin
model, from the face) nor the face is taken for the clothes they wear. Where the new garment
does not cover them:

- in the neck (between the chin and the new neckline, widening into its opening) and along
  the arms past the new sleeves' ends, the skin that would be there is painted: the face's
  colour, darker towards the edges (a neck or an arm is round) and under the chin;
- elsewhere above the new hem, the garment is extended over them: each uncovered pixel takes
  the colour of the nearest garment pixel on its row (stripes run on), or in its column.

The forearms and hands in front of the body are handled by the renderer (they stay in
front, bare where their old sleeves were).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.body_fit import BodyFit
from ml_service.render.composite import F32, Roi, polygon_mask
from ml_service.render.geometry import (
    ELBOW_LEFT,
    ELBOW_RIGHT,
    F64,
    WRIST_LEFT,
    WRIST_RIGHT,
    face_oval,
)
from ml_service.render.skin import SkinModel
from ml_service.types import Body, Face

MIN_VISIBILITY = 0.5
NECK_HALF = 0.14  # the neck's half width, in shoulder breadths
ARM_TUBE = 0.3  # an arm's width from the front, in shoulder breadths
UPPER_ARM = 0.8  # shoulder seam to elbow, in shoulder breadths, when the elbow is not seen
FOREARM = 0.75
EXTEND_REACH = 0.25  # the garment is extended at most this far (shoulder breadths)
BELOW_HEM = 0.03  # and this far below its hem
ROUND = 0.08  # painted skin is darker within this of its edge (shoulder breadths)...
EDGE_SHADE = 0.25  # ...by this much at the edge
UNDER_CHIN = 0.25  # the chin's shadow on the neck, as a darkening


@dataclass(frozen=True)
class Cover:
    """Per pixel of the region (0..1): bare ``skin`` to paint, the garment ``extended``, and
    the old ``clothes`` found (a boolean mask)."""

    skin: F32
    extended: F32
    clothes: NDArray[np.bool_]
    background: NDArray[np.bool_]  # above the shoulders' line: what is behind is shown


def fill_holes(inside: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``inside`` (0/1) with every hole closed (what the border cannot reach)."""
    h, w = inside.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = inside
    flood = padded.copy()
    mask = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(flood, mask, (0, 0), 2)
    out: NDArray[np.uint8] = (flood[1:-1, 1:-1] != 2).astype(np.uint8)
    return out


def plan_reduced(
    region: NDArray[np.uint8],
    *,
    body: Body,
    face: Face | None,
    fit: BodyFit,
    skin: SkinModel | None,
    roi: Roi,
    garment_alpha: F32,
    neckline: F64,
    opening: float,
    collar: F64,
    sleeve_ends: tuple[F64, F64],
    hem_v: float,
) -> Cover:
    """:func:`plan` worked out at half size and brought back (the masks are smooth at the
    scale of a shoulder breadth: a quarter of the work, for the live frame budget)."""
    h, w = roi.shape
    if body.mask is None or min(h, w) < 64:
        return plan(region, body=body, face=face, fit=fit, skin=skin, roi=roi,
                    garment_alpha=garment_alpha, neckline=neckline, opening=opening,
                    collar=collar, sleeve_ends=sleeve_ends, hem_v=hem_v)  # fmt: skip
    half = Roi(roi.x0 // 2, roi.y0 // 2, (roi.x1 + 1) // 2, (roi.y1 + 1) // 2)
    hh, hw = half.shape
    mh, mw = body.mask.shape
    small_mask = np.zeros(((mh + 1) // 2, (mw + 1) // 2), np.float32)
    half.of(small_mask)[:] = cv2.resize(
        np.ascontiguousarray(roi.of(body.mask)), (hw, hh), interpolation=cv2.INTER_AREA
    )
    k = np.array([0.5, 0.5, 1.0, 1.0], np.float32)
    small_body = Body(landmarks=np.asarray(body.landmarks * k, np.float32), mask=small_mask)
    small_face = (
        None
        if face is None
        else replace(face, landmarks=np.asarray(face.landmarks * k[:3], np.float32))
    )
    small_fit = replace(
        fit,
        origin=fit.origin / 2,
        seams=(fit.seams[0] / 2, fit.seams[1] / 2),
        chin=fit.chin / 2,
        outline=None,
    )
    cover = plan(
        np.asarray(cv2.resize(region, (hw, hh), interpolation=cv2.INTER_AREA), np.uint8),
        body=small_body,
        face=small_face,
        fit=small_fit,
        skin=skin,
        roi=half,
        garment_alpha=np.asarray(cv2.resize(garment_alpha, (hw, hh)), np.float32),
        neckline=neckline / 2,
        opening=opening / 2,
        collar=collar / 2,
        sleeve_ends=(sleeve_ends[0] / 2, sleeve_ends[1] / 2),
        hem_v=hem_v / 2,
    )

    def up(plane: F32) -> F32:
        return np.asarray(cv2.resize(plane, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)

    return Cover(
        skin=up(cover.skin),
        extended=up(cover.extended),
        clothes=up(cover.clothes.astype(np.float32)) > 0.5,
        background=up(cover.background.astype(np.float32)) > 0.5,
    )


def old_clothes(
    region: NDArray[np.uint8],
    *,
    person: NDArray[np.uint8],
    skin_px: NDArray[np.bool_] | None,
    face: Face | None,
    roi: Roi,
    below_chin: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """The person's pixels below the chin that are neither skin nor the face."""
    clothes = (person > 0) & below_chin
    if skin_px is not None:
        clothes &= ~skin_px
    if face is not None:
        clothes &= polygon_mask(face_oval(face), roi, feather=1.0) < 0.3
    return clothes


def plan(
    region: NDArray[np.uint8],
    *,
    body: Body,
    face: Face | None,
    fit: BodyFit,
    skin: SkinModel | None,
    roi: Roi,
    garment_alpha: F32,
    neckline: F64,
    opening: float,
    collar: F64,
    sleeve_ends: tuple[F64, F64],
    hem_v: float,
) -> Cover:
    """Where the old clothes show around the new garment, and what covers them."""
    h, w = roi.shape
    if body.mask is None:
        zero = np.zeros((h, w), np.float32)
        return Cover(zero, zero, np.zeros((h, w), bool), np.zeros((h, w), bool))
    xs = np.arange(w, dtype=np.float32) + np.float32(roi.x0 - fit.origin[0])
    ys = np.arange(h, dtype=np.float32) + np.float32(roi.y0 - fit.origin[1])
    u = xs[None, :] * np.float32(fit.across[0]) + ys[:, None] * np.float32(fit.across[1])
    v = xs[None, :] * np.float32(fit.down[0]) + ys[:, None] * np.float32(fit.down[1])
    chin_u, chin_v = (float(x) for x in fit.to_frame(fit.chin[None])[0])
    person = fill_holes((roi.of(body.mask) > 0.5).astype(np.uint8))
    below_chin = v > chin_v + 1.0
    skin_px = skin.likely(region) if skin is not None else None
    clothes = old_clothes(
        region, person=person, skin_px=skin_px, face=face, roi=roi, below_chin=below_chin
    )
    # The neck is the person's wherever the mask has a notch (a collar ring, a shadow).
    not_skin = old_clothes(
        region,
        person=np.ones_like(person),
        skin_px=skin_px,
        face=face,
        roi=roi,
        below_chin=below_chin,
    )
    breadth = fit.breadth
    neck_shape = _neck(fit, chin_u, chin_v, neckline=neckline, opening=opening, collar=collar)
    neck = polygon_mask(neck_shape, roi, feather=0.01 * breadth)
    arms = _bare_arms(body, fit, sleeve_ends, roi)
    bare = (not_skin & (neck > 0.5)) | (clothes & (arms > 0))
    covered = garment_alpha > 0.5
    # Old clothes standing above the shoulders' line (a collar, a helmet ring, padded
    # shoulders) away from the neck: the background that would be there.
    above = v < _shoulder_line(fit, chin_u, chin_v, neckline, u)
    background = clothes & ~bare & ~covered & above & (neck < 0.05)
    # The garment's own reach, grown by box filters (cheap) to ``EXTEND_REACH``.
    r = max(1, round(EXTEND_REACH * breadth))
    near = cv2.blur(covered.astype(np.float32), (2 * r + 1, 2 * r + 1)) > 0.01
    extend = clothes & ~bare & ~covered & ~background & near & (v <= hem_v + BELOW_HEM * breadth)
    # Soft edges: a 3 x 3 box is enough at these sizes (and a third of a Gaussian's cost).
    return Cover(
        skin=np.asarray(cv2.blur(bare.astype(np.float32), (3, 3)), np.float32),
        extended=np.asarray(cv2.blur(extend.astype(np.float32), (3, 3)), np.float32),
        clothes=clothes,
        background=background,
    )


def _shoulder_line(fit: BodyFit, chin_u: float, chin_v: float, neckline: F64, u: F32) -> F32:
    """The top of the shoulders (frame row per column ``u``): from the neck's base down to
    the seams, level beyond them."""
    b = fit.breadth
    neck_v = float(fit.to_frame(neckline[None])[0, 1])
    seams = fit.to_frame(np.array(fit.seams))
    base_v = min(neck_v - 0.12 * b, chin_v + 0.2 * b)
    left, right = float(seams[0, 0]), float(seams[1, 0])
    us = [left - b, left, chin_u - NECK_HALF * b, chin_u + NECK_HALF * b, right, right + b]
    vs = [
        float(seams[0, 1]),
        float(seams[0, 1]),
        base_v,
        base_v,
        float(seams[1, 1]),
        float(seams[1, 1]),
    ]
    out: F32 = np.interp(u, us, vs).astype(np.float32)
    return out


def _box(where: NDArray[np.bool_], pad: int) -> Roi | None:
    """The box (in the region) around ``where``, grown by ``pad``; None when it is empty."""
    rows, cols = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    if rows.size == 0:
        return None
    h, w = where.shape
    return Roi(max(0, int(cols[0]) - pad), max(0, int(rows[0]) - pad),
               min(w, int(cols[-1]) + pad + 1), min(h, int(rows[-1]) + pad + 1))  # fmt: skip


def fill_background(region: NDArray[np.uint8], where: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """``region`` with ``where`` filled from around it (inpainting at a quarter size: the
    fill is smooth, and sixteen times cheaper)."""
    box = _box(where, 8)
    if box is None:
        return region
    out = region.copy()
    box.of(out)[:] = _inpaint(
        np.ascontiguousarray(box.of(region)), np.ascontiguousarray(box.of(where))
    )
    return out


def _inpaint(region: NDArray[np.uint8], where: NDArray[np.bool_]) -> NDArray[np.uint8]:
    h, w = where.shape
    size = ((w + 3) // 4, (h + 3) // 4)
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    hole = cv2.resize(where.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, hole, 2, cv2.INPAINT_TELEA)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    a = np.asarray(cv2.blur(where.astype(np.float32), (3, 3)), np.float32)[:, :, None]
    out = region.astype(np.float32) * (1.0 - a) + big.astype(np.float32) * a
    return np.asarray(np.clip(out, 0, 255), np.uint8)


def _neck(
    fit: BodyFit, chin_u: float, chin_v: float, *, neckline: F64, opening: float, collar: F64
) -> F64:
    """The neck down to the new neckline, widening into the garment's neck opening
    (``opening``: its half width, pixels) from the collar's height, as an image polygon."""
    b = fit.breadth
    neck_u, neck_v = (float(x) for x in fit.to_frame(neckline[None])[0])
    collar_v = float(fit.to_frame(collar[None])[0, 1])
    half = NECK_HALF * b
    base = max(opening, half)
    us = [-half, half, half, base, base, -base, -base]
    flare = min(neck_v - 0.12 * b, collar_v)
    vs = [chin_v - 0.1 * b, chin_v - 0.1 * b, flare, flare + 0.04 * b,
          neck_v + 0.02 * b, neck_v + 0.02 * b, flare + 0.04 * b]  # fmt: skip
    us += [-half]
    vs += [flare]
    centre = 0.5 * (chin_u + neck_u)
    return fit.to_image(np.array(us) + centre, np.array(vs))


def _bare_arms(
    body: Body, fit: BodyFit, sleeve_ends: tuple[F64, F64], roi: Roi
) -> NDArray[np.uint8]:
    """The arms past the new sleeves' ends (tubes along the pose's upper arm and forearm;
    along the fitted arm direction where the pose does not see them)."""
    h, w = roi.shape
    out = np.zeros((h, w), np.uint8)
    lm = np.asarray(body.landmarks, np.float64)
    shift = np.array([roi.x0, roi.y0], np.float64)
    thick = max(2, round(ARM_TUBE * fit.breadth))
    sides = ((ELBOW_RIGHT, WRIST_RIGHT), (ELBOW_LEFT, WRIST_LEFT))  # image-left first
    for i, (e, wr) in enumerate(sides):
        seam, direction = fit.seams[i], fit.arms[i]
        elbow = (
            lm[e, :2] if lm[e, 3] >= MIN_VISIBILITY else seam + direction * UPPER_ARM * fit.breadth
        )
        axis = elbow - seam
        if lm[wr, 3] >= MIN_VISIBILITY:
            wrist = lm[wr, :2]
        else:
            wrist = elbow + axis / max(float(np.linalg.norm(axis)), 1e-6) * FOREARM * fit.breadth
        hand = wrist + (wrist - elbow) * 0.25
        shifted = np.round((np.array([seam, elbow, wrist, hand]) - shift) * 16).astype(np.int32)
        upper = np.zeros((h, w), np.uint8)
        cv2.polylines(upper, [shifted[:2]], False, 1, thick, cv2.LINE_8, shift=4)
        # The upper arm only past the sleeve's end (the half-plane beyond it along the arm)...
        unit = axis / max(float(np.linalg.norm(axis)), 1e-6)
        xs = np.arange(w, dtype=np.float32) + np.float32(roi.x0 - sleeve_ends[i][0])
        ys = np.arange(h, dtype=np.float32) + np.float32(roi.y0 - sleeve_ends[i][1])
        beyond = (xs[None, :] * np.float32(unit[0]) + ys[:, None] * np.float32(unit[1])) > 0
        out |= upper & beyond.astype(np.uint8)
        # ...and the forearm and hand whole, past the elbow's first stretch: what the
        # renderer keeps in front of the garment there (a bent forearm may come back
        # across the body, behind that half-plane; a short sleeve never reaches it).
        start = elbow + 0.15 * (wrist - elbow)
        fore = np.round((np.array([start, wrist, hand]) - shift) * 16).astype(np.int32)
        cv2.polylines(out, [fore], False, 1, thick, cv2.LINE_8, shift=4)
    return out


def paint_skin(
    region: NDArray[np.uint8], where: F32, skin: SkinModel, *, fit: BodyFit, roi: Roi
) -> NDArray[np.uint8]:
    """``region`` with bare skin painted where ``where`` says: the face's colour, darker
    towards the part's edges (it is round) and in the chin's shadow."""
    box = _box(where > 0.02, 2)
    if box is None:
        return region
    out = region.copy()
    inner = Roi(roi.x0 + box.x0, roi.y0 + box.y0, roi.x0 + box.x1, roi.y0 + box.y1)
    part, amount = np.ascontiguousarray(box.of(region)), np.ascontiguousarray(box.of(where))
    box.of(out)[:] = _paint(part, amount, skin, fit=fit, roi=inner)
    return out


def _paint(
    region: NDArray[np.uint8], where: F32, skin: SkinModel, *, fit: BodyFit, roi: Roi
) -> NDArray[np.uint8]:
    # Round, not flat: darker towards the edges of the bare part (a neck, an arm).
    inside = (where > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) / np.float32(
        max(1.0, ROUND * fit.breadth)
    )
    shade = np.float32(1.0) - np.float32(EDGE_SHADE) * (1.0 - np.sqrt(np.clip(depth, 0.0, 1.0)))
    h, w = roi.shape
    xs = np.arange(w, dtype=np.float32) + np.float32(roi.x0 - fit.chin[0])
    ys = np.arange(h, dtype=np.float32) + np.float32(roi.y0 - fit.chin[1])
    below = (
        xs[None, :] * np.float32(fit.down[0]) + ys[:, None] * np.float32(fit.down[1])
    ) / np.float32(0.3 * fit.breadth)
    shade *= 1.0 - UNDER_CHIN * np.clip(1.0 - below, 0.0, 1.0)
    colour = shade[:, :, None] * skin.colour[None, None, :]
    a = where[:, :, None]
    out = region.astype(np.float32) * (1.0 - a) + colour * a
    return np.asarray(np.clip(out, 0, 255), np.uint8)


def extend_colour(
    colour: NDArray[np.uint8], alpha: F32, where: NDArray[np.bool_]
) -> NDArray[np.uint8]:
    """``colour`` where ``where`` says taking the colour of the nearest garment pixel
    (``alpha`` > 0.6) on its row (stripes run on), else in its column."""
    box = _box(where, 0)
    if box is None:
        return colour
    # The rows and columns around what is filled (the search runs along them only).
    rows = Roi(0, box.y0, colour.shape[1], box.y1)
    out = colour.copy()
    # At half size (four times cheaper; the fill is only seen at the garment's borders).
    part, a = rows.of(colour), rows.of(alpha)
    h, w = a.shape
    half = ((w + 1) // 2, (h + 1) // 2)
    small = _run_on(
        np.asarray(cv2.resize(part, half, interpolation=cv2.INTER_AREA), np.uint8),
        np.asarray(cv2.resize(a, half, interpolation=cv2.INTER_AREA), np.float32),
    )
    filled = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    keep = a[:, :, None] > 0.6
    rows.of(out)[:] = np.where(keep, part, filled)
    return out


def _run_on(colour: NDArray[np.uint8], alpha: F32) -> NDArray[np.uint8]:
    # A few pixels inside the garment: its anti-aliased edge would run on as streaks.
    valid = cv2.erode((alpha > 0.6).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not valid.any():
        return colour
    h, w = valid.shape
    cols = _nearest(valid)
    rows_ok = np.asarray(valid.any(axis=1), bool)
    out = colour[np.arange(h)[:, None], cols]
    if not rows_ok.all():
        filled = np.repeat(rows_ok[:, None], w, axis=1)
        rows = _nearest(filled.T).T
        out = out[rows, np.arange(w)[None, :]]
    return np.asarray(out, np.uint8)


def _nearest(valid: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Per pixel, the column of the nearest ``valid`` pixel on its row (itself if valid;
    rows without one point at themselves)."""
    h, w = valid.shape
    index = np.arange(w, dtype=np.int32)[None, :].repeat(h, axis=0)
    left = np.where(valid, index, -1)
    left = np.maximum.accumulate(left, axis=1)
    right = np.where(valid, index, w * 4)
    right = np.minimum.accumulate(right[:, ::-1], axis=1)[:, ::-1]
    use_left = (left >= 0) & ((right >= w) | (index - left <= right - index))
    chosen = np.where(use_left, left, right)
    out: NDArray[np.intp] = np.where((chosen >= 0) & (chosen < w), chosen, index)
    return out
