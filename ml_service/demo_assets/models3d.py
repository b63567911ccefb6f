"""The demo frames and hat as 3D models (``.glb``), and their packshots rendered from them.

Each frame starts from its drawn front (``generate.py``'s vector drawing, used as the
design's outline only), extruded to the material's real thickness with rounded edges
(``ml_service.assets.model3d``), with temple arms of real length from the hinges (bending
down behind the ear) and, on metal frames, nose pads on pad arms. Materials are glTF's own:
metal (metallicFactor 1) for wire frames, acetate (metallicFactor 0) for plastic ones,
blended lenses carrying their transmission colour (darker at the top on sunglasses). The hat
is revolved from its drawn profile (fabric). The packshot (``<name>.png``) is then rendered
from the written ``.glb`` read back, the same way a merchant's upload is.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.glb import Primitive, eyewear_from_glb, hat_from_glb, write_glb
from ml_service.assets.model3d import eyewear_front, revolved_hat
from ml_service.assets.prepare import prepare_asset
from ml_service.render.mesh import Material, Mesh, Part, tube
from ml_service.render.packshot import render_packshot
from ml_service.render.scene import sample

TEMPLE_MM = 145.0  # standard temple length, hinge to tip
METAL = {"glasses-round-black", "glasses-round-gold", "sunglasses-aviator"}


def _colours(mesh: Mesh, idx: NDArray[np.int64]) -> NDArray[np.float32]:
    tex = sample(mesh.texture, mesh.uv[idx]).astype(np.float32) / 255.0
    return np.asarray(tex[:, :3] * mesh.colours[idx, :3], np.float32)


def _primitive(
    mesh: Mesh, triangles: NDArray[np.int64], name: str, *, metal: bool, opacity: float = 1.0
) -> Primitive:
    used, inverse = np.unique(triangles.reshape(-1), return_inverse=True)
    return Primitive(
        name=name,
        vertices=mesh.vertices[used],
        triangles=inverse.reshape(-1, 3),
        normals=mesh.normals[used],
        colours=_colours(mesh, used),
        metallic=1.0 if metal else 0.0,
        roughness=0.3 if metal else 0.45,
        opacity=opacity,
    )


def eyewear_glb(drawing: NDArray[np.uint8], width_mm: float, *, metal: bool) -> bytes:
    """A frame model from its drawn front (BGR on white)."""
    asset = prepare_asset(drawing, "eyewear", frame_width_mm=width_mm)
    front = eyewear_front(asset)
    a = asset.anchors
    scale = width_mm / (a["frame_right"][0] - a["frame_left"][0])
    centre = (np.asarray(a["lens_left"]) + np.asarray(a["lens_right"])) / 2
    frame_tris = front.triangles[front.part == Part.FRONT]
    thickness = float(np.ptp(front.vertices[np.unique(frame_tris), 2]))
    lens_tris = front.triangles[front.part == Part.LENS]
    prims = [_primitive(front, frame_tris, "frame", metal=metal)]
    if len(lens_tris):
        prims.append(_primitive(front, lens_tris, "lens", metal=False, opacity=0.5))
    colour = np.asarray(asset.colour, np.float32) / 255.0
    across, up = (1.3, 1.8) if metal else (2.6, 4.4)
    for anchor, side in (("frame_left", -1.0), ("frame_right", 1.0)):
        hx, hy = (np.asarray(a[anchor]) - centre) * scale
        hx *= 0.97
        z = np.linspace(0.0, 100.0, 20)
        path = np.column_stack([np.full(len(z), hx) + side * 0.05 * z, hy + 0.06 * z, z])
        t = np.linspace(0.0, 1.0, 9)[1:]
        bend = np.column_stack(
            [
                path[-1, 0] - side * 4.0 * t,
                path[-1, 1] + 40.0 * np.sin(t * 0.9),
                path[-1, 2] + 28.0 * t,
            ]
        )
        arm = tube(
            np.vstack([path, bend]),
            width=across,
            height=up,
            material=Material.METAL if metal else Material.ACETATE,
            part=Part.TEMPLE,
            uv=(0.0, 0.0),
            texture=front.texture,
        )
        arm = replace(
            arm, colours=np.tile(np.append(colour, 1.0).astype(np.float32), (len(arm.vertices), 1))
        )
        prim = _primitive(
            arm, arm.triangles.astype(np.int64), f"temple_{anchor.split('_')[1]}", metal=metal
        )
        prims.append(replace(prim, colours=np.tile(colour, (len(prim.vertices), 1))))
    if metal:
        bridge = (np.asarray(a["bridge"]) - centre) * scale
        for side in (-1.0, 1.0):
            # A pad arm from the rim's inner edge back to a small pad resting on the nose.
            start = np.array([side * 9.0, bridge[1] + 6.0, thickness * 0.5])
            pad_at = np.array([side * 7.0, bridge[1] + 11.0, thickness + 5.0])
            arm = tube(
                np.linspace(start, pad_at, 5),
                width=0.8,
                height=0.8,
                material=Material.METAL,
                part=Part.FRONT,
                uv=(0, 0),
                texture=front.texture,
            )
            pad = tube(
                np.linspace(pad_at - np.array([0, 4.0, 0]), pad_at + np.array([0, 4.0, 0]), 4),
                width=3.0,
                height=1.2,
                material=Material.ACETATE,
                part=Part.FRONT,
                uv=(0, 0),
                texture=front.texture,
            )
            prims.append(
                replace(
                    _primitive(arm, arm.triangles.astype(np.int64), "pad_arm", metal=True),
                    colours=np.tile(colour, (len(arm.vertices), 1)),
                )
            )
            prims.append(
                replace(
                    _primitive(pad, pad.triangles.astype(np.int64), "nose_pad", metal=False),
                    colours=np.full((len(pad.vertices), 3), 0.92, np.float32),
                )
            )
    return write_glb(prims)


def hat_glb(drawing: NDArray[np.uint8]) -> bytes:
    """A hat model revolved from its drawn profile (BGR on white), at real size (its crown
    fits a 150 mm head)."""
    asset = prepare_asset(drawing, "hat")
    a = asset.anchors
    mm_per_px = 150.0 / (a["crown_right"][0] - a["crown_left"][0])
    mesh = revolved_hat(asset, mm_per_px=mm_per_px)
    prim = _primitive(mesh, mesh.triangles.astype(np.int64), "felt", metal=False)
    return write_glb([replace(prim, roughness=0.9)])


def packshot(glb: bytes, category: str) -> NDArray[np.uint8]:
    """The product picture, rendered from the model read back."""
    if category == "eyewear":
        mesh = eyewear_from_glb(glb)
        front = mesh.part != Part.TEMPLE
        mesh = replace(
            mesh,
            triangles=mesh.triangles[front],
            material=mesh.material[front],
            part=mesh.part[front],
        )
        return render_packshot(mesh, px_per_mm=8.0)
    return render_packshot(hat_from_glb(glb), px_per_mm=3.0)


def model_for(
    name: str, category: str, width_mm: float | None, drawing: NDArray[np.uint8]
) -> bytes:
    if category == "eyewear":
        return eyewear_glb(drawing, float(width_mm or 138.0), metal=name in METAL)
    return hat_glb(drawing)


__all__ = ["cv2", "model_for", "packshot"]
