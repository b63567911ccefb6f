"""Tops: a flat garment warped onto the body with a thin-plate spline.

Garment anchors (collar, shoulders, armpits, sleeve ends, hem corners) are sent to points on
the body derived from the pose (shoulders, elbows, hips) and the person mask (torso width).
The spline is solved in the inverse direction (photo -> garment), evaluated on a coarse grid and
interpolated, so ``cv2.remap`` does the per-pixel work. The face and the forearms stay in front;
the folds and light of the photo are carried onto the garment; edges are soft.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.composite import (
    F32,
    PyramidCache,
    Roi,
    gaussian,
    luminance,
    over,
    polygon_mask,
    roi_around,
    to_float,
    to_u8,
)
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    ELBOW_LEFT,
    ELBOW_RIGHT,
    F64,
    HIP_LEFT,
    HIP_RIGHT,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    WRIST_LEFT,
    WRIST_RIGHT,
    face_oval,
)
from ml_service.render.options import RenderOptions, rounded
from ml_service.types import Body, Face

MIN_VISIBILITY = 0.5
GRID_STEP = 8  # pixels between evaluations of the spline
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


def tps_fit(src: F64, dst: F64, *, smoothing: float = 1e-3) -> tuple[F64, F64]:
    """Thin-plate spline mapping ``src`` (N x 2) to ``dst``: returns (weights N x 2, affine
    3 x 2) for :func:`tps_apply`."""
    n = len(src)
    d = np.linalg.norm(src[:, None] - src[None], axis=2)
    k = _kernel(d)
    scale = float(np.mean(d)) or 1.0
    k += smoothing * scale * scale * np.eye(n)
    p = np.hstack([np.ones((n, 1)), src])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    b = np.zeros((n + 3, 2))
    b[:n] = dst
    sol = np.asarray(np.linalg.solve(a, b), np.float64)
    return sol[:n], sol[n:]


def tps_apply(points: F64, src: F64, weights: F64, affine: F64) -> F64:
    d = np.linalg.norm(points[:, None] - src[None], axis=2)
    return _kernel(d) @ weights + np.hstack([np.ones((len(points), 1)), points]) @ affine


def _kernel(r: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r * r * np.log(r)
    return np.nan_to_num(out)


def body_targets(asset: PreparedAsset, body: Body, image_size: tuple[int, int]) -> dict[str, F64]:
    """Where each garment anchor goes on this body (image pixels). Raises CannotRender when
    the shoulders are not visible or the body is turned sideways."""
    lm = np.asarray(body.landmarks, np.float64)
    if (lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3] < MIN_VISIBILITY).any():
        raise CannotRender(
            "both shoulders must be visible to try on a top", reason="body-not-visible"
        )
    sl, sr = lm[SHOULDER_RIGHT, :2], lm[SHOULDER_LEFT, :2]  # image-left, image-right
    sw = float(np.linalg.norm(sr - sl))
    if sw < 24:
        raise CannotRender("the body is too small in the photo", reason="body-too-small")
    across = (sr - sl) / sw
    down = np.array([-across[1], across[0]])
    mid_s = (sl + sr) / 2
    nose = lm[0]
    if nose[3] >= MIN_VISIBILITY and float((mid_s - nose[:2]) @ down) < 0.3 * sw:
        # The head should stand well above the shoulder line; when it does not, the pose is
        # wrong (or the person bends over) and a garment would be drawn over the face.
        raise CannotRender(
            "the body pose is not reliable enough for a top", reason="body-not-visible"
        )
    hips_seen = (lm[[HIP_LEFT, HIP_RIGHT], 3] >= MIN_VISIBILITY).all()
    if hips_seen:
        mid_h = (lm[HIP_LEFT, :2] + lm[HIP_RIGHT, :2]) / 2
        torso = float((mid_h - mid_s) @ down)
        if torso <= 0:
            raise CannotRender("the body is upside down or lying", reason="body-not-visible")
        if sw < 0.38 * torso:
            raise CannotRender("the body is turned sideways", reason="body-sideways")
    else:
        torso = 1.35 * sw  # an average torso below the shoulders
    a = {k: np.asarray(v, np.float64) for k, v in asset.anchors.items()}
    g_sw = float(np.linalg.norm(a["shoulder_right"] - a["shoulder_left"]))
    g_len = float(
        ((a["hem_left"] + a["hem_right"]) / 2 - (a["shoulder_left"] + a["shoulder_right"]) / 2)[1]
    )
    scale = 1.1 * sw / max(g_sw, 1.0)  # the shoulder seams sit a little outside the joints
    hem_depth = float(np.clip(g_len * scale, 0.9 * torso, 1.35 * torso))
    chest_half = _half_width(body, mid_s + down * 0.3 * torso, across, fallback=0.47 * sw)
    hem_half = _half_width(body, mid_s + down * 0.95 * torso, across, fallback=0.45 * sw)
    g_hem_half = 0.5 * float(np.linalg.norm(a["hem_right"] - a["hem_left"])) * scale
    hem_half = max(hem_half * 1.04, min(g_hem_half, 1.3 * hem_half))
    out = {
        "collar": mid_s - down * 0.13 * sw,
        "shoulder_left": sl - across * 0.05 * sw - down * 0.05 * sw,
        "shoulder_right": sr + across * 0.05 * sw - down * 0.05 * sw,
        "armpit_left": mid_s + down * 0.3 * torso - across * chest_half * 1.04,
        "armpit_right": mid_s + down * 0.3 * torso + across * chest_half * 1.04,
        "hem_left": mid_s + down * hem_depth - across * hem_half,
        "hem_right": mid_s + down * hem_depth + across * hem_half,
    }
    for side, shoulder, elbow_i, anchor in (
        (-1.0, sl, ELBOW_RIGHT, "sleeve_left"),
        (1.0, sr, ELBOW_LEFT, "sleeve_right"),
    ):
        g_sleeve = float(np.linalg.norm(a[anchor] - a[f"shoulder_{anchor.split('_')[1]}"])) * scale
        elbow = (
            lm[elbow_i, :2] if lm[elbow_i, 3] >= MIN_VISIBILITY else shoulder + down * 0.55 * torso
        )
        arm = elbow - shoulder
        arm_len = float(np.linalg.norm(arm)) or 1.0
        direction = arm / arm_len
        outward = np.array([-direction[1], direction[0]])
        outward = outward if float(outward @ across) * side > 0 else -outward
        reach = min(g_sleeve * 0.8, 0.75 * arm_len)
        out[anchor] = shoulder + direction * reach + outward * 0.1 * sw
        out[f"cuff_{anchor.split('_')[1]}"] = shoulder + direction * reach - outward * 0.08 * sw
    return _with_derived(out)


def _with_derived(points: dict[str, F64]) -> dict[str, F64]:
    """Points between the anchors that keep the spline from bending the torso's sides."""
    out = dict(points)
    for side in ("left", "right"):
        out[f"side_{side}"] = (points[f"armpit_{side}"] + points[f"hem_{side}"]) / 2
    out["hem_centre"] = (points["hem_left"] + points["hem_right"]) / 2
    out["chest"] = (points["armpit_left"] + points["armpit_right"]) / 2
    out["belly"] = (out["chest"] + out["hem_centre"]) / 2
    return out


def garment_points(asset: PreparedAsset) -> dict[str, F64]:
    """The garment's anchors plus the inner cuff corners (the lowest point of each sleeve)
    and the derived points of :func:`_with_derived`."""
    a = {k: np.asarray(v, np.float64) for k, v in asset.anchors.items() if k in ORDER}
    solid = asset.image[:, :, 3] > 127
    for side in ("left", "right"):
        x_end, x_pit = a[f"sleeve_{side}"][0], a[f"armpit_{side}"][0]
        lo, hi = sorted((int(x_end), int(x_pit)))
        margin = max(1, int(0.1 * (hi - lo)))
        cols = range(lo + margin, hi - margin) if hi - lo > 2 * margin else range(lo, hi + 1)
        best = a[f"sleeve_{side}"]
        for x in cols:
            ys = np.nonzero(solid[:, x])[0]
            ys = ys[ys <= a[f"armpit_{side}"][1] + 0.5 * abs(x_pit - x_end)]
            if ys.size and ys.max() > best[1]:
                best = np.array([float(x), float(ys.max())])
        a[f"cuff_{side}"] = best
    return _with_derived(a)


def _half_width(body: Body, at: F64, across: F64, *, fallback: float) -> float:
    """Half the person mask's width through ``at`` along ``across`` (torso only)."""
    if body.mask is None:
        return fallback
    mask = body.mask
    h, w = mask.shape
    steps = np.arange(0, int(2.5 * fallback))
    hits = []
    for sign in (-1.0, 1.0):
        pts = at[None] + sign * steps[:, None] * across[None]
        xs, ys = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
        ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        inside = np.zeros(len(steps), bool)
        inside[ok] = mask[ys[ok], xs[ok]] > 0.5
        gaps = np.nonzero(~inside)[0]
        hits.append(float(gaps[0]) if gaps.size else float(len(steps)))
    half = float(np.mean(hits))
    # A mask that includes the arms (hands on hips) would make the top a tent: stay plausible.
    return float(np.clip(half, 0.75 * fallback, 1.25 * fallback))


class TopRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "top":
            raise CannotRender(f"not a top asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self._pyramid = PyramidCache(asset.image)
        a = asset.anchors
        self.points = garment_points(asset)
        self.keys = sorted(self.points)
        self.src = np.array([self.points[k] for k in self.keys], np.float64)
        g_sw = float(np.linalg.norm(np.subtract(a["shoulder_right"], a["shoulder_left"])))
        self.garment_sw = max(g_sw, 1.0)

    def draw(
        self, image: NDArray[np.uint8], body: Body, face: Face | None, options: RenderOptions
    ) -> dict[str, Any]:
        h, w = image.shape[:2]
        targets = body_targets(self.asset, body, (w, h))
        dst = np.array([targets[k] for k in self.keys], np.float64)
        # Inverse spline: photo pixels -> garment pixels.
        weights, affine = tps_fit(dst, self.src)
        aw, ah = self.asset.size
        corners = tps_fit(self.src, dst)
        outline = tps_apply(
            np.array(
                [
                    [0, 0],
                    [aw, 0],
                    [aw, ah],
                    [0, ah],
                    [aw / 2, 0],
                    [aw / 2, ah],
                    [0, ah / 2],
                    [aw, ah / 2],
                ],
                np.float64,
            ),
            self.src,
            *corners,
        )
        roi = roi_around(np.vstack([outline, dst]), (w, h), pad=8)
        geometry: dict[str, Any] = {"anchors": {k: rounded(targets[k][None])[0] for k in ORDER}}
        if roi.empty:
            geometry["drawn"] = False
            return geometry
        rh, rw = roi.shape
        gx = np.arange(0, rw + GRID_STEP, GRID_STEP, dtype=np.float64)
        gy = np.arange(0, rh + GRID_STEP, GRID_STEP, dtype=np.float64)
        grid = np.stack(np.meshgrid(gx + roi.x0, gy + roi.y0), axis=-1).reshape(-1, 2)
        mapped = tps_apply(grid, dst, weights, affine).reshape(len(gy), len(gx), 2)
        body_sw = float(np.linalg.norm(targets["shoulder_right"] - targets["shoulder_left"]))
        scale = body_sw / self.garment_sw
        layer, to_level = self._pyramid.for_scale(scale)
        mapped = mapped * [to_level[0, 0], to_level[1, 1]] + [to_level[0, 2], to_level[1, 2]]
        big = cv2.resize(
            mapped.astype(np.float32),
            (len(gx) * GRID_STEP, len(gy) * GRID_STEP),
            interpolation=cv2.INTER_LINEAR,
        )
        big = big[:rh, :rw]
        # cv2.resize aligns pixel centres; the grid was sampled at multiples of GRID_STEP.
        warped = cv2.remap(
            layer, big[:, :, 0], big[:, :, 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        garment = to_float(np.asarray(warped, np.uint8))
        alpha = gaussian(garment[:, :, 3], 0.8)
        colour = garment[:, :, :3]
        base = to_float(roi.of(image))
        if options.occlusion:
            alpha = alpha * (
                1.0 - _in_front(body, face, roi, float(np.linalg.norm(dst[2] - dst[1])))
            )
        if options.match_colour:
            colour = _match_light(colour, base, body, roi)
        roi.of(image)[:] = to_u8(over(base, colour, alpha))
        geometry["drawn"] = True
        return geometry


def _in_front(body: Body, face: Face | None, roi: Roi, sw: float) -> F32:
    """What stays in front of the garment: the face, the forearms and hands."""
    h, w = roi.shape
    keep = np.zeros((h, w), np.float32)
    if face is not None:
        keep = np.maximum(keep, polygon_mask(face_oval(face), roi, feather=1.5))
    lm = np.asarray(body.landmarks, np.float64)
    arms = np.zeros((h, w), np.uint8)
    thick = max(2, int(0.2 * sw))
    for e, wr in ((ELBOW_LEFT, WRIST_LEFT), (ELBOW_RIGHT, WRIST_RIGHT)):
        if lm[e, 3] < MIN_VISIBILITY or lm[wr, 3] < MIN_VISIBILITY:
            continue
        p = (lm[e, :2] - [roi.x0, roi.y0]).round().astype(int)
        q = (lm[wr, :2] - [roi.x0, roi.y0]).round().astype(int)
        # From just below the elbow (the sleeve ends above it) to past the wrist (the hand).
        start = p + 0.25 * (q - p)
        end = q + 0.35 * (q - p)
        cv2.line(
            arms,
            tuple(start.round().astype(int)),
            tuple(end.round().astype(int)),
            255,
            thick,
            cv2.LINE_AA,
        )
    arm_mask: F32 = arms.astype(np.float32) * np.float32(1.0 / 255.0)
    if body.mask is not None:
        arm_mask *= roi.of(body.mask) > 0.5
    out: F32 = np.maximum(keep, arm_mask)
    return out


def _match_light(colour: F32, base: F32, body: Body, roi: Roi) -> F32:
    """Carry the photo's folds (local luminance ratio) and colour cast onto the garment."""
    lum = luminance(base)
    sigma = max(2.0, 0.03 * max(roi.shape))
    ratio = lum / np.maximum(gaussian(lum, sigma), 1e-3)
    shade = np.clip(ratio, 0.85, 1.12) ** 0.6
    if body.mask is not None:
        inside = roi.of(body.mask).astype(np.float32)
        shade = 1.0 + (shade - 1.0) * inside
    cast = base.reshape(-1, 3).mean(axis=0)
    cast = (cast / max(float(cast.mean()), 1e-3)) ** 0.25
    exposure = float(np.clip((float(lum.mean()) / 0.45) ** 0.3, 0.75, 1.1))
    out: F32 = np.clip(
        colour * shade[:, :, None] * cast[None, None, :] * exposure, 0.0, 1.0
    ).astype(np.float32)
    return out
