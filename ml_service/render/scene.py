"""Drawing a 3D product mesh on a photo: projection, depth test against the head, shading,
anti-aliasing, photo matching, contact shadow and compositing.

The product (in the head frame, mm) and the head occluder (``headmodel``) are rasterised
together into one depth buffer over the product's region, supersampled 2x when the
region is small (thin wires would break up otherwise) and area-averaged back down, which is
the anti-aliasing. A fragment of the product is also hidden by the hair (``Hair``) where it
lies behind ``hair_depth_mm`` in the head frame (temple arms past the hinges, the back of a
hat's brim). The product is then shaded (``materials``), given the photo's colour balance,
blur and grain, and composited: lenses multiply the photo and add their reflection, the
rest goes over it; a soft contact shadow darkens the skin under it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.composite import (
    F32,
    Roi,
    luminance,
    polygon_mask,
    roi_around,
    soft_shadow,
    to_float,
    to_u8,
)
from ml_service.render.geometry import HeadFrame, face_oval
from ml_service.render.hair import Hair
from ml_service.render.headmodel import head_model
from ml_service.render.materials import PhotoLook, photo_look, shade
from ml_service.render.mesh import Material, Mesh
from ml_service.render.raster import rasterise
from ml_service.types import Face

SUPERSAMPLE_BUDGET = 44_000  # supersampled pixels in the product's region at most
DEPTH_TOLERANCE_MM = 0.5


@dataclass(frozen=True)
class Shadow:
    sigma_mm: float
    offset_mm: tuple[float, float]
    strength: float


@dataclass(frozen=True)
class Drawn:
    """What was drawn: the region, the product's coverage in it (0..1) and each part's
    pixels left after the depth test and the hair."""

    roi: Roi
    alpha: F32
    visible: dict[int, float]

    @property
    def drawn(self) -> bool:
        return bool(self.alpha.size) and float(self.alpha.max(initial=0.0)) > 0.02


def draw_mesh(
    image: NDArray[np.uint8],
    mesh: Mesh,
    face: Face,
    frame: HeadFrame,
    *,
    tinted: bool = False,
    hair: Hair | None = None,
    hair_depth_mm: float | None = None,
    shadow: Shadow | None = None,
    shadow_under: NDArray[np.float64] | None = None,
    match_photo: bool = True,
    photo: NDArray[np.uint8] | None = None,
    occluder_below: float | None = None,
    reflections: bool = True,
) -> Drawn:
    """Render ``mesh`` (head-frame mm) on ``image`` (BGR, in place). ``photo``: the
    untouched photo for measuring its look (default: ``image``). ``shadow_under``: a
    polygon (image px) the shadow falls inside (default: the face outline).
    ``occluder_below``: only the head below this head-frame height hides the product."""
    h, w = image.shape[:2]
    verts = mesh.vertices.astype(np.float64)
    cam = frame.to_camera(verts)
    xy = frame.project(verts)
    pad = 3
    if shadow is not None:
        pad += int(frame.px_per_mm * (3 * shadow.sigma_mm + max(map(abs, shadow.offset_mm))))
    roi = roi_around(xy, (w, h), pad=pad)
    empty = Drawn(roi=roi, alpha=np.zeros(roi.shape, np.float32), visible={})
    if roi.empty or not np.isfinite(cam).all() or (cam[:, 2] <= 1.0).any():
        return empty
    rh, rw = roi.shape
    # Supersampled up to 3x when small; huge regions are rendered smaller and scaled up.
    s = float(np.sqrt(SUPERSAMPLE_BUDGET / max(rh * rw, 1)))
    s = float(np.clip(np.floor(s), 1, 2)) if s >= 1 else max(s, 0.25)
    sh, sw = max(1, round(rh * s)), max(1, round(rw * s))
    sx, sy = sw / rw, sh / rh
    # The product supersampled; the head (a smooth occluder) at the region's own resolution.
    occ = head_model(face, frame)
    if occluder_below is not None:
        occ = occ.below(occluder_below)
    head_depth = rasterise(occ.xy - [roi.x0, roi.y0], occ.depth, occ.triangles, (rh, rw)).depth
    ss_xy = (xy - [roi.x0, roi.y0] + 0.5) * [sx, sy] - 0.5
    cull = mesh.material != Material.LENS
    frags = rasterise(ss_xy, cam[:, 2], mesh.triangles, (sh, sw), cull=cull)
    covered = frags.triangle >= 0
    ys, xs = np.nonzero(covered)
    hx = np.clip(((xs + 0.5) / sx - 0.5).round().astype(np.int64), 0, rw - 1)
    hy = np.clip(((ys + 0.5) / sy - 0.5).round().astype(np.int64), 0, rh - 1)
    in_front = frags.depth[ys, xs] <= head_depth[hy, hx] + DEPTH_TOLERANCE_MM
    covered[ys[~in_front], xs[~in_front]] = False
    ys, xs, hx, hy = ys[in_front], xs[in_front], hx[in_front], hy[in_front]
    if ys.size == 0:
        return empty
    winner = frags.triangle
    tri_ids = winner[covered]
    weights = frags.weights[covered]
    corner = mesh.triangles[tri_ids]

    def lerp(values: NDArray[np.floating]) -> F32:
        v = np.asarray(values, np.float32)
        out: F32 = (
            v[corner[:, 0]] * weights[:, 0:1]
            + v[corner[:, 1]] * weights[:, 1:2]
            + v[corner[:, 2]] * weights[:, 2:3]
        )
        return out

    uv = lerp(mesh.uv)
    head_pos = lerp(mesh.vertices)
    normal = lerp(mesh.normals) @ frame.rotation.T.astype(np.float32)
    position = lerp(cam.astype(np.float32))
    shade_value = lerp(mesh.shade[:, None])[:, 0]
    material = mesh.material[tri_ids]
    part = mesh.part[tri_ids]
    tex = sample(mesh.texture, uv)
    texel = tex.astype(np.float32) * np.float32(1.0 / 255.0) * lerp(mesh.colours)
    layers = shade(
        material,
        texel[:, :3],
        texel[:, 3],
        normal=normal,
        position=position,
        shade_value=shade_value,
        tinted=tinted,
        reflections=reflections,
    )
    keep = np.ones(len(tri_ids), np.float32)
    if hair is not None and hair_depth_mm is not None:
        behind = head_pos[:, 2] > hair_depth_mm
        if behind.any():
            hair_roi = hair.in_roi(face, roi)
            keep = np.where(behind, 1.0 - hair_roi[hy, hx], 1.0).astype(np.float32)
    # Image pixels of each part left after the depth test and the hair.
    visible = {int(p): float(keep[part == p].sum()) / (sx * sy) for p in np.unique(part)}
    photo_src = image if photo is None else photo
    look = photo_look(photo_src, (roi.x0, roi.y0, roi.x1, roi.y1)) if match_photo else PhotoLook()
    base = to_float(roi.of(image))
    face_mask = polygon_mask(face_oval(face), roi, feather=1.5 * frame.px_per_mm)
    gain = _light_gain(base, face_mask) if match_photo else 1.0
    colour = look.apply_colour(layers.colour) * np.float32(gain)
    multiply = layers.multiply
    if look.grey:
        multiply = look.apply_colour(multiply)
    alpha_k = layers.alpha * keep
    lens_k = (material == Material.LENS).astype(np.float32) * keep
    planes = np.zeros((sh, sw, 11), np.float32)
    planes[..., 4:7] = 1.0
    planes[ys, xs, 0:3] = colour * alpha_k[:, None]
    planes[ys, xs, 3] = alpha_k
    planes[ys, xs, 4:7] = 1.0 - lens_k[:, None] * (1.0 - multiply)
    planes[ys, xs, 7:10] = layers.add * lens_k[:, None]
    planes[ys, xs, 10] = lens_k
    if (sh, sw) != (rh, rw):
        mode = cv2.INTER_AREA if s > 1 else cv2.INTER_LINEAR
        planes = np.asarray(cv2.resize(planes, (rw, rh), interpolation=mode), np.float32)
    pm, alpha = planes[..., 0:3], planes[..., 3]
    mult, add, lens_cov = planes[..., 4:7], planes[..., 7:10], planes[..., 10]
    if match_photo:
        pm, alpha = look.apply_image(pm, alpha, seed=rh * 7919 + rw)
    if shadow is not None:
        absorb = 1.0 - luminance(mult)
        density = soft_shadow(
            np.clip(alpha + 0.6 * lens_cov * absorb, 0.0, 1.0),
            sigma=shadow.sigma_mm * frame.px_per_mm,
            offset=(shadow.offset_mm[0] * frame.px_per_mm, shadow.offset_mm[1] * frame.px_per_mm),
        )
        under = (
            face_mask
            if shadow_under is None
            else polygon_mask(shadow_under, roi, feather=1.5 * frame.px_per_mm)
        )
        base = base * (1.0 - shadow.strength * density * under)[:, :, None]
    base = base * mult + add
    out = base * (1.0 - alpha[:, :, None]) + pm
    roi.of(image)[:] = to_u8(out)
    return Drawn(roi=roi, alpha=np.clip(alpha + lens_cov, 0.0, 1.0), visible=visible)


def sample(texture: NDArray[np.uint8], uv: F32) -> NDArray[np.uint8]:
    """Bilinear texture samples (K x 4) at K points (texture pixels); OpenCV's remap takes
    maps under 32767 on a side, so the points go in rows of 1024."""
    k = len(uv)
    rows = max(1, -(-k // 1024))
    padded = np.zeros((rows * 1024, 2), np.float32)
    padded[:k] = uv
    maps = padded.reshape(rows, 1024, 2)
    out = cv2.remap(
        texture,
        np.ascontiguousarray(maps[..., 0]),
        np.ascontiguousarray(maps[..., 1]),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out.reshape(-1, texture.shape[2])[:k], np.uint8)


def _light_gain(base: F32, mask: F32) -> float:
    """Dim photos dim the product too: a gentle gain from the skin's brightness."""
    weight = float(mask.sum())
    if weight < 16:
        return 1.0
    mean = float((luminance(base) * mask).sum() / weight)
    return float(np.clip((mean / 0.5) ** 0.5, 0.55, 1.1))
