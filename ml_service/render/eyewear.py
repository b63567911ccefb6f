"""Eyewear in 3D: a frame model placed on the face at real size, rendered in perspective.

The model is the merchant's glTF (``.glb``) or, for a packshot-only product, one made from
the packshot (``ml_service.assets.model3d``: the front at the frame's real thickness with
rounded edges, lenses as separate surfaces). Temple arms are built per face: from the
hinges, back along the side of the head (fitted to the face mesh, ``headmodel``) at a slope
that passes the face mesh's temple landmarks, bending down behind the ear. The back of the
front sits 12 mm in front of the corneas (the usual vertex distance), or clear of the nose
where the face mesh says the nose is further forward, so the bridge and nose pads rest on
the nose. Everything is drawn by ``scene.draw_mesh``: per-pixel depth test against the head
(the far temple disappears, temples pass behind the ears), materials, anti-aliasing, the
photo's look and a soft contact shadow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.assets.glb import eyewear_from_glb
from ml_service.assets.model import PreparedAsset
from ml_service.assets.model3d import eyewear_front, is_metal, mm_per_pixel
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    DEFAULT_IPD_MM,
    F64,
    TEMPLE_LEFT,
    TEMPLE_RIGHT,
    HeadFrame,
    HeadShape,
    head_frame,
    head_shape,
)
from ml_service.render.hair import Hair
from ml_service.render.headmodel import fitted_head, landmarks_in_head
from ml_service.render.mesh import Material, Mesh, Part, merge, tube
from ml_service.render.options import RenderOptions, rounded
from ml_service.render.scene import Shadow, draw_mesh
from ml_service.types import Face

VERTEX_DISTANCE_MM = 12.0  # back of the front in front of the cornea
NOSE_CLEARANCE_MM = 1.0
NOSE_POINTS = [168, 6, 197]  # the bridge of the nose, between and below the eyes' inner corners
MAX_NOSE_SHIFT_MM = 8.0
COARSE_STEP_MM = 2.6  # outline sampling of the model for faces under FINE_PX_PER_MM
FINE_PX_PER_MM = 1.2
TEMPLE_LENGTH_MM = 95.0  # hinge to the top of the ear, before the bend
EARPIECE_MM = 30.0  # the bent end behind the ear
TEMPLE_SIZE_MM = {Material.ACETATE: (2.4, 4.2), Material.METAL: (1.3, 1.6)}  # across, up
HAIR_FREE_MM = 3.0  # the hinge's barrel, in front of the hair; the arm behind goes into it
DEFAULT_TEMPLE_SLOPE = 0.1  # arms drop a little towards the ears
MAX_TEMPLE_SLOPE = 0.45  # about 24 degrees either way
SHADOW = Shadow(sigma_mm=1.3, offset_mm=(0.0, 2.0), strength=0.38)


class EyewearRenderer:
    """Draws one eyewear asset on faces; keeps its 3D model between calls."""

    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "eyewear":
            raise CannotRender(f"not an eyewear asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        a = asset.anchors
        if a["frame_right"][0] - a["frame_left"][0] <= 1:
            raise CannotRender("the eyewear anchors give no frame width", reason="bad-asset")
        scale = mm_per_pixel(asset)
        centre = (np.asarray(a["lens_left"]) + np.asarray(a["lens_right"])) / 2
        self.named_mm = {
            k: (np.asarray(a[k], np.float64) - centre) * scale
            for k in ("lens_left", "lens_right", "frame_left", "frame_right", "bridge")
        }
        # Small faces get a coarse model made from the packshot (for a .glb, the packshot
        # rendered from it): its detail would be under a pixel, its triangles not free.
        self.coarse = eyewear_front(asset, step_mm=COARSE_STEP_MM)
        if asset.model:
            self.front = eyewear_from_glb(asset.model)
        else:
            self.front = eyewear_front(asset)
        self.material = Material.METAL if is_metal(asset) else Material.ACETATE
        lo, hi = self.coarse.bounds
        self.thickness = float(hi[2] - lo[2])
        # Temples are coloured by their vertices, with a white texel added to the model's
        # texture (so a frame's meshes share one texture).
        self.temple_colour = (*(c / 255.0 for c in asset.colour), 1.0)
        self.front, self.white_uv = _with_white_texel(self.front)
        self.coarse, _ = _with_white_texel(self.coarse)

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
        photo: NDArray[np.uint8] | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (BGR, modified in place); returns this face's geometry. With
        ``hair``, the temple arms go behind it past the hinges. ``photo``: the untouched
        photo (for its look), when ``image`` already carries other renders."""
        h, w = image.shape[:2]
        frame = head_frame(face, image_size=(w, h))
        back = self.back_of_front(face, frame)
        model = self.front if frame.px_per_mm >= FINE_PX_PER_MM else self.coarse
        has_temples = bool((model.part == Part.TEMPLE).any())
        if has_temples and not options.temples:
            model = model.without(Part.TEMPLE)
        front = model.moved((0.0, 0.0, back))
        k = frame.ipd_mm / DEFAULT_IPD_MM
        hinges = np.array(
            [
                [self.named_mm["frame_left"][0] * 0.97, self.named_mm["frame_left"][1], back],
                [self.named_mm["frame_right"][0] * 0.97, self.named_mm["frame_right"][1], back],
            ]
        )
        head = fitted_head(face, frame)
        parts = [front]
        paths = []
        if options.temples and not has_temples:
            slopes = temple_slopes(face, frame, hinges)
            paths = [
                _temple_path(hinge, slope, head, k)
                for hinge, slope in zip(hinges, slopes, strict=True)
            ]
            across, up = TEMPLE_SIZE_MM[self.material]
            for path in paths:
                arm = tube(
                    path,
                    width=across,
                    height=up,
                    material=self.material,
                    part=Part.TEMPLE,
                    uv=self.white_uv,
                    texture=front.texture,
                )
                parts.append(
                    replace(
                        arm,
                        colours=np.tile(
                            np.array(self.temple_colour, np.float32), (len(arm.vertices), 1)
                        ),
                    )
                )
        mesh = merge(parts, shared_texture=True)
        named = frame.project(
            np.array(
                [
                    [*self.named_mm[name], back - 0.5 * self.thickness]
                    for name in ("lens_left", "lens_right", "frame_left", "frame_right", "bridge")
                ]
            )
        )
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
            "model": "glb" if self.asset.model else "packshot",
            "temples_visible": [
                round(float(frame.visible(path, head).mean()), 2) for path in paths
            ],
        }
        drawn = draw_mesh(
            image,
            mesh,
            face,
            frame,
            tinted=self.asset.tinted,
            hair=hair if options.occlusion else None,
            hair_depth_mm=back + HAIR_FREE_MM,
            shadow=SHADOW if options.shadow else None,
            match_photo=options.match_colour,
            photo=photo,
            reflections=options.reflections,
        )
        geometry["drawn"] = drawn.drawn
        return geometry

    def to_head(self, points_px: F64) -> F64:
        """Asset pixels -> head-frame millimetres on the back of the front (for a face at
        the plain vertex distance)."""
        a = self.asset.anchors
        centre = (np.asarray(a["lens_left"]) + np.asarray(a["lens_right"])) / 2
        p = (np.asarray(points_px, np.float64) - centre) * mm_per_pixel(self.asset)
        return np.column_stack([p, np.full(len(p), -VERTEX_DISTANCE_MM)])

    def back_of_front(self, face: Face, frame: HeadFrame) -> float:
        """Head-frame z of the back of the front: the vertex distance, or in front of the
        nose at the bridge when the face mesh puts it further forward."""
        back = -VERTEX_DISTANCE_MM
        lm = np.asarray(face.landmarks, np.float64)
        if lm.shape[1] >= 3 and np.isfinite(lm[NOSE_POINTS]).all():
            # The bridge of the nose from a few points: one point's depth jitters in video.
            nose = float(landmarks_in_head(face, frame, NOSE_POINTS)[:, 2].mean())
            if np.isfinite(nose):
                back = min(back, max(nose - NOSE_CLEARANCE_MM, back - MAX_NOSE_SHIFT_MM))
        return back


def _with_white_texel(mesh: Mesh) -> tuple[Mesh, tuple[float, float]]:
    """The mesh with a white 4 x 4 block under its texture, and that block's centre."""
    h, w = mesh.texture.shape[:2]
    tex = np.zeros((h + 4, max(w, 4), 4), np.uint8)
    tex[:h, :w] = mesh.texture
    tex[h:, :4] = 255
    return replace(mesh, texture=tex), (1.5, h + 1.5)


def _temple_path(hinge: F64, slope: float, head: HeadShape, k: float) -> F64:
    """A temple arm from its hinge: back along the head (4 mm off it) at ``slope``, then
    bending down behind the ear."""
    side = 1.0 if hinge[0] > 0 else -1.0
    z = hinge[2] + np.linspace(0.0, TEMPLE_LENGTH_MM * k, 24)
    y = hinge[1] + (z - hinge[2]) * slope
    x = side * np.maximum(
        abs(hinge[0]) * np.linspace(1.0, 0.0, len(z)) ** 4, head.half_width(y, z) + 4.0 * k
    )
    x[0] = hinge[0]
    straight = np.column_stack([x, y, z])
    t = np.linspace(0.0, 1.0, 7)[1:]
    bend = np.column_stack(
        [
            np.full(len(t), x[-1]) - side * 3.0 * k * t,
            y[-1] + EARPIECE_MM * k * np.sin(t * 1.0) * 0.9,
            z[-1] + EARPIECE_MM * k * np.cos(t * 1.0) * 0.45 * t,
        ]
    )
    return np.vstack([straight, bend])


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
    frame: HeadFrame, hinges_mm: F64, slopes: tuple[float, float], head: HeadShape | None = None
) -> list[tuple[F64, NDArray[np.bool_], F64]]:
    """Per arm: projected samples, their visibility (ray test against the head shape) and
    their depths (mm), along the path the renderer builds the arm on."""
    shape = head if head is not None else head_shape(frame.ipd_mm)
    k = frame.ipd_mm / DEFAULT_IPD_MM
    arms = []
    for hinge, slope in zip(hinges_mm, slopes, strict=True):
        pts = _temple_path(np.asarray(hinge, np.float64), slope, shape, k)
        arms.append((frame.project(pts), frame.visible(pts, shape), frame.to_camera(pts)[:, 2]))
    return arms
