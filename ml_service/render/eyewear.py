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
    F64,
    HeadFrame,
    face_oval,
    head_frame,
    head_shape,
)
from ml_service.render.options import RenderOptions, rounded
from ml_service.types import Face

VERTEX_DISTANCE_MM = 12.0  # lens plane in front of the cornea
TEMPLE_LENGTH_MM = 95.0  # hinge to the top of the ear, before the bend
TEMPLE_THICKNESS_MM = 3.2
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

    def draw(self, image: NDArray[np.uint8], face: Face, options: RenderOptions) -> dict[str, Any]:
        """Render on ``image`` (BGR, modified in place); returns this face's geometry."""
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
        arms = (
            _temple_arms(frame, self.to_head(np.array([a["frame_left"], a["frame_right"]])))
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
            base = _draw_arms(base, roi, arms, self.colour * gain, frame)
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


def _temple_arms(frame: HeadFrame, hinges_mm: F64) -> list[tuple[F64, NDArray[np.bool_], F64]]:
    """Per arm: projected samples, their visibility, and their depths (mm). An arm runs
    straight back from its hinge, then along the side of the head 4 mm off the skin."""
    head = head_shape(frame.ipd_mm)
    k = frame.ipd_mm / 63.0
    arms = []
    for hinge in hinges_mm:
        side = 1.0 if hinge[0] > 0 else -1.0
        z = hinge[2] + np.linspace(0, TEMPLE_LENGTH_MM * k, 24)
        y = hinge[1] + (z - hinge[2]) * 0.1
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
) -> F32:
    h, w = roi.shape
    out = base
    z0 = float(frame.origin[2])
    for uv, visible, depth in arms:
        mask = np.zeros((h, w), np.uint8)
        shade = np.zeros((h, w), np.uint8)
        pts = np.round((uv - [roi.x0, roi.y0]) * 16).astype(np.int32)
        n = len(pts)
        for i in range(n - 1):
            if not (visible[i] and visible[i + 1]):
                continue
            thick = max(1, round(TEMPLE_THICKNESS_MM * frame.px_per_mm * z0 / depth[i]))
            p, q = (int(pts[i, 0]), int(pts[i, 1])), (int(pts[i + 1, 0]), int(pts[i + 1, 1]))
            cv2.line(mask, p, q, 255, thick, cv2.LINE_AA, shift=4)
            # Farther along the arm is farther from the light: a little darker.
            cv2.line(shade, p, q, int(255 * (1 - 0.35 * i / n)), thick, cv2.LINE_AA, shift=4)
        if not mask.any():
            continue
        alpha = mask.astype(np.float32) / 255.0
        tone = np.where(mask > 0, shade.astype(np.float32) / np.maximum(mask, 1), 1.0).astype(
            np.float32
        )
        out = over(out, colour[None, None, :] * tone[:, :, None], alpha)
    return out
