"""Earrings and necklaces: front-view packshots placed as upright "billboards" (hats are
3D now: ``hats``).

These are round or hanging things, so unlike a frame front they should not foreshorten when
the head turns: each is scaled and turned by a similarity transform whose anchor comes from
the head frame (hats, earrings) or the body (necklaces), and hidden where the face or head is
in front of it. Earrings and pendants hang with gravity: they stay vertical in the image.
"""

from __future__ import annotations

from collections.abc import Callable
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
    CHIN,
    DEFAULT_IPD_MM,
    F64,
    GLABELLA,
    JAW_EAR_LEFT,
    JAW_EAR_RIGHT,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    face_oval,
    head_frame,
    head_shape,
    landmark,
)
from ml_service.render.hair import Hair
from ml_service.render.options import RenderOptions, rounded
from ml_service.types import Body, Face

EARLOBE_MM = (38.0, 72.0)  # below the pupils, behind the cornea
MIN_VISIBILITY = 0.5
NECKLACE_DROP = 1.25


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


class NecklaceRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "necklace":
            raise CannotRender(f"not a necklace asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        self._pyramid = PyramidCache(asset.image)

    def draw(
        self, image: NDArray[np.uint8], face: Face | None, body: Body | None, options: RenderOptions
    ) -> dict[str, Any]:
        ends, source = neck_points(face, body)
        h, w = image.shape[:2]
        if not (0 <= ends[:, 0].mean() < w and 0 <= ends[:, 1].mean() < h):
            raise CannotRender("the neck is outside the photo", reason="neck-not-visible")
        a = self.asset.anchors
        cl, cr = np.asarray(a["clasp_left"], np.float64), np.asarray(a["clasp_right"], np.float64)
        ah = self.asset.size[1]
        spread = float(np.linalg.norm(ends[1] - ends[0]))
        across = (ends[1] - ends[0]) / max(spread, 1e-9)
        down = np.array([-across[1], across[0]])
        # Worn, a chain hangs deeper than it lies in a packshot: the lowest point goes about
        # 1.2 neck widths below the clasp ends (an 18 inch chain).
        drop = NECKLACE_DROP * spread
        bottom_src = np.array([(cl[0] + cr[0]) / 2, float(ah)])
        bottom_dst = (ends[0] + ends[1]) / 2 + down * drop
        matrix = np.asarray(
            cv2.getAffineTransform(
                np.array([cl, cr, bottom_src], np.float32),
                np.array([ends[0], ends[1], bottom_dst], np.float32),
            ),
            np.float64,
        )
        drawn = _paste(
            image,
            self._pyramid,
            matrix,
            hide=face_oval(face) if (face is not None and options.occlusion) else None,
            shadow=(0.02 * spread, 0.03 * spread, 0.3) if options.shadow else None,
            asset_size=self.asset.size,
        )
        return {"clasp_ends": rounded(ends), "from": source, "drawn": drawn}


def neck_points(face: Face | None, body: Body | None) -> tuple[F64, str]:
    """Where the chain's ends sit on the sides of the neck (image-left first), from the body's
    shoulders when they are visible, else from the face (chin and jaw)."""
    if body is not None:
        lm = np.asarray(body.landmarks, np.float64)
        vis = lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3]
        if (vis >= MIN_VISIBILITY).all():
            left, right = lm[SHOULDER_RIGHT, :2], lm[SHOULDER_LEFT, :2]  # image-left first
            span = float(np.linalg.norm(right - left))
            across = (right - left) / max(span, 1e-9)
            up = np.array([across[1], -across[0]])
            base = (left + right) / 2 + up * 0.2 * span
            if face is not None:
                # Not above the chin: a bowed head brings the face down, not the neck up.
                chin = landmark(face, CHIN)
                base = base if float((base - chin) @ up) < 0 else chin - up * 0.05 * span
            return np.array([base - across * 0.17 * span, base + across * 0.17 * span]), "body"
    if face is not None:
        chin, brow = landmark(face, CHIN), landmark(face, GLABELLA)
        down = (chin - brow) / max(float(np.linalg.norm(chin - brow)), 1e-9)
        jaw = float(np.linalg.norm(landmark(face, JAW_EAR_LEFT) - landmark(face, JAW_EAR_RIGHT)))
        across = np.array([-down[1], down[0]]) * (1 if down[1] >= 0 else -1)
        across = across if across[0] >= 0 else -across
        base = chin + down * 0.45 * jaw
        return np.array([base - across * 0.36 * jaw, base + across * 0.36 * jaw]), "face"
    raise CannotRender("no face or shoulders found for a necklace", reason="no-neck")


def _pose(face: Face) -> dict[str, float]:
    p = face.head_pose
    return {
        "yaw": round(float(p.yaw), 1),
        "pitch": round(float(p.pitch), 1),
        "roll": round(float(p.roll), 1),
    }
