"""Eyewear: the frame front placed in 3D at the eye plane, at real size, turned with the head.

The packshot is a front view, so the front is a plane in the head frame (see ``geometry``),
12 mm in front of the pupils (the usual vertex distance), its lens centres at pupil height. A
homography maps it into the photo, so yaw, pitch and roll come out as a true perspective warp.
Temple arms are not in a front packshot: they are drawn as 3D polylines from the hinges along
the side of the head to the ears, and every sample is tested against a head ellipsoid so the
arm across the head disappears when the head turns. Lenses multiply the photo by their
transmission colour (clear lenses barely change it, sunglasses darken and tint it) and carry a
faint fixed reflection. A soft contact shadow darkens the skin under the frame.
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
    luminance,
    over,
    polygon_mask,
    roi_around,
    soft_shadow,
    to_float,
    to_u8,
    warp_into,
)
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    DEFAULT_IPD_MM,
    F64,
    TEMPLE_LEFT,
    TEMPLE_RIGHT,
    HeadFrame,
    face_oval,
    head_frame,
    head_shape,
)
from ml_service.render.hair import Hair
from ml_service.render.options import RenderOptions, rounded
from ml_service.types import Face

VERTEX_DISTANCE_MM = 12.0  # lens plane in front of the cornea
TEMPLE_LENGTH_MM = 95.0  # hinge to the top of the ear, before the bend
TEMPLE_THICKNESS_MM = 3.2
HAIR_FREE_MM = 3.0  # the hinge's barrel, in front of the hair; the arm behind goes into it
DEFAULT_TEMPLE_SLOPE = 0.1  # arms drop a little towards the ears
MAX_TEMPLE_SLOPE = 0.45  # about 24 degrees either way
SHADOW_STRENGTH = 0.38
REFLECTION_CLEAR, REFLECTION_TINTED = 0.10, 0.16


class EyewearRenderer:
    """Draws one eyewear asset on faces; keeps reduced copies of the asset between calls."""

    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "eyewear":
            raise CannotRender(f"not an eyewear asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        a = asset.anchors
        width_px = a["frame_right"][0] - a["frame_left"][0]
        if width_px <= 1:
            raise CannotRender("the eyewear anchors give no frame width", reason="bad-asset")
        self.mm_per_asset_px = float(asset.width_mm or 138.0) / width_px
        self.centre = (np.asarray(a["lens_left"]) + np.asarray(a["lens_right"])) / 2
        h, w = asset.image.shape[:2]
        lens = np.zeros((h, w), np.uint8)
        for poly in asset.lenses:
            pts = np.round(np.asarray(poly) * 16).astype(np.int32).reshape(-1, 1, 2)
            cv2.fillPoly(lens, [pts], 255, cv2.LINE_AA, shift=4)
        aux = np.dstack([lens, _reflection(lens, asset.lenses)])
        self._front = PyramidCache(asset.image)
        self._aux = PyramidCache(aux)
        self.corners = np.array(
            [[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]]
        )
        self.colour = np.asarray(asset.colour, np.float32) / 255.0

    def to_head(self, points_px: F64) -> F64:
        """Asset pixels -> head-frame millimetres on the lens plane."""
        p = (np.asarray(points_px, np.float64) - self.centre) * self.mm_per_asset_px
        return np.column_stack([p, np.full(len(p), -VERTEX_DISTANCE_MM)])

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (BGR, modified in place); returns this face's geometry. With
        ``hair``, the temple arms go behind it past the hinges."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        a = self.asset.anchors
        dst = frame.project(self.to_head(self.corners))
        named = frame.project(
            self.to_head(
                np.array(
                    [
                        a["lens_left"],
                        a["lens_right"],
                        a["frame_left"],
                        a["frame_right"],
                        a["bridge"],
                    ]
                )
            )
        )
        hinges = self.to_head(np.array([a["frame_left"], a["frame_right"]]))
        arms = (
            temple_arms(frame, hinges, temple_slopes(face, frame, hinges))
            if options.temples
            else []
        )
        pad = int(4 + 2.5 * frame.px_per_mm)
        extent = np.vstack([dst] + [arm[0] for arm in arms])
        roi = roi_around(extent, (w, h), pad=pad)
        geometry: dict[str, Any] = {
            "lens_centres": rounded(named[:2]),
            "bridge": rounded(named[4:5])[0],
            "frame_width_px": round(float(np.linalg.norm(named[3] - named[2])), 1),
            "frame_width_mm": round(float(self.asset.width_mm or 0.0), 1),
            "mm_per_px": round(frame.mm_per_px, 4),
            "ipd_mm": round(frame.ipd_mm, 1),
            "head_pose": {
                "yaw": round(float(face.head_pose.yaw), 1),
                "pitch": round(float(face.head_pose.pitch), 1),
                "roll": round(float(face.head_pose.roll), 1),
            },
            "temples_visible": [round(float(vis.mean()), 2) for _, vis, _ in arms],
        }
        if roi.empty or not np.isfinite(dst).all():
            geometry["drawn"] = False
            return geometry
        homography = cv2.getPerspectiveTransform(
            self.corners.astype(np.float32), dst.astype(np.float32)
        )
        scale = self.mm_per_asset_px * frame.px_per_mm
        front, to_level = self._front.for_scale(scale)
        aux, to_level_aux = self._aux.for_scale(scale)
        layer = to_float(warp_into(front, homography @ np.linalg.inv(to_level), roi))
        extra = to_float(warp_into(aux, homography @ np.linalg.inv(to_level_aux), roi))
        base = to_float(roi.of(image))
        alpha = layer[:, :, 3]
        lens = extra[:, :, 0] * alpha
        frame_a = np.clip(alpha - lens, 0.0, 1.0)
        transmission = layer[:, :, :3]
        face_mask = polygon_mask(face_oval(face), roi, feather=1.5 * frame.px_per_mm)
        gain = _light_gain(base, face_mask)
        if options.shadow:
            absorb = 1.0 - luminance(transmission)
            density = soft_shadow(
                np.clip(frame_a + 0.6 * lens * absorb, 0, 1),
                sigma=1.3 * frame.px_per_mm,
                offset=(0.0, 2.0 * frame.px_per_mm),
            )
            base = base * (1.0 - SHADOW_STRENGTH * density * face_mask)[:, :, None]
        if arms:
            in_front = hair.in_roi(face, roi) if hair is not None else None
            base = _draw_arms(base, roi, arms, self.colour * gain, frame, hair=in_front)
        base = (base * (1.0 - lens[:, :, None] * (1.0 - transmission))).astype(
            np.float32, copy=False
        )
        if options.reflections:
            k = REFLECTION_TINTED if self.asset.tinted else REFLECTION_CLEAR
            base = base + (k * lens * extra[:, :, 1])[:, :, None] * (1.0 - base)
        base = over(base, transmission * gain, frame_a)
        roi.of(image)[:] = to_u8(base)
        geometry["drawn"] = True
        return geometry


def _reflection(
    lens: NDArray[np.uint8], polygons: list[list[tuple[float, float]]]
) -> NDArray[np.uint8]:
    """A soft diagonal highlight band across each lens (fixed to the frame, like a window's
    reflection), stronger near the top."""
    h, w = lens.shape
    out = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for poly in polygons:
        p = np.asarray(poly)
        x0, y0 = p.min(axis=0)
        x1, y1 = p.max(axis=0)
        u = ((xx - x0) / max(x1 - x0, 1) + (yy - y0) / max(y1 - y0, 1)) / 2
        band = np.exp(-(((u - 0.32) / 0.07) ** 2)) + 0.5 * np.exp(-(((u - 0.47) / 0.03) ** 2))
        top = np.clip(1.2 - (yy - y0) / max(y1 - y0, 1), 0, 1)
        out = np.maximum(out, band * top)
    return np.round(np.clip(out, 0, 1) * (lens.astype(np.float32) / 255.0) * 255).astype(np.uint8)


def _light_gain(base: F32, mask: F32) -> float:
    """Dim photos dim the frame too: a gentle gain from the skin's brightness around the eyes."""
    weight = float(mask.sum())
    if weight < 16:
        return 1.0
    mean = float((luminance(base) * mask).sum() / weight)
    return float(np.clip((mean / 0.5) ** 0.5, 0.55, 1.1))


def temple_slopes(face: Face, frame: HeadFrame, hinges_mm: F64) -> tuple[float, float]:
    """How much each temple arm rises (negative) or drops per millimetre going back, in the
    head frame, so that it passes the face's temple landmark where the photo shows it.

    The arms run far behind the eyes, so a pitch error of a few degrees swings them up or
    down visibly, and ears sit higher or lower on different heads. The face mesh's temple
    points (127, 356) carry their own depth: put back into 3D at that depth and into the
    head frame, they say where the arm must pass, and the slope absorbs both.
    ``hinges_mm``: head-frame hinges, image-left first; the slopes come in the same order."""
    lm = np.asarray(face.landmarks, np.float64)
    if lm.shape[1] < 3 or not np.isfinite(lm[[TEMPLE_RIGHT, TEMPLE_LEFT, 33, 263]]).all():
        return (DEFAULT_TEMPLE_SLOPE, DEFAULT_TEMPLE_SLOPE)
    k = frame.camera
    eye_z = float(lm[[33, 263], 2].mean())
    slopes = []
    # The subject's right temple is image-left.
    for index, hinge in zip((TEMPLE_RIGHT, TEMPLE_LEFT), hinges_mm, strict=True):
        depth = float(frame.origin[2]) + (float(lm[index, 2]) - eye_z) * frame.mm_per_px
        camera_pt = np.array(
            [
                (lm[index, 0] - k[0, 2]) * depth / k[0, 0],
                (lm[index, 1] - k[1, 2]) * depth / k[1, 1],
                depth,
            ]
        )
        head_pt = frame.rotation.T @ (camera_pt - frame.origin)
        run = float(head_pt[2] - hinge[2])
        if run < 10.0:
            slopes.append(DEFAULT_TEMPLE_SLOPE)
            continue
        slope = float(head_pt[1] - hinge[1]) / run
        slopes.append(float(np.clip(slope, -MAX_TEMPLE_SLOPE, MAX_TEMPLE_SLOPE)))
    return (slopes[0], slopes[1])


def temple_arms(
    frame: HeadFrame, hinges_mm: F64, slopes: tuple[float, float]
) -> list[tuple[F64, NDArray[np.bool_], F64]]:
    """Per arm: projected samples, their visibility, and their depths (mm). An arm runs
    back from its hinge at the given slope, along the side of the head 4 mm off the skin."""
    head = head_shape(frame.ipd_mm)
    k = frame.ipd_mm / DEFAULT_IPD_MM
    arms = []
    for hinge, slope in zip(hinges_mm, slopes, strict=True):
        side = 1.0 if hinge[0] > 0 else -1.0
        z = hinge[2] + np.linspace(0, TEMPLE_LENGTH_MM * k, 24)
        y = hinge[1] + (z - hinge[2]) * slope
        x = side * np.maximum(abs(hinge[0]), head.half_width(y, z) + 4.0 * k)
        pts = np.column_stack([x, y, z])
        arms.append((frame.project(pts), frame.visible(pts, head), frame.to_camera(pts)[:, 2]))
    return arms


def _draw_arms(
    base: F32,
    roi: Roi,
    arms: list[tuple[F64, NDArray[np.bool_], F64]],
    colour: NDArray[np.float32],
    frame: HeadFrame,
    *,
    hair: F32 | None,
) -> F32:
    """Draw the arms (one stroke per visible stretch: a line per sample cost more than the
    rest of the render); past the first millimetres behind the hinge,
    ``hair`` (0..1 in the ROI) is in front of them. Farther along, an arm is a little
    darker (farther from the light)."""
    h, w = roi.shape
    z0 = float(frame.origin[2])
    for uv, visible, depth in arms:
        if not visible.any():
            continue
        n = len(uv)
        spacing = TEMPLE_LENGTH_MM * frame.ipd_mm / DEFAULT_IPD_MM / max(n - 1, 1)  # mm
        split = min(n - 1, int(np.ceil(HAIR_FREE_MM / spacing)))
        half = 0.5 * np.maximum(TEMPLE_THICKNESS_MM * frame.px_per_mm * z0 / depth, 1.0)
        # Work in the arm's own box within the ROI (an arm is a small part of it).
        local = roi_around(uv - [roi.x0, roi.y0], (w, h), pad=int(2 * half.max()) + 2)
        if local.empty:
            continue
        points = uv - [roi.x0 + local.x0, roi.y0 + local.y0]
        near = np.zeros(local.shape, np.uint8)
        far = np.zeros(local.shape, np.uint8)
        for start, stop in _runs(visible):
            for canvas, lo, hi in ((near, start, min(stop, split)), (far, max(start, split), stop)):
                if hi - lo >= 1:
                    _ribbon(canvas, points[lo : hi + 1], half[lo : hi + 1])
        alpha = near.astype(np.float32) * np.float32(1.0 / 255.0)
        far_alpha = far.astype(np.float32) * np.float32(1.0 / 255.0)
        if hair is not None:
            far_alpha *= 1.0 - local.of(hair)
        alpha = np.maximum(alpha, far_alpha)
        tone = _arm_tone(points, local.shape)[:, :, None]
        local.of(base)[:] = over(local.of(base), colour[None, None, :] * tone, alpha)
    return base


def _runs(visible: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last) sample indices of each stretch of consecutive visible samples."""
    runs, start = [], None
    for i, seen in enumerate(visible):
        if seen and start is None:
            start = i
        elif not seen and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(visible) - 1))
    return runs


def _ribbon(canvas: NDArray[np.uint8], points: F64, half: F64) -> None:
    """Draw a polyline ``2 * half`` thick (its mean: an arm tapers little), anti-aliased.
    One call per stretch; OpenCV joins the segments round, so a foreshortened arm that
    doubles back on itself stays a clean stroke."""
    thick = max(1, round(2.0 * float(np.mean(half))))
    pts = np.round(points * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [pts], False, 255, thick, cv2.LINE_AA, shift=4)


def _arm_tone(points: F64, shape: tuple[int, int]) -> F32:
    """1 at the hinge fading to 0.65 at the arm's far end, along the arm's image direction."""
    d = points[-1] - points[0]
    length2 = float(d @ d)
    if length2 < 1.0:
        return np.ones(shape, np.float32)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((xs - points[0, 0]) * d[0] + (ys - points[0, 1]) * d[1]) / length2
    return np.asarray(1.0 - 0.35 * np.clip(t, 0.0, 1.0), np.float32)
