"""Hats in 3D: the merchant's ``.glb`` or a hat revolved from its packshot's profile, seated
on the head.

Seating (head frame): the hat's axis runs through the head's vertical axis, its band (the
crown's opening) is level with the head, ``HAT_BRIM_Y_MM`` above the pupils, and its front
rests on the forehead (the face mesh's forehead points say how far forward that is). Its
size comes from the crown: the opening spans an average head at the band (150 mm, scaled by
the pupil distance) or, with the hair found, the head and hair along the band (a hat sits
on the hair, which does not bulge out beside it). It turns with the head in full 3D (yaw,
pitch, roll). ``scene.draw_mesh`` does the rest: the head hides the back of the brim, the
hair stays in front of the parts behind the head's axis (hair at the sides over the far
brim), shading and the photo's colour balance, grain, blur and black-and-white, and the
brim's soft shadow on the forehead. There is no outline: the model's own edges are
anti-aliased against the photo.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.assets.glb import hat_from_glb
from ml_service.assets.model import PreparedAsset
from ml_service.assets.model3d import revolved_hat
from ml_service.render.composite import polygon_mask, roi_around
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import DEFAULT_IPD_MM, F64, face_oval, head_frame
from ml_service.render.hair import Hair
from ml_service.render.headmodel import fitted_head, landmarks_in_head
from ml_service.render.mesh import Mesh
from ml_service.render.options import RenderOptions, rounded
from ml_service.render.scene import Shadow, draw_mesh
from ml_service.types import Face

HAT_BRIM_Y_MM = -32.0  # the brim sits this far above the pupils (mid forehead)
HAT_HEAD_WIDTH_MM = 150.0  # around the band, for an average head (scaled by pupil distance)
MAX_HAT_GROWTH = 1.3  # a hat may be drawn this much wider than an average head for the hair
FOREHEAD = [10, 151, 9, 108, 337]  # face-mesh points on the forehead
FOREHEAD_GAP_MM = 2.0
SHADOW = Shadow(sigma_mm=2.5, offset_mm=(0.0, 4.0), strength=0.45)


class HatRenderer:
    """Draws one hat asset on faces; keeps its 3D model between calls."""

    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "hat":
            raise CannotRender(f"not a hat asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        a = asset.anchors
        crown_px = float(a["crown_right"][0] - a["crown_left"][0])
        if crown_px <= 1:
            raise CannotRender("the hat anchors give no crown width", reason="bad-asset")
        if asset.model:
            self.model = hat_from_glb(asset.model)
            # The opening: the crown's width just above the lowest tenth (the brim).
            self.opening_mm = _opening_width(self.model)
        else:
            self.model = revolved_hat(asset, mm_per_px=1.0)
            self.opening_mm = crown_px
        self.brim = _brim_points(self.model)

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
        photo: NDArray[np.uint8] | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (in place); returns this face's geometry."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        k = frame.ipd_mm / DEFAULT_IPD_MM
        head = fitted_head(face, frame)
        y = HAT_BRIM_Y_MM * k
        half_mm = 0.5 * HAT_HEAD_WIDTH_MM * k
        centre_z = float(head.centre[2])
        # How wide the head and hair are along the band, in the image.
        centre_px, side_px = frame.project(np.array([[0.0, y, centre_z], [half_mm, y, centre_z]]))
        across = side_px - centre_px
        half_px = float(np.linalg.norm(across))
        if hair is not None and half_px > 1.0:
            grown = _cover_hair(hair, face, centre_px, across / half_px, half_px)
            half_mm *= grown / half_px
            half_px = grown
        scale = 2.0 * half_mm / max(self.opening_mm, 1e-6)
        # Rest the band's front on the forehead.
        front_z = centre_z - half_mm
        lm = np.asarray(face.landmarks, np.float64)
        if lm.shape[1] >= 3 and np.isfinite(lm[FOREHEAD]).all():
            forehead = landmarks_in_head(face, frame, FOREHEAD)
            front_z = min(front_z, float(forehead[:, 2].min()) - FOREHEAD_GAP_MM)
        # Heads are longer than wide: the crown's opening is an oval of the head's shape.
        depth_k = float(head.axes[2] / head.axes[0])
        axis_z = front_z + half_mm * depth_k
        stretch = np.array([scale, scale, scale * depth_k], np.float32)
        shift = np.array([0.0, y, axis_z], np.float32)
        mesh = replace(self.model, vertices=(self.model.vertices * stretch + shift))
        brim = frame.project(self.brim * scale + [0.0, y, axis_z])
        drawn = draw_mesh(
            image,
            mesh,
            face,
            frame,
            hair=hair if options.occlusion else None,
            hair_depth_mm=axis_z,
            occluder_below=y - 1.0,
            shadow=SHADOW if options.shadow else None,
            match_photo=options.match_colour,
            photo=photo,
        )
        return {
            "brim_line": rounded(brim),
            "band_centre": rounded(frame.project(np.array([[0.0, y, front_z]])))[0],
            "head_width_px": round(2 * half_px, 1),
            "scale": round(scale, 4),
            "model": "glb" if self.asset.model else "revolved",
            "head_pose": {
                "yaw": round(float(face.head_pose.yaw), 1),
                "pitch": round(float(face.head_pose.pitch), 1),
                "roll": round(float(face.head_pose.roll), 1),
            },
            "drawn": drawn.drawn,
        }


def _opening_width(mesh: Mesh) -> float:
    """A .glb hat's crown width at the band: its width at 15 % of its height above the
    lowest point (above a flat brim)."""
    v = mesh.vertices
    top, bottom = float(v[:, 1].min()), float(v[:, 1].max())
    level = bottom - 0.15 * (bottom - top)
    near = v[np.abs(v[:, 1] - level) < 0.05 * (bottom - top) + 1.0]
    if len(near) < 3:
        return float(np.ptp(v[:, 0]))
    return float(np.ptp(near[:, 0]))


def _brim_points(mesh: Mesh) -> F64:
    """The brim's ends seen from the front (its widest points), product frame."""
    v = mesh.vertices.astype(np.float64)
    return np.array([v[np.argmin(v[:, 0])], v[np.argmax(v[:, 0])]])


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
