"""Hats and earrings: front-view packshots placed as upright "billboards" (necklaces are in
:mod:`ml_service.render.necklace`).

These are round or hanging things, so unlike a frame front they should not foreshorten when
the head turns: each is scaled and turned by a similarity transform whose anchor comes from
the head frame (hats, earrings) or the body (necklaces), and hidden where the face or head is
in front of it. Earrings and pendants hang with gravity: they stay vertical in the image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from ml_service.types import Face

HAT_BRIM_Y_MM = -32.0  # the brim line sits this far above the pupils (mid forehead)
HAT_BAND_Z_MM = 0.0  # on the forehead's plane: less sensitive to pitch errors
HAT_HEAD_WIDTH_MM = 150.0  # around the band, for an average head (scaled by pupil distance)
EARLOBE_MM = (38.0, 72.0)  # below the pupils, behind the cornea
MIN_VISIBILITY = 0.5
MAX_HAT_GROWTH = 1.3  # a hat may be drawn this much wider than an average head for the hair


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
    asset_size: tuple[int, int],
) -> bool:
    """Warp an asset into ``image`` with ``matrix`` (asset px -> image px). ``hide`` is a
    polygon (image px) in front of the asset, ``behind`` gives a 0..1 mask of what is in front
    of it in a region (hair); ``shadow`` is (sigma px, offset px, strength) cast inside the
    ``shadow_mask`` polygon. Returns whether anything was drawn."""
    h, w = image.shape[:2]
    aw, ah = asset_size
    corners = np.array([[0, 0], [aw, 0], [aw, ah], [0, ah]], np.float64)
    dst = corners @ matrix[:, :2].T + matrix[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    pad = 4 + (int(3 * shadow[0] + shadow[1]) if shadow else 0)
    roi = roi_around(dst, (w, h), pad=pad)
    if roi.empty:
        return False
    layer, to_level = pyramid.for_scale(scale)
    full = np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_level)
    warped = to_float(warp_affine_into(layer, full[:2], roi))
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
        where = polygon_mask(shadow_mask, roi, feather=2.0) if shadow_mask is not None else 1.0
        base = base * (1.0 - strength * density * where)[:, :, None]
    roi.of(image)[:] = to_u8(over(base, warped[:, :, :3], alpha))
    return True


class HatRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "hat":
            raise CannotRender(f"not a hat asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self._pyramid = PyramidCache(asset.image)

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (in place). With ``hair``, a hat too small for the hair at
        its band grows to cover it (a hat sits on the hair, which does not poke through)."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        k = frame.ipd_mm / DEFAULT_IPD_MM
        half = 0.5 * HAT_HEAD_WIDTH_MM * k
        y, z = HAT_BRIM_Y_MM * k, HAT_BAND_Z_MM * k
        # The band's ends as seen from the front: a round hat keeps its width when the head
        # turns, so the segment is built square to the camera, around the projected centre.
        centre, above = frame.project(np.array([[0.0, y, z], [0.0, y - 80.0 * k, z]]))
        up = (above - centre) / max(float(np.linalg.norm(above - centre)), 1e-9)
        across = np.array([-up[1], up[0]])
        depth = float(frame.to_camera(np.array([[0.0, y, z]]))[0, 2])
        half_px = half * frame.camera[0, 0] / depth
        if hair is not None:
            half_px = _cover_hair(hair, face, centre, across, half_px)
        band = (centre - across * half_px, centre + across * half_px)
        a = self.asset.anchors
        src = (np.asarray(a["crown_left"], np.float64), np.asarray(a["crown_right"], np.float64))
        matrix = _similarity(src, band)
        # The size comes from the crown (the head goes in there); the height from the brim.
        brim = np.array([a["brim_left"], a["brim_right"]]) @ matrix[:, :2].T + matrix[:, 2]
        shift = centre - brim.mean(axis=0)
        matrix[:, 2] += shift
        brim = brim + shift
        drawn = _paste(
            image,
            self._pyramid,
            matrix,
            shadow=(2.5 * frame.px_per_mm, 4.0 * frame.px_per_mm, 0.45) if options.shadow else None,
            shadow_mask=face_oval(face),
            asset_size=self.asset.size,
        )
        return {
            "brim_line": rounded(brim),
            "band_centre": rounded(centre[None])[0],
            "head_width_px": round(2 * half_px, 1),
            "head_pose": _pose(face),
            "drawn": drawn,
        }


def _cover_hair(hair: Hair, face: Face, centre: F64, across: F64, half_px: float) -> float:
    """The band's half width that covers the head and hair along the band line (up to
    ``MAX_HAT_GROWTH`` times the head's), measured on the hair mask."""
    reach = MAX_HAT_GROWTH * half_px
    ends = np.array([centre - across * reach, centre + across * reach])
    h, w = hair.person.shape
    roi = roi_around(ends, (w, h), pad=2)
    if roi.empty:
        return half_px
    covered = np.maximum(hair.in_roi(face, roi), polygon_mask(face_oval(face), roi)) > 0.5
    t = np.arange(-reach, reach + 1.0)
    points = centre[None] + t[:, None] * across[None] - [roi.x0, roi.y0]
    xs, ys = np.round(points[:, 0]).astype(int), np.round(points[:, 1]).astype(int)
    ok = (xs >= 0) & (xs < roi.shape[1]) & (ys >= 0) & (ys < roi.shape[0])
    on = np.zeros(len(t), bool)
    on[ok] = covered[ys[ok], xs[ok]]
    # The hairline between face and hair belongs to neither mask: close short gaps.
    gap = max(1, int(0.15 * half_px))
    kernel = np.ones(2 * gap + 1)
    on = np.convolve(on, kernel, "same") > 0
    on = np.convolve(~on, kernel, "same") == 0
    middle = len(t) // 2
    if not on[middle]:
        return half_px
    gaps = np.nonzero(~on)[0]
    left = middle - (gaps[gaps < middle].max() if (gaps < middle).any() else 0)
    right = (gaps[gaps > middle].min() if (gaps > middle).any() else len(t) - 1) - middle
    needed = 1.03 * 0.5 * float(left + right)
    return float(np.clip(needed, half_px, reach))


class EarringRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "earrings":
            raise CannotRender(f"not an earrings asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self._pyramids = (
            PyramidCache(asset.image),
            PyramidCache(np.ascontiguousarray(asset.image[:, ::-1])),
        )
        self.drop_mm = float(asset.width_mm or 30.0)

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (in place). With ``hair``, hair falling over the ears hides
        the earrings' tops."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        k = frame.ipd_mm / DEFAULT_IPD_MM
        head = head_shape(frame.ipd_mm)
        aw, ah = self.asset.size
        hook = np.asarray(self.asset.anchors["hook"], np.float64)
        hooks, visible = [], []
        ly, lz = EARLOBE_MM[0] * k, EARLOBE_MM[1] * k
        for side in (-1.0, 1.0):
            x = side * (float(head.half_width(np.array([ly]), np.array([lz]))[0]) + 5.0 * k)
            lobe = np.array([[x, ly, lz]])
            seen = bool(frame.visible(lobe, head)[0]) if options.occlusion else True
            pt = frame.project(lobe)[0]
            hooks.append(pt)
            visible.append(seen)
            if not seen:
                continue
            depth = float(frame.to_camera(lobe)[0, 2])
            length_px = self.drop_mm / frame.mm_per_px * float(frame.origin[2]) / depth
            scale = length_px / max(ah - hook[1], 1.0)
            mirrored = side > 0
            src_hook = np.array([aw - 1 - hook[0], hook[1]]) if mirrored else hook
            matrix = np.array(
                [[scale, 0, pt[0] - scale * src_hook[0]], [0, scale, pt[1] - scale * src_hook[1]]]
            )
            # The ear on the side turned away is partly behind the jaw: the face hides it.
            turned_away = side * float(face.head_pose.yaw) > 8.0
            _paste(
                image,
                self._pyramids[1 if mirrored else 0],
                matrix,
                hide=face_oval(face) if (options.occlusion and turned_away) else None,
                behind=(lambda roi: hair.in_roi(face, roi)) if hair is not None else None,
                shadow=(1.2 * frame.px_per_mm, 2.0 * frame.px_per_mm, 0.25)
                if options.shadow
                else None,
                asset_size=self.asset.size,
            )
        return {"hooks": rounded(np.array(hooks)), "visible": visible, "head_pose": _pose(face)}


def _pose(face: Face) -> dict[str, float]:
    p = face.head_pose
    return {
        "yaw": round(float(p.yaw), 1),
        "pitch": round(float(p.pitch), 1),
        "roll": round(float(p.roll), 1),
    }
