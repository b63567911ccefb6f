"""Packshots rendered from 3D models: a front view, orthographic, on white.

A merchant who uploads only a ``.glb`` still needs a product picture (the widget shows it,
the asset pipeline finds anchors and lenses in it), and the demo products' pictures are
rendered from their own models. Same rasteriser and materials as the try-on; the light is
the studio's (no photo to match).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.materials import shade
from ml_service.render.mesh import Material, Mesh
from ml_service.render.raster import rasterise
from ml_service.render.scene import sample

VIEW_DISTANCE_MM = 5000.0  # far enough to be nearly orthographic for the view vectors
MAX_SIDE = 1200


def render_packshot(mesh: Mesh, *, px_per_mm: float, margin_px: int = 12) -> NDArray[np.uint8]:
    """The model seen from the front (BGR on white), ``px_per_mm`` pixels per millimetre,
    2x supersampled. Parts behind others are hidden; lenses filter the white background."""
    v = mesh.vertices.astype(np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    scale = min(px_per_mm, MAX_SIDE / max(float(np.max(hi[:2] - lo[:2])), 1e-6))
    w = int(np.ceil((hi[0] - lo[0]) * scale)) + 2 * margin_px
    h = int(np.ceil((hi[1] - lo[1]) * scale)) + 2 * margin_px
    s = 2
    xy = ((v[:, :2] - lo[:2]) * scale + margin_px + 0.5) * s - 0.5
    depth = v[:, 2] - lo[2] + VIEW_DISTANCE_MM
    frags = rasterise(
        xy, depth, mesh.triangles, (h * s, w * s), cull=mesh.material != Material.LENS
    )
    covered = frags.triangle >= 0
    out = np.ones((h * s, w * s, 3), np.float32)
    if covered.any():
        tri = mesh.triangles[frags.triangle[covered]]
        wts = frags.weights[covered]

        def lerp(values: NDArray[np.floating]) -> NDArray[np.float32]:
            a = np.asarray(values, np.float32)
            return np.asarray((a[tri] * wts[:, :, None]).sum(axis=1), np.float32)

        position = lerp(v)
        position[:, 2] += VIEW_DISTANCE_MM
        position[:, :2] = 0.0
        texel = sample(mesh.texture, lerp(mesh.uv)).astype(np.float32) / 255.0 * lerp(mesh.colours)
        material = mesh.material[frags.triangle[covered]]
        layers = shade(
            material,
            texel[:, :3],
            np.ones(len(texel), np.float32),
            normal=lerp(mesh.normals),
            position=position,
            shade_value=lerp(mesh.shade[:, None])[:, 0],
            tinted=_tinted(texel[:, :3], material),
            reflections=False,  # a studio packshot: clear lenses stay clear
        )
        background = out[covered]
        lens = (material == Material.LENS)[:, None]
        filtered = background * layers.multiply + 0.25 * layers.add
        opaque = background * (1.0 - layers.alpha[:, None]) + layers.colour * layers.alpha[:, None]
        out[covered] = np.where(lens, filtered, opaque)
    small = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
    return np.asarray(np.clip(small * 255.0 + 0.5, 0, 255), np.uint8)


def _tinted(colour: NDArray[np.float32], material: NDArray[np.uint8]) -> bool:
    lens = material == Material.LENS
    return bool(lens.any() and float(colour[lens].mean()) < 0.7)
