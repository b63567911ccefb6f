"""Earrings: front-view packshots placed as upright "billboards" (hats are 3D:
:mod:`ml_service.render.hats`; necklaces are in :mod:`ml_service.render.necklace`).

These are round or hanging things, so unlike a frame front they should not foreshorten when
the head turns: each is scaled and turned by a similarity transform whose anchor comes from
the head frame, and hidden where the face, head or hair is in front of it. Earrings hang with
gravity: they stay vertical in the image (and swing in video).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.composite import (
    F32,
    PyramidCache,
    Roi,
    over,
    polygon_mask,
    roi_around,
    soft_shadow,
    to_float,
    to_u8,
    warp_affine_into,
)
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    DEFAULT_IPD_MM,
    F64,
    face_oval,
    head_frame,
    head_shape,
)
from ml_service.render.hair import Hair
from ml_service.render.options import RenderOptions, rounded
from ml_service.render.skin import SkinModel, skin_model
from ml_service.types import Face

EARLOBE_MM = (38.0, 72.0)  # below the pupils, behind the cornea
MIN_VISIBILITY = 0.5


def _similarity(src: tuple[F64, F64], dst: tuple[F64, F64]) -> NDArray[np.float64]:
    """2 x 3 matrix taking segment ``src`` onto ``dst`` (rotation, uniform scale, shift)."""
    (a, b), (c, d) = src, dst
    v, u = b - a, d - c
    scale = float(np.linalg.norm(u)) / max(float(np.linalg.norm(v)), 1e-9)
    angle = float(np.arctan2(u[1], u[0]) - np.arctan2(v[1], v[0]))
    cs, sn = scale * np.cos(angle), scale * np.sin(angle)
    rot = np.array([[cs, -sn], [sn, cs]])
    t = c - rot @ a
    return np.hstack([rot, t[:, None]])


def _paste(
    image: NDArray[np.uint8],
    pyramid: PyramidCache,
    matrix: NDArray[np.float64],
    *,
    hide: F64 | None = None,
    behind: Callable[[Roi], F32] | None = None,
    shadow: tuple[float, float, float] | None = None,
    shadow_mask: F64 | None = None,
    shadow_where: Callable[[Roi], F32] | None = None,
    asset_size: tuple[int, int],
    wire: tuple[F64, F64, float, NDArray[np.float32]] | None = None,
) -> bool:
    """Warp an asset into ``image`` with ``matrix`` (asset px -> image px). ``hide`` is a
    polygon (image px) in front of the asset, ``behind`` gives a 0..1 mask of what is in front
    of it in a region (hair); ``shadow`` is (sigma px, offset px, strength) cast inside the
    ``shadow_mask`` polygon (and where ``shadow_where`` says); ``wire`` is a metal line
    (from, to, width px, BGR colour) drawn with the asset (an earring's hook). Returns
    whether anything was drawn."""
    h, w = image.shape[:2]
    aw, ah = asset_size
    corners = np.array([[0, 0], [aw, 0], [aw, ah], [0, ah]], np.float64)
    dst = corners @ matrix[:, :2].T + matrix[:, 2]
    if wire is not None:
        dst = np.vstack([dst, wire[0][None], wire[1][None]])
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    pad = 4 + (int(3 * shadow[0] + shadow[1]) if shadow else 0)
    roi = roi_around(dst, (w, h), pad=pad)
    if roi.empty:
        return False
    layer, to_level = pyramid.for_scale(scale)
    full = np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_level)
    warped = to_float(warp_affine_into(layer, full[:2], roi))
    if wire is not None:
        _draw_wire(warped, roi, wire)
    alpha = warped[:, :, 3]
    if hide is not None:
        alpha = alpha * (1.0 - polygon_mask(hide, roi, feather=1.0))
    if behind is not None:
        alpha = alpha * (1.0 - behind(roi))
    if float(alpha.max(initial=0.0)) < 0.02:
        return False
    base = to_float(roi.of(image))
    if shadow is not None:
        sigma, offset, strength = shadow
        density = soft_shadow(alpha, sigma=sigma, offset=(0.3 * offset, offset))
        where: F32 | float = (
            polygon_mask(shadow_mask, roi, feather=2.0) if shadow_mask is not None else 1.0
        )
        if shadow_where is not None:
            where = where * shadow_where(roi)
        base = base * (1.0 - strength * density * where)[:, :, None]
    roi.of(image)[:] = to_u8(over(base, warped[:, :, :3], alpha))
    return True


def _draw_wire(layer: F32, roi: Roi, wire: tuple[F64, F64, float, NDArray[np.float32]]) -> None:
    """A metal wire (anti-aliased, with a highlight down its middle) onto a BGRA float layer
    (0..1), under what the layer already holds."""
    start, end, width, colour = wire
    h, w = roi.shape
    cover = np.zeros((h, w), np.uint8)
    shine = np.zeros((h, w), np.uint8)
    a = np.round((start - [roi.x0, roi.y0]) * 16).astype(int)
    b = np.round((end - [roi.x0, roi.y0]) * 16).astype(int)
    # A slight curve: the wire bows outwards between the piercing and the drop.
    mid = (a + b) // 2 + np.array([int(0.25 * abs(b[1] - a[1])) * (1 if b[0] >= a[0] else -1), 0])
    points = np.array([a, mid, b], np.int32)
    thick = max(1, round(width))
    cv2.polylines(cover, [points], False, 255, thick, cv2.LINE_AA, shift=4)
    cv2.polylines(shine, [points], False, 255, 1, cv2.LINE_AA, shift=4)
    wa = cover.astype(np.float32) / 255.0
    lit = colour / 255.0 * (0.8 + 0.5 * shine.astype(np.float32)[:, :, None] / 255.0)
    under = 1.0 - layer[:, :, 3:4]
    layer[:, :, :3] = layer[:, :, :3] + np.clip(lit, 0, 1) * (wa[:, :, None] * under)
    layer[:, :, 3] = layer[:, :, 3] + wa * under[:, :, 0]


WIRE_DROP_MM = 4.0  # the ear wire's visible front, from the piercing down to the drop
WIRE_MM = 0.9  # its thickness (drawn at least 1.3 px wide, or it vanishes)
SWING_DAMPING = 2.5  # 1/s: a drop earring's swing dies down in about a second
MAX_SWING_DEG = 35.0


@dataclass
class Pendulum:
    """One earring's swing in a video: the angle from the vertical (radians, + towards the
    image right at the bottom) and its rate, driven by the piercing's acceleration (a head
    that rolls or moves sideways sets it swinging; gravity and damping bring it back)."""

    angle: float = 0.0
    rate: float = 0.0
    last: tuple[float, F64, F64] | None = None  # (time, position, velocity) of the pivot

    def step(self, t: float, pivot: F64, length_px: float, px_per_m: float) -> float:
        """Advance to time ``t`` with the pivot at ``pivot`` (pixels); returns the angle."""
        if self.last is None or not 0.0 < t - self.last[0] < 0.5:
            self.angle, self.rate, self.last = 0.0, 0.0, (t, pivot, np.zeros(2))
            return 0.0
        t0, p0, v0 = self.last
        dt = t - t0
        velocity = (pivot - p0) / dt
        accel = (velocity - v0) / dt
        self.last = (t, pivot, velocity)
        g = 9.81 * px_per_m
        length = max(length_px, 1.0)
        # A pendulum on an accelerating pivot; sub-steps keep it stable at low frame rates.
        steps = max(1, int(np.ceil(dt / 0.005)))
        h = dt / steps
        for _ in range(steps):
            # In the pivot's frame gravity is (-a_x, g - a_y); the bob at L (sin, cos).
            torque = -(accel[0] * np.cos(self.angle) + (g - accel[1]) * np.sin(self.angle))
            torque /= length
            self.rate += (torque - SWING_DAMPING * self.rate) * h
            self.angle += self.rate * h
        limit = np.radians(MAX_SWING_DEG)
        self.angle = float(np.clip(self.angle, -limit, limit))
        return self.angle


class EarringRenderer:
    """Drop earrings hung at the earlobes: hidden by the head (the ear turned away), by the
    face outline (the far ear) and by hair; the ear wire drawn so that it shows; the drop
    hanging with gravity (and swinging in a video); a small shadow on the neck's skin."""

    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "earrings":
            raise CannotRender(f"not an earrings asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self._pyramids = (
            PyramidCache(asset.image),
            PyramidCache(np.ascontiguousarray(asset.image[:, ::-1])),
        )
        self.drop_mm = float(asset.width_mm or 30.0)
        image = asset.image
        hook = np.asarray(asset.anchors["hook"], np.float64)
        solid = image[:, :, 3] > 127
        # The wire's colour: the packshot's metal around the hook.
        r = max(3, int(0.05 * image.shape[1]))
        y0, x0 = max(0, int(hook[1]) - r), max(0, int(hook[0]) - r)
        near = image[y0 : int(hook[1]) + r, x0 : int(hook[0]) + r]
        metal = near[:, :, :3][solid[y0 : int(hook[1]) + r, x0 : int(hook[0]) + r]]
        self._metal = (
            np.median(metal, axis=0).astype(np.float32)
            if len(metal)
            else np.array([60, 170, 215], np.float32)
        )
        self._swings = (Pendulum(), Pendulum())

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
        timestamp_s: float | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (in place). With ``hair``, hair falling over the ears hides
        the earrings; with ``timestamp_s`` (video frames), the drops swing."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        k = frame.ipd_mm / DEFAULT_IPD_MM
        head = head_shape(frame.ipd_mm)
        aw, ah = self.asset.size
        hook = np.asarray(self.asset.anchors["hook"], np.float64)
        hooks, visible, angles = [], [], []
        ly, lz = EARLOBE_MM[0] * k, EARLOBE_MM[1] * k
        skin = skin_model(image, face) if options.shadow or hair is not None else None
        if hair is not None:
            hair = Hair(photo=hair.photo, person=hair.person, skin=skin)
        for index, side in enumerate((-1.0, 1.0)):
            x = side * (float(head.half_width(np.array([ly]), np.array([lz]))[0]) + 5.0 * k)
            lobe = np.array([[x, ly, lz]])
            seen = bool(frame.visible(lobe, head)[0]) if options.occlusion else True
            pt = frame.project(lobe)[0]
            hooks.append(pt)
            visible.append(seen)
            if not seen:
                angles.append(0.0)
                continue
            depth = float(frame.to_camera(lobe)[0, 2])
            px_per_mm = float(frame.origin[2]) / depth / frame.mm_per_px
            length_px = self.drop_mm * px_per_mm
            # The wire's visible front: from the piercing down (and a little out) to the drop.
            attach = pt + np.array([0.4 * side, 1.0]) * WIRE_DROP_MM * px_per_mm
            angle = 0.0
            if timestamp_s is not None:
                angle = self._swings[index].step(timestamp_s, attach, length_px, px_per_mm * 1e3)
            angles.append(round(float(np.degrees(angle)), 1))
            scale = length_px / max(ah - hook[1], 1.0)
            mirrored = side > 0
            src_hook = np.array([aw - 1 - hook[0], hook[1]]) if mirrored else hook
            c, sn = np.cos(angle), np.sin(angle)
            rot = scale * np.array([[c, -sn], [sn, c]])
            matrix = np.hstack([rot, (attach - rot @ src_hook)[:, None]])
            # The ear on the side turned away is partly behind the jaw: the face hides it.
            turned_away = side * float(face.head_pose.yaw) > 8.0
            hide = face_oval(face) if (options.occlusion and turned_away) else None
            behind = (lambda roi: hair.in_roi(face, roi)) if hair is not None else None
            _paste(
                image,
                self._pyramids[1 if mirrored else 0],
                matrix,
                hide=hide,
                behind=behind,
                shadow=(1.2 * px_per_mm, 2.0 * px_per_mm, 0.3) if options.shadow else None,
                shadow_where=(lambda roi: _skin_in(image, skin, roi)) if skin is not None else None,
                asset_size=self.asset.size,
                wire=(pt, attach, max(1.3, WIRE_MM * px_per_mm), self._metal),
            )
        return {
            "hooks": rounded(np.array(hooks)),
            "visible": visible,
            "swing_deg": angles,
            "head_pose": _pose(face),
        }


def _skin_in(image: NDArray[np.uint8], skin: SkinModel, roi: Roi) -> F32:
    """Where a shadow may fall: the wearer's skin (the neck, the jaw), not hair or air."""
    return skin.likely(np.ascontiguousarray(roi.of(image))).astype(np.float32)


def _pose(face: Face) -> dict[str, float]:
    p = face.head_pose
    return {
        "yaw": round(float(p.yaw), 1),
        "pitch": round(float(p.pitch), 1),
        "roll": round(float(p.roll), 1),
    }
