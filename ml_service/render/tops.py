"""Tops: a flat garment hung on the body's shoulders, its sleeves turned to follow the arms.

The body is fitted by :mod:`ml_service.render.body_fit` (shoulder seams on the person's
outline, arm directions); the garment is split by :mod:`ml_service.render.garment`. The torso
is placed by the affine map that puts the garment's shoulders on the seams (keeping its own
proportions: a long shirt stays long), sheared so its centre line runs to the hips when they
are seen; each sleeve is the same map turned about its shoulder seam until its outer edge
follows the arm. The face, forearms and hands stay in front; the garment keeps to the
person's outline; the photo's broad shading and light colour carry onto it; edges are soft.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.body_fit import BodyFit, fit_body
from ml_service.render.composite import (
    F32,
    PyramidCache,
    Roi,
    gaussian,
    gaussian_colour,
    luminance,
    polygon_mask,
    roi_around,
    to_float,
    warp_affine_into,
)
from ml_service.render.cover import (
    Cover,
    extend_colour,
    fill_background,
    fill_holes,
    paint_skin,
    plan_reduced,
)
from ml_service.render.errors import CannotRender
from ml_service.render.garment import SLEEVE_LEFT, SLEEVE_RIGHT, TORSO, Garment, prepare_garment
from ml_service.render.geometry import (
    CHIN,
    ELBOW_LEFT,
    ELBOW_RIGHT,
    F64,
    FOREHEAD_TOP,
    HIP_LEFT,
    HIP_RIGHT,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    WRIST_LEFT,
    WRIST_RIGHT,
    face_oval,
    landmark,
)
from ml_service.render.options import RenderOptions, rounded
from ml_service.render.skin import SkinModel, skin_model
from ml_service.types import Body, Face

MIN_VISIBILITY = 0.5
ORDER = (
    "collar",
    "shoulder_left",
    "shoulder_right",
    "armpit_left",
    "armpit_right",
    "sleeve_left",
    "sleeve_right",
    "hem_left",
    "hem_right",
)
SLEEVE_TURN_DEG = (-70.0, 45.0)  # how far a sleeve may turn from its packshot angle
OUTLINE_MARGIN = 0.06  # the garment may stand this far (in shoulder breadths) off the outline
FOREARM_WIDTH = 0.2  # in shoulder breadths
ARM_WIDTH = 0.25  # an upper arm seen from the front, in shoulder breadths
ARM_BAND = 0.3  # how far in from the outline a hanging arm reaches, in shoulder breadths
FULL_BODY_TORSO = 1.0  # hips at least this far below the shoulders are trusted (breadths)
MIN_TORSO_HALF = 0.42  # a slim torso's half width from the front, in shoulder breadths
MIN_SQUEEZE = 0.6
SLEEVE_WORN_WIDTH = 0.7  # a flat sleeve is half the tube; seen from the front it is narrower
FOLD_SIGMA = 0.02  # folds narrower than this (in shoulder breadths) are texture, not shape
FOLD_RANGE = (0.7, 1.25)  # how much the photo's folds may darken or lighten the garment
FOLD_STRENGTH = 0.7
MATERIAL_JUMP = (0.15, 0.35)  # |log brightness ratio|: a fold below, another material above
SHADING_PX_PER_BREADTH = 80.0
SAMPLE_STEP = 4
CHROMA_TOLERANCE = 0.08  # chromaticity change (L1) at which a fold is taken for a print
GRID_STEP = 8
SIDE_SHADE = 0.3  # the torso's sides, turned away, are this much darker
UNDERSIDE_SHADE = (
    0.25  # and a sleeve's underside  # pixels between exact evaluations of the torso's warp
)


@dataclass(frozen=True)
class Placement:
    """Where the garment's parts go: affine maps (2 x 3, garment pixels -> image pixels) of
    the torso and each sleeve, and the torso's narrowing: worn and seen from the front, a
    shirt is as wide as the body under it, not as wide as it lies flat. ``squeeze`` holds
    (garment depth below the shoulders, width factor) pairs, linear in between."""

    torso: F64
    sleeves: tuple[F64, F64]  # image-left first
    squeeze: tuple[tuple[float, float], ...]
    centre: F64  # garment point the torso narrows towards (between the shoulders)
    across: F64  # garment axes
    down: F64

    def width_factor(self, depth: F64) -> F64:
        """The torso's width factor at garment depths below the shoulder line."""
        xs, ks = zip(*self.squeeze, strict=True)
        return np.asarray(np.interp(depth, xs, ks), np.float64)

    def squeeze_points(self, points: F64) -> F64:
        """Garment points as placed on the narrowed torso (still in garment pixels)."""
        q = np.asarray(points, np.float64) - self.centre
        u, v = q @ self.across, q @ self.down
        k = self.width_factor(v)
        return self.centre + np.outer(u * k, self.across) + np.outer(v, self.down)

    def unsqueeze_points(self, points: F64) -> F64:
        """The inverse of :meth:`squeeze_points`."""
        q = np.asarray(points, np.float64) - self.centre
        u, v = q @ self.across, q @ self.down
        k = np.maximum(self.width_factor(v), 1e-3)
        return self.centre + np.outer(u / k, self.across) + np.outer(v, self.down)

    def point(self, garment: Garment, name: str) -> F64:
        """Where garment point ``name`` lands in the image."""
        side = name.rsplit("_", 1)[-1]
        p = garment.points[name]
        if name.startswith(("sleeve_", "cuff_")):
            matrix = self.sleeves[0 if side == "left" else 1]
        else:
            matrix = self.torso
            p = self.squeeze_points(p[None])[0]
        return np.asarray(matrix[:, :2] @ p + matrix[:, 2], np.float64)


def place(garment: Garment, fit: BodyFit, spine: F64 | None = None) -> Placement:
    """Where the garment's parts go on a fitted body (pure)."""
    g = garment.points
    s_left, s_right = fit.seams
    scale = fit.breadth / garment.breadth
    angle = _angle(s_right - s_left) - _angle(garment.across)
    rotation = scale * _rotation(angle)
    g_mid = (g["shoulder_left"] + g["shoulder_right"]) / 2
    b_mid = (s_left + s_right) / 2
    hem = g["hem_left"] / 2 + g["hem_right"] / 2
    hem_at = b_mid + rotation @ (hem - g_mid)
    if spine is not None:
        # Shear the torso so its centre line follows the spine rather than the square of
        # the shoulder line (a raised shoulder does not make the body lean).
        to_hem = hem_at - b_mid
        if float(spine @ to_hem) > 0:
            hem_at = b_mid + spine / float(np.linalg.norm(spine)) * float(np.linalg.norm(to_hem))
    torso = _affine((g["shoulder_left"], g["shoulder_right"], hem), (s_left, s_right, hem_at))
    sleeves = []
    similar = np.hstack([rotation, (b_mid - rotation @ g_mid)[:, None]])
    for side, seam, arm in (("left", s_left, fit.arms[0]), ("right", s_right, fit.arms[1])):
        shoulder = g[f"shoulder_{side}"]
        edge = g[f"sleeve_{side}"] - shoulder
        placed = rotation @ edge
        lo, hi = SLEEVE_TURN_DEG
        turn = _wrap(_angle(arm) - _angle(placed))
        # In image axes (y down) a positive turn lifts the image-left sleeve outwards and
        # lowers the image-right one.
        outward = turn if side == "left" else -turn
        outward = float(np.clip(outward, lo, hi))
        turn = outward if side == "left" else -outward
        about = np.vstack([np.hstack([_rotation(turn), (seam - _rotation(turn) @ seam)[:, None]]),
                           [0.0, 0.0, 1.0]])  # fmt: skip
        tube = _sleeve_tube(shoulder, edge, g[f"armpit_{side}"])
        sleeves.append((about @ np.vstack([similar, [0.0, 0.0, 1.0]]) @ tube)[:2])
    return Placement(
        torso=torso,
        sleeves=(sleeves[0], sleeves[1]),
        squeeze=_squeeze(garment, fit, scale),
        centre=g_mid,
        across=garment.across,
        down=garment.down,
    )


def _sleeve_tube(shoulder: F64, edge: F64, armpit: F64) -> F64:
    """3 x 3 garment -> garment map narrowing a flat sleeve to the width it shows worn
    around an arm, keeping its outer edge (shoulder -> sleeve end) where it is."""
    axis = edge / max(float(np.linalg.norm(edge)), 1e-9)
    normal = np.array([-axis[1], axis[0]])
    if float((armpit - shoulder) @ normal) < 0:
        normal = -normal
    # p -> p - (1 - k) * ((p - shoulder) . normal) * normal
    squash = np.eye(2) - (1.0 - SLEEVE_WORN_WIDTH) * np.outer(normal, normal)
    out = np.eye(3)
    out[:2, :2] = squash
    out[:2, 2] = shoulder - squash @ shoulder
    return out


def _squeeze(garment: Garment, fit: BodyFit, scale: float) -> tuple[tuple[float, float], ...]:
    """Width factors at the armpits and the hem: the garment's flat half width against the
    body's (the outline's reach less an arm hanging at the side; at least a slim torso)."""
    g = garment.points
    g_mid = (g["shoulder_left"] + g["shoulder_right"]) / 2
    seam_v = float(np.mean([(p - fit.origin) @ fit.down for p in fit.seams]))
    out = [(0.0, 1.0)]
    for level in ("armpit", "hem"):
        left, right = g[f"{level}_left"], g[f"{level}_right"]
        depth = float(((left + right) / 2 - g_mid) @ garment.down)
        flat = 0.5 * float(np.linalg.norm(right - left)) * scale  # image pixels
        body = MIN_TORSO_HALF * fit.breadth
        if fit.outline is not None:
            v = seam_v + depth * scale
            reach = [fit.outline.side(v, sign) for sign in (-1.0, 1.0)]
            if all(np.isfinite(reach)):
                body = max(body, float(np.mean(reach)) - ARM_WIDTH * fit.breadth)
        out.append((depth, float(np.clip(body / max(flat, 1e-6), MIN_SQUEEZE, 1.0))))
    return tuple(out)


def _angle(v: F64) -> float:
    return float(np.degrees(np.arctan2(v[1], v[0])))


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def _rotation(deg: float) -> F64:
    r = np.radians(deg)
    return np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])


def _affine(src: tuple[F64, F64, F64], dst: tuple[F64, F64, F64]) -> F64:
    return np.asarray(
        cv2.getAffineTransform(np.array(src, np.float32), np.array(dst, np.float32)), np.float64
    )


class TopRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "top":
            raise CannotRender(f"not a top asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self.garment = prepare_garment(asset)
        g = self.garment
        # Each sleeve reaches a little into the torso so that no seam opens between them.
        grow = max(1, int(0.01 * g.breadth))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        self._layers: dict[int, PyramidCache] = {}
        self._outlines: dict[int, F64] = {}
        for part in (TORSO, SLEEVE_LEFT, SLEEVE_RIGHT):
            inside = (g.parts == part).astype(np.uint8)
            if part != TORSO:
                inside = np.asarray(cv2.dilate(inside, kernel), np.uint8) & (g.parts > 0)
            layer = g.image.copy()
            layer[:, :, 3] = layer[:, :, 3] * inside
            layer[:, :, :3] = np.clip(
                layer[:, :, :3] * _volume(g, part)[:, :, None], 0, 255
            ).astype(np.uint8)
            self._layers[part] = PyramidCache(layer)
            self._outlines[part] = _part_outline(layer[:, :, 3])

    def draw(
        self, image: NDArray[np.uint8], body: Body, face: Face | None, options: RenderOptions
    ) -> dict[str, Any]:
        """Render on ``image`` (BGR, in place); returns the garment anchors in the photo."""
        h, w = image.shape[:2]
        fit = fit_body(body, face)
        placement = place(self.garment, fit, _spine(body, face, fit))
        geometry: dict[str, Any] = {
            "anchors": {k: rounded(placement.point(self.garment, k)[None])[0] for k in ORDER},
            "shoulder_breadth_px": round(fit.breadth, 1),
        }
        parts = [(TORSO, placement.torso), (SLEEVE_LEFT, placement.sleeves[0]),
                 (SLEEVE_RIGHT, placement.sleeves[1])]  # fmt: skip
        outlines = {
            TORSO: _apply(placement.torso, placement.squeeze_points(self._outlines[TORSO])),
            SLEEVE_LEFT: _apply(placement.sleeves[0], self._outlines[SLEEVE_LEFT]),
            SLEEVE_RIGHT: _apply(placement.sleeves[1], self._outlines[SLEEVE_RIGHT]),
        }
        # The region holds the garment, the arms and the neck up to the chin (what the old
        # clothes may leave bare).
        roi = roi_around(
            np.vstack([*outlines.values(), *_arm_points(body, fit), fit.chin[None]]), (w, h), pad=4
        )
        if roi.empty:
            geometry["drawn"] = False
            return geometry
        scale = fit.breadth / self.garment.breadth
        layer, to_level = self._layers[TORSO].for_scale(scale)
        garment = _warp_torso(layer, to_level, placement, roi)  # BGRA uint8
        colour = np.ascontiguousarray(garment[:, :, :3])
        alpha = garment[:, :, 3].astype(np.float32) * np.float32(1.0 / 255.0)
        for part, matrix in parts[1:]:
            # Each sleeve only where it is: the torso covers most of the region.
            box = roi_around(outlines[part], (w, h), pad=2)
            sub = Roi(max(box.x0, roi.x0), max(box.y0, roi.y0),
                      min(box.x1, roi.x1), min(box.y1, roi.y1))  # fmt: skip
            if sub.empty:
                continue
            layer, to_level = self._layers[part].for_scale(scale)
            full = np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_level)
            sleeve = warp_affine_into(layer, full[:2], sub)
            inner = Roi(sub.x0 - roi.x0, sub.y0 - roi.y0, sub.x1 - roi.x0, sub.y1 - roi.y0)
            a = sleeve[:, :, 3].astype(np.float32) * np.float32(1.0 / 255.0)
            below = inner.of(alpha)
            inner.of(colour)[:] = _blend(
                np.ascontiguousarray(sleeve[:, :, :3]), inner.of(colour), a
            )
            inner.of(alpha)[:] = below + a * (1.0 - below)
        alpha = gaussian(alpha, 0.6)
        if body.mask is not None:
            alpha *= _near_outline(body.mask, roi, OUTLINE_MARGIN * fit.breadth)
        base = np.ascontiguousarray(roi.of(image))
        under = base
        skin = skin_model(image, face) if face is not None else None
        if options.occlusion and body.mask is not None:
            # What the old clothes leave around the new garment: the garment extended over
            # them, or the bare neck and arms painted (ml_service/render/cover.py).
            cover = self._cover(
                base,
                body=body,
                face=face,
                fit=fit,
                placement=placement,
                skin=skin,
                roi=roi,
                alpha=alpha,
            )
            geometry["covered_px"] = int(
                (cover.extended > 0.5).sum() + (cover.skin > 0.5).sum() + cover.background.sum()
            )
            if float(cover.extended.max(initial=0.0)) > 0.02:
                colour = extend_colour(colour, alpha, cover.extended > 0.02)
                alpha = np.maximum(alpha, cover.extended)
            under = fill_background(base, cover.background)
            if skin is not None:
                under = paint_skin(under, cover.skin, skin, fit=fit, roi=roi)
        if options.occlusion:
            bare = _bare_upper_arms(self.garment, placement, fit, body)
            alpha *= 1.0 - _in_front(body, face, roi, fit, bare)
        if options.match_colour:
            gains = _light(base, body=body, roi=roi, image=image, breadth=fit.breadth)
            colour = np.asarray(cv2.multiply(colour, gains, dtype=cv2.CV_8U), np.uint8)
        roi.of(image)[:] = _blend(colour, under, alpha)
        geometry["drawn"] = bool(alpha.max(initial=0.0) > 0.02)
        return geometry

    def _cover(
        self,
        base: NDArray[np.uint8],
        *,
        body: Body,
        face: Face | None,
        fit: BodyFit,
        placement: Placement,
        skin: SkinModel | None,
        roi: Roi,
        alpha: F32,
    ) -> Cover:
        g = self.garment
        hems = fit.to_frame(
            np.array([placement.point(g, "hem_left"), placement.point(g, "hem_right")])
        )
        ends = tuple(
            (placement.point(g, f"sleeve_{side}") + placement.point(g, f"cuff_{side}")) / 2
            for side in ("left", "right")
        )
        return plan_reduced(
            base,
            body=body,
            face=face,
            fit=fit,
            skin=skin,
            roi=roi,
            garment_alpha=alpha,
            neckline=placement.point(g, "neckline"),
            collar=placement.point(g, "collar"),
            opening=0.5
            * float(
                np.linalg.norm(placement.point(g, "neck_right") - placement.point(g, "neck_left"))
            ),
            sleeve_ends=(ends[0], ends[1]),
            hem_v=float(hems[:, 1].max()),
        )


def _arm_points(body: Body, fit: BodyFit) -> list[F64]:
    """The seen elbows and wrists, padded by an arm's width (the region must hold the arms
    that the old sleeves covered)."""
    lm = np.asarray(body.landmarks, np.float64)
    pad = 0.2 * fit.breadth
    seen = [
        lm[i, :2]
        for i in (ELBOW_LEFT, ELBOW_RIGHT, WRIST_LEFT, WRIST_RIGHT)
        if lm[i, 3] >= MIN_VISIBILITY
    ]
    return [np.array([p - pad, p + pad]) for p in seen]


def _part_outline(alpha: NDArray[np.uint8], samples: int = 9) -> F64:
    """Points around a part layer's box (garment pixels), dense enough down its sides that
    the torso's narrowing cannot move the part outside their hull."""
    ys, xs = np.nonzero(alpha)
    if ys.size == 0:
        return np.zeros((1, 2), np.float64)
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()) + 1, float(ys.min()), float(ys.max()) + 1
    side = np.linspace(y0, y1, samples)
    return np.vstack([np.column_stack([np.full(samples, x0), side]),
                      np.column_stack([np.full(samples, x1), side])])  # fmt: skip


def _apply(matrix: F64, points: F64) -> F64:
    return np.asarray(points @ matrix[:, :2].T + matrix[:, 2], np.float64)


def _warp_torso(
    layer: NDArray[np.uint8], to_level: F64, placement: Placement, roi: Roi
) -> NDArray[np.uint8]:
    """The torso layer through the placement's affine map and narrowing, into ``roi``. The
    inverse map is exact on a coarse grid and bilinear in between (the warp is smooth)."""
    rh, rw = roi.shape
    ny, nx = rh // GRID_STEP + 2, rw // GRID_STEP + 2
    # Grid nodes where cv2.resize puts its samples: output pixel i reads input (i + .5)/s - .5.
    gx = (np.arange(nx) + 0.5) * GRID_STEP - 0.5 + roi.x0
    gy = (np.arange(ny) + 0.5) * GRID_STEP - 0.5 + roi.y0
    image_pts = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    inverse = np.linalg.inv(np.vstack([placement.torso, [0, 0, 1]]))
    garment_pts = image_pts @ inverse[:2, :2].T + inverse[:2, 2]
    flat = placement.unsqueeze_points(garment_pts)
    level = flat @ to_level[:2, :2].T + to_level[:2, 2]
    coarse = level.reshape(ny, nx, 2).astype(np.float32)
    dense = cv2.resize(coarse, (nx * GRID_STEP, ny * GRID_STEP), interpolation=cv2.INTER_LINEAR)
    dense = np.ascontiguousarray(dense[:rh, :rw])
    out = cv2.remap(
        layer, dense[:, :, 0], dense[:, :, 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.asarray(out, np.uint8)


def _volume(garment: Garment, part: int) -> F32:
    """A flat packshot is evenly lit; worn, cloth turns away from the light towards the
    body's sides and under the arms. Per garment pixel, the light that keeps."""
    h, w = garment.parts.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    g = garment.points
    if part == TORSO:
        centre = float((g["armpit_left"][0] + g["armpit_right"][0]) / 2)
        half = max(float(g["armpit_right"][0] - g["armpit_left"][0]) / 2, 1.0)
        t = np.clip(np.abs(xs - centre) / half, 0.0, 1.0)
        return np.asarray(1.0 - SIDE_SHADE * t**3, np.float32)
    side = "left" if part == SLEEVE_LEFT else "right"
    s, e, k = g[f"shoulder_{side}"], g[f"sleeve_{side}"], g[f"cuff_{side}"]
    axis = (e - s) / max(float(np.linalg.norm(e - s)), 1e-9)
    normal = np.array([-axis[1], axis[0]])
    width = float((k - e) @ normal)  # signed: towards the sleeve's underside
    if abs(width) < 1.0:
        return np.ones((h, w), np.float32)
    t = np.clip(((xs - s[0]) * normal[0] + (ys - s[1]) * normal[1]) / width, 0.0, 1.0)
    return np.asarray(1.0 - UNDERSIDE_SHADE * t**2, np.float32)


def _spine(body: Body, face: Face | None, fit: BodyFit) -> F64 | None:
    """Which way the torso hangs from the shoulders: towards the hips on a full body; on a
    head-and-shoulders photo, where the pose model squeezes a body that continues below the
    frame (docs/render.md, "Tops") and its hips cannot be trusted, halfway between the
    square of the shoulder line and the head's own vertical; else None (square)."""
    lm = np.asarray(body.landmarks, np.float64)
    if (lm[[HIP_LEFT, HIP_RIGHT], 3] >= MIN_VISIBILITY).all():
        hips = lm[[HIP_LEFT, HIP_RIGHT], :2].mean(axis=0) - fit.origin
        if float(hips @ fit.down) >= FULL_BODY_TORSO * fit.breadth:
            return np.asarray(hips, np.float64)
    if face is None:
        return None
    head = landmark(face, CHIN) - landmark(face, FOREHEAD_TOP)
    length = float(np.linalg.norm(head))
    if length < 1e-6 or float(head @ fit.down) <= 0:
        return None
    return np.asarray(fit.down + head / length, np.float64)


def _near_outline(mask: NDArray[np.float32], roi: Roi, margin: float) -> F32:
    """1 on the person and within about ``margin`` pixels of them, fading to 0 beyond (box
    filters: a round dilation this wide cost more than the whole composite)."""
    inside = fill_holes((roi.of(mask) > 0.5).astype(np.uint8)).astype(np.float32)
    r = max(1, round(margin))
    grown = (cv2.blur(inside, (2 * r + 1, 2 * r + 1)) > 0.02).astype(np.float32)
    soft = max(3, 2 * (r // 2) + 1)
    return np.asarray(cv2.blur(grown, (soft, soft)), np.float32)


def _bare_upper_arms(garment: Garment, placement: Placement, fit: BodyFit, body: Body) -> list[F64]:
    """Per side whose elbow is seen, the upper arm between the sleeve's end and the elbow
    (an image polygon around the pose's shoulder-to-elbow line): it hangs in front of the
    torso's side, which the flat garment would otherwise paint over it. Not guessed when the
    elbow is not seen: a wrong guess cuts a hole into the shirt."""
    lm = np.asarray(body.landmarks, np.float64)
    out = []
    pairs = ((ELBOW_RIGHT, SHOULDER_RIGHT), (ELBOW_LEFT, SHOULDER_LEFT))
    for side, (elbow_i, shoulder_i) in zip(("left", "right"), pairs, strict=True):
        if lm[elbow_i, 3] < MIN_VISIBILITY or lm[shoulder_i, 3] < MIN_VISIBILITY:
            continue
        shoulder, elbow = lm[shoulder_i, :2], lm[elbow_i, :2]
        length = float(np.linalg.norm(elbow - shoulder))
        if length < 1.0:
            continue
        axis = (elbow - shoulder) / length
        ends = [
            float((placement.point(garment, f"{k}_{side}") - shoulder) @ axis)
            for k in ("sleeve", "cuff")
        ]
        start = max(ends)
        if start >= length:
            continue  # a long sleeve: nothing bare above the elbow
        half = 0.5 * ARM_WIDTH * fit.breadth * np.array([-axis[1], axis[0]])
        a, b = shoulder + axis * start, elbow
        out.append(np.array([a - half, a + half, b + half, b - half]))
    return out


def _in_front(body: Body, face: Face | None, roi: Roi, fit: BodyFit, bare: list[F64]) -> F32:
    """What stays in front of the garment: the face, the bare upper arms, the forearms and
    hands."""
    h, w = roi.shape
    keep = np.zeros((h, w), np.float32)
    if face is not None:
        keep = np.maximum(keep, polygon_mask(face_oval(face), roi, feather=1.5))
    if bare and body.mask is not None:
        # A hanging arm is the outer part of the silhouette: the bare arm below a sleeve is
        # kept only that near the outline, never the middle of the chest.
        person = (roi.of(body.mask) > 0.5).astype(np.uint8)
        r = max(1, round(ARM_BAND * fit.breadth))
        core = np.asarray(cv2.erode(person, np.ones((2 * r + 1, 2 * r + 1), np.uint8)), np.uint8)
        band = (person > core).astype(np.float32)
        for polygon in bare:
            keep = np.maximum(keep, polygon_mask(polygon, roi, feather=1.0) * band)
    lm = np.asarray(body.landmarks, np.float64)
    arms = np.zeros((h, w), np.uint8)
    thick = max(2, int(FOREARM_WIDTH * fit.breadth))
    shift = np.array([roi.x0, roi.y0], np.float64)
    for e, wr in ((ELBOW_LEFT, WRIST_LEFT), (ELBOW_RIGHT, WRIST_RIGHT)):
        if lm[e, 3] < MIN_VISIBILITY or lm[wr, 3] < MIN_VISIBILITY:
            continue
        p, q = lm[e, :2] - shift, lm[wr, :2] - shift
        # From just past the elbow (the sleeve ends above it) to past the wrist (the hand).
        start = np.round((p + 0.15 * (q - p)) * 16).astype(int)
        end = np.round((q + 0.45 * (q - p)) * 16).astype(int)
        cv2.line(arms, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), 255, thick,
                 cv2.LINE_AA, shift=4)  # fmt: skip
    arm_mask = gaussian(arms.astype(np.float32) * np.float32(1.0 / 255.0), 1.0)
    if body.mask is not None:
        arm_mask *= roi.of(body.mask) > 0.5
    out: F32 = np.maximum(keep, arm_mask)
    return out


def _folds(base_u8: NDArray[np.uint8], breadth: float, person: F32 | None) -> F32:
    """The photo's shading at fold scale relative to its broad light, 1 where nothing (and
    off the ``person`` mask, when given).

    Shading keeps a surface's colour and only darkens it; a change of colour is a change of
    material (a badge, a shirt under an open coat), which must not print through. Both are
    smooth, so they are worked out on a copy reduced to about 80 pixels per shoulder
    breadth (the blurs at full size would cost more than the rest of the render)."""
    h, w = base_u8.shape[:2]
    factor = max(1.0, breadth / SHADING_PX_PER_BREADTH)
    small_u8 = base_u8
    if factor > 1.0:
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        small_u8 = np.asarray(cv2.resize(base_u8, size, interpolation=cv2.INTER_AREA), np.uint8)
    small = to_float(small_u8)
    weight = None
    if person is not None:
        weight = np.asarray(cv2.resize(person, small_u8.shape[1::-1]), np.float32)
    b = breadth / factor
    fold, light = max(0.8, FOLD_SIGMA * b), max(2.0, 0.25 * b)
    near, far = gaussian_colour(small, fold), gaussian_colour(small, light)
    ratio = luminance(near) / np.maximum(luminance(far), 1e-3)
    # A fold darkens or lightens gently; a jump in brightness is another material (a badge,
    # a white collar on a dark coat) and must not print through either.
    jump = np.abs(np.log(np.maximum(ratio, 1e-3)))
    gentle = np.clip((MATERIAL_JUMP[1] - jump) / (MATERIAL_JUMP[1] - MATERIAL_JUMP[0]), 0.0, 1.0)
    shade = 1.0 + (np.clip(ratio, *FOLD_RANGE) ** FOLD_STRENGTH - 1.0) * gentle
    drift = np.abs(_chromaticity(near) - _chromaticity(far)).sum(axis=2)
    shade = 1.0 + (shade - 1.0) * np.clip(1.0 - drift / CHROMA_TOLERANCE, 0.0, 1.0)
    if weight is not None:
        shade = 1.0 + (shade - 1.0) * weight  # the person's folds only, not the background
    if factor > 1.0:
        shade = cv2.resize(shade, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(shade, np.float32)


def _chromaticity(bgr: F32) -> F32:
    out: F32 = bgr / np.maximum(bgr.sum(axis=2, keepdims=True), 1e-3)
    return out


def _blend(top: NDArray[np.uint8], bottom: NDArray[np.uint8], alpha: F32) -> NDArray[np.uint8]:
    """``top`` over ``bottom`` (uint8 BGR) with coverage ``alpha`` (one pass in OpenCV)."""
    a = np.ascontiguousarray(alpha, np.float32)
    return np.asarray(cv2.blendLinear(top, np.ascontiguousarray(bottom), a, 1.0 - a), np.uint8)


def _light(
    base: NDArray[np.uint8],
    *,
    body: Body,
    roi: Roi,
    image: NDArray[np.uint8],
    breadth: float,
) -> F32:
    """Per-pixel, per-channel gains (H x W x 3) for the garment: the photo's broad shading
    (not its fine texture: logos and seams of the clothes underneath stay out), and its
    light's colour and level."""
    shade = _folds(base, breadth, None if body.mask is None else roi.of(body.mask))
    # The light's colour from the surroundings, not from the clothes being covered, and its
    # level from the person (a sparse sample is plenty for two averages).
    sample = image[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3).astype(np.float32)
    person = (
        np.asarray(body.mask)[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1) > 0.5
        if body.mask is not None
        else np.zeros(len(sample), bool)
    )
    around = sample[~person] if (~person).sum() > 16 else sample
    cast = around.mean(axis=0)
    cast = (cast / max(float(cast.mean()), 1e-3)) ** 0.2
    lit = sample[person] if person.sum() > 16 else sample
    level = float((lit @ np.array([0.114, 0.587, 0.299], np.float32)).mean()) / 255.0
    exposure = float(np.clip((level / 0.45) ** 0.25, 0.8, 1.1))
    gain = (shade * np.float32(exposure)).astype(np.float32)
    return np.asarray(cv2.merge([gain * np.float32(c) for c in cast]), np.float32)
