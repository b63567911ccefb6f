"""3D models made from a packshot, for products uploaded without one.

- Eyewear (:func:`eyewear_front`): the frame front extruded from the packshot's outline at
  the frame's real thickness (acetate 5 mm, metal 2.2 mm), with rounded edges (a quarter
  circle at the front and at the back), textured with the packshot itself; each lens a
  separate, slightly curved surface carrying its transmission colour. The temple arms are
  not in a front view: the renderer builds them per face (real length, from the hinges).
- Hats (:func:`revolved_hat`): the packshot's silhouette, read as a profile (radius per
  height about the centre line), revolved into a solid; its texture is the packshot seen
  from the front, repeated on the back.

Both in millimetres in the product frame (see ``ml_service.render.mesh``): eyewear with its
origin between the lens centres on the back of the front, hats with the origin at the centre
of the head opening. Pure functions.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.mesh import F32, I32, Material, Mesh, Part, merge, orient, vertex_normals

ACETATE_THICKNESS_MM = 5.0
METAL_THICKNESS_MM = 2.2
METAL_RIM_MM = 2.6  # a rim narrower than this (median) is wire: metal
CONTOUR_STEP_MM = 1.2
LENS_SAG_MM = 2.0  # a lens is a shallow dome: its centre this much in front of its edge
HAT_SEGMENTS = 40
BRIM_WIDER = 1.12  # a row this much wider than the crown is brim
BRIM_THICKNESS = 4.0  # mm, for a crown of HAT_CROWN_MM
HAT_CROWN_MM = 150.0
HAT_ROWS = 36


def mm_per_pixel(asset: PreparedAsset) -> float:
    a = asset.anchors
    width_px = a["frame_right"][0] - a["frame_left"][0]
    return float(asset.width_mm or 138.0) / max(width_px, 1.0)


def is_metal(asset: PreparedAsset) -> bool:
    """Whether the frame is wire (its rim's median width under ``METAL_RIM_MM``)."""
    frame = _frame_mask(asset)
    if not frame.any():
        return False
    dist = cv2.distanceTransform(frame.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = dist[(dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)) - 1e-3) & frame]
    width_mm = 2.0 * float(np.median(ridge)) * mm_per_pixel(asset)
    return width_mm < METAL_RIM_MM


def _lens_mask(asset: PreparedAsset) -> NDArray[np.bool_]:
    h, w = asset.image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for poly in asset.lenses:
        pts = np.round(np.asarray(poly) * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(mask, [pts], 255, cv2.LINE_8, shift=4)
    return mask > 0


def _frame_mask(asset: PreparedAsset) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = (asset.image[:, :, 3] > 127) & ~_lens_mask(asset)
    return out


def eyewear_front(asset: PreparedAsset, *, step_mm: float = CONTOUR_STEP_MM) -> Mesh:
    """The frame front and lenses of a packshot (see the module docstring); outlines are
    sampled every ``step_mm`` (coarser models for small faces)."""
    scale = mm_per_pixel(asset)
    a = asset.anchors
    centre = (np.asarray(a["lens_left"]) + np.asarray(a["lens_right"])) / 2
    metal = is_metal(asset)
    thickness = METAL_THICKNESS_MM if metal else ACETATE_THICKNESS_MM
    radius = 0.45 * thickness if metal else 1.3
    texture = bleed(asset.image)
    # Work on a mask at about 0.25 mm per pixel: smooth contours, bounded cost.
    work = max(scale / 0.25, 1e-3)
    frame = _frame_mask(asset)
    h, w = frame.shape
    big = cv2.resize(
        frame.astype(np.uint8) * 255,
        (max(1, round(w * work)), max(1, round(h * work))),
        interpolation=cv2.INTER_LINEAR,
    )
    found, hierarchy = cv2.findContours(
        (big > 127).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE
    )
    contours = [np.asarray(c, np.int32) for c in found]
    material = Material.METAL if metal else Material.ACETATE
    parts: list[Mesh] = []
    if hierarchy is not None:
        parts.extend(
            _extrude(
                contours,
                hierarchy[0],
                to_mm=lambda p: (p / work - centre) * scale,
                to_uv=lambda p: p / work,
                thickness=thickness,
                radius=radius,
                material=material,
                texture=texture,
                step_px=step_mm / scale * work,
            )
        )
    for poly in asset.lenses:
        parts.append(
            _lens(
                np.asarray(poly, np.float64),
                centre,
                scale,
                thickness=thickness,
                texture=texture,
                step_mm=step_mm,
            )
        )
    if not parts:
        raise ValueError("no frame in the packshot")
    return merge(parts)


def bleed(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The texture with every transparent pixel given the colour of the nearest opaque one,
    and opaque: coverage comes from the geometry, and bilinear sampling at an outline must
    not pick up the packshot's background."""
    solid = image[:, :, 3] > 127
    out = np.array(image, copy=True)
    if solid.any() and not solid.all():
        _, labels = cv2.distanceTransformWithLabels(
            (~solid).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
        )
        ys, xs = np.nonzero(solid)
        lut = np.zeros((int(labels.max()) + 1, 3), np.uint8)
        lut[labels[ys, xs]] = image[ys, xs, :3]
        out[:, :, :3] = lut[labels]
    out[:, :, 3] = 255
    return np.ascontiguousarray(out)


def _resample(contour: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """A closed polyline resampled at about ``step`` (same units), at least 8 points."""
    closed = np.vstack([contour, contour[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    total = float(seg.sum())
    n = max(8, int(total / step))
    t = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, total, n, endpoint=False)
    return np.column_stack([np.interp(s, t, closed[:, 0]), np.interp(s, t, closed[:, 1])])


def _extrude(
    contours: tuple[NDArray[np.int32], ...] | list[NDArray[np.int32]],
    hierarchy: NDArray[np.int32],
    *,
    to_mm: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    to_uv: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    thickness: float,
    radius: float,
    material: Material,
    texture: NDArray[np.uint8],
    step_px: float,
) -> list[Mesh]:
    """Each outer contour with its holes -> a slab with rounded edges."""
    meshes = []
    for i, contour in enumerate(contours):
        if hierarchy[i][3] != -1 or len(contour) < 6:
            continue  # holes are handled with their outer contour
        loops = [contour]
        child = hierarchy[i][2]
        while child != -1:
            if len(contours[child]) >= 6:
                loops.append(contours[child])
            child = hierarchy[child][0]
        mesh = _slab(
            [np.asarray(c[:, 0, :], np.float64) for c in loops],
            to_mm=to_mm,
            to_uv=to_uv,
            thickness=thickness,
            radius=radius,
            material=material,
            texture=texture,
            step_px=step_px,
        )
        if mesh is not None:
            meshes.append(mesh)
    return meshes


def _slab(
    loops: list[NDArray[np.float64]],
    *,
    to_mm: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    to_uv: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    thickness: float,
    radius: float,
    material: Material,
    texture: NDArray[np.uint8],
    step_px: float,
    uv_inset: float = 2.0,
) -> Mesh | None:
    # Angles of the rounded profile: front corner (0..90 degrees), back corner (90..180).
    angles = np.radians([0.0, 45.0, 90.0, 90.0, 135.0, 180.0])
    back = [False, False, False, True, True, True]
    verts: list[NDArray[np.float64]] = []
    normals: list[NDArray[np.float64]] = []
    uvs: list[NDArray[np.float64]] = []
    tris: list[NDArray[np.int64]] = []
    inner_front: list[NDArray[np.float64]] = []
    inner_uv: list[NDArray[np.float64]] = []
    offset = 0
    for loop in loops:
        pts_px = _resample(loop, step_px)
        mm = np.asarray(to_mm(pts_px), np.float64)
        uv = np.asarray(to_uv(pts_px), np.float64)
        n = len(mm)
        tangent = np.roll(mm, -1, axis=0) - np.roll(mm, 1, axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        out2 = np.column_stack([tangent[:, 1], -tangent[:, 0]])
        # Make the normal point out of the material: test a step along it against the loop.
        if _signed_area(mm) < 0:
            out2 = -out2
        if loop is not loops[0]:
            out2 = -out2  # holes: outward from the material is into the hole
        # Texture from just inside the outline (its own pixels are half background).
        uv = np.asarray(to_uv(pts_px), np.float64) - out2 * np.array([1.0, 1.0]) * uv_inset
        for a, at_back in zip(angles, back, strict=True):
            inset = radius * (1.0 - np.sin(a))
            z = thickness - radius * (1 + np.cos(a)) if at_back else radius * (1.0 - np.cos(a))
            p = mm - out2 * inset
            verts.append(np.column_stack([p, np.full(n, -thickness + z)]))
            nz = -np.cos(a)
            nrm = np.column_stack([out2 * np.sin(a), np.full(n, nz)])
            normals.append(nrm)
            uvs.append(uv)
        rings = len(angles)
        for r in range(rings - 1):
            a0 = offset + r * n
            b0 = offset + (r + 1) * n
            idx = np.arange(n)
            nxt = (idx + 1) % n
            tris.append(np.column_stack([a0 + idx, a0 + nxt, b0 + idx]))
            tris.append(np.column_stack([a0 + nxt, b0 + nxt, b0 + idx]))
        inner_front.append(mm - out2 * radius)
        inner_uv.append(uv)
        offset += rings * n
    # The flat front and back faces: Delaunay over the inset loops, inside triangles only.
    flat = np.vstack(inner_front)
    flat_uv = np.vstack(inner_uv)
    face_tris = _triangulate(flat, inner_front)
    if len(face_tris) == 0:
        return None
    m = len(flat)
    front_v = np.column_stack([flat, np.full(m, -thickness)])
    back_v = np.column_stack([flat, np.zeros(m)])
    verts += [front_v, back_v]
    normals += [np.tile([0.0, 0.0, -1.0], (m, 1)), np.tile([0.0, 0.0, 1.0], (m, 1))]
    uvs += [flat_uv, flat_uv]
    tris.append(face_tris.astype(np.int64) + offset)
    tris.append(face_tris[:, ::-1].astype(np.int64) + offset + m)
    all_tris = np.vstack(tris)
    all_v = np.vstack(verts)
    # Orient every triangle counter-clockwise seen from outside (front view, y down).
    all_n = np.vstack(normals)
    all_tris = orient(all_v, all_tris, all_n)
    k = len(all_tris)
    return Mesh(
        vertices=all_v.astype(np.float32),
        triangles=all_tris.astype(np.int32),
        normals=all_n.astype(np.float32),
        uv=np.vstack(uvs).astype(np.float32),
        material=np.full(k, material, np.uint8),
        part=np.full(k, Part.FRONT, np.uint8),
        texture=texture,
    )


def _signed_area(p: NDArray[np.float64]) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _triangulate(points: NDArray[np.float64], loops: list[NDArray[np.float64]]) -> I32:
    """Delaunay triangles of ``points`` whose centroid lies inside the outer loop and
    outside the holes (the loops are dense, so this follows the outline)."""
    lo = points.min(axis=0) - 1.0
    hi = points.max(axis=0) + 1.0
    scale = 50.0
    rect = (0, 0, int((hi - lo)[0] * scale) + 4, int((hi - lo)[1] * scale) + 4)
    subdiv = cv2.Subdiv2D(rect)
    scaled = (points - lo) * scale
    ids = {}
    for i, (x, y) in enumerate(scaled):
        try:
            vid = subdiv.insert((float(x), float(y)))
        except cv2.error:
            continue
        ids[vid] = i
    out = []
    tri_list = subdiv.getTriangleList()
    for t in tri_list:
        tri = []
        for k in range(3):
            pt = (float(t[2 * k]), float(t[2 * k + 1]))
            vid, _ = subdiv.findNearest(pt)
            if vid not in ids:
                break
            tri.append(ids[vid])
        if len(tri) == 3 and len(set(tri)) == 3:
            out.append(tri)
    if not out:
        return np.zeros((0, 3), np.int32)
    tris = np.asarray(out, np.int64)
    centroid = points[tris].mean(axis=1)
    inside = _inside(centroid, loops[0])
    for hole in loops[1:]:
        inside &= ~_inside(centroid, hole)
    return tris[inside].astype(np.int32)


def _inside(points: NDArray[np.float64], polygon: NDArray[np.float64]) -> NDArray[np.bool_]:
    contour = polygon.astype(np.float32).reshape(-1, 1, 2)
    return np.array(
        [cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points],
        bool,
    )


def _lens(
    poly_px: NDArray[np.float64],
    centre: NDArray[np.float64],
    scale: float,
    *,
    thickness: float,
    texture: NDArray[np.uint8],
    step_mm: float,
) -> Mesh:
    """A lens: a dome over its outline (rings from the edge to the centre), in the middle of
    the rim's depth; ``shade`` runs 0 at its top to 1 at its bottom (tint gradient)."""
    ring = _resample(poly_px, max(1.0, step_mm / scale))
    mid = ring.mean(axis=0)
    fractions = np.array([1.0, 0.7, 0.4, 0.15])
    pts, uv = [], []
    for f in fractions:
        p = mid + (ring - mid) * f
        pts.append(p)
        uv.append(p)
    pts.append(mid[None])
    uv.append(mid[None])
    px = np.vstack(pts)
    mm = (px - centre) * scale
    r = np.concatenate([np.full(len(ring), f) for f in fractions] + [np.zeros(1)])
    z = -0.5 * thickness - LENS_SAG_MM * (1.0 - r**2)
    verts = np.column_stack([mm, z])
    n = len(ring)
    tris = []
    for k in range(len(fractions) - 1):
        idx = np.arange(n)
        a0, b0 = k * n, (k + 1) * n
        tris.append(np.column_stack([a0 + idx, a0 + (idx + 1) % n, b0 + idx]))
        tris.append(np.column_stack([a0 + (idx + 1) % n, b0 + (idx + 1) % n, b0 + idx]))
    last = (len(fractions) - 1) * n
    idx = np.arange(n)
    tris.append(np.column_stack([last + idx, last + (idx + 1) % n, np.full(n, len(px) - 1)]))
    front = np.vstack(tris)
    # Normals of a sphere cap through the dome.
    rad = max(float(np.abs(mm - mm[-1]).max()), 1.0)
    curv = 2.0 * LENS_SAG_MM / rad**2
    normals = np.column_stack([(mm - mm[-1]) * curv, -np.ones(len(mm))])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    front = orient(verts, front, normals)
    top, bottom = float(mm[:, 1].min()), float(mm[:, 1].max())
    shade = (mm[:, 1] - top) / max(bottom - top, 1e-6)
    k = len(front)
    return Mesh(
        vertices=verts.astype(np.float32),
        triangles=front.astype(np.int32),
        normals=normals.astype(np.float32),
        uv=np.vstack(uv).astype(np.float32),
        material=np.full(k, Material.LENS, np.uint8),
        part=np.full(k, Part.LENS, np.uint8),
        texture=texture,
        shade=shade.astype(np.float32),
    )


def hat_profile(asset: PreparedAsset) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """(rows y in asset pixels, radius per row in pixels, centre x): the packshot read as a
    body of revolution about its vertical centre line."""
    solid = asset.image[:, :, 3] > 127
    a = asset.anchors
    cx = 0.5 * (a["crown_left"][0] + a["crown_right"][0])
    ys = np.nonzero(solid.any(axis=1))[0]
    if ys.size == 0:
        raise ValueError("empty hat")
    rows = np.linspace(ys.min(), ys.max(), HAT_ROWS)
    radius = []
    for y in rows:
        xs = np.nonzero(solid[round(y)])[0]
        radius.append(0.5 * float(xs.max() - xs.min() + 1) if xs.size else 0.0)
    return rows, np.asarray(radius), float(cx)


def revolved_hat(asset: PreparedAsset, *, mm_per_px: float) -> Mesh:
    """A hat revolved from its packshot's profile (see the module docstring); origin on its
    axis at the brim's height (the brim anchors), y down."""
    rows, radius, cx = hat_profile(asset)
    a = asset.anchors
    crown_r = 0.5 * (a["crown_right"][0] - a["crown_left"][0])
    # A front packshot shows the brim's top as an ellipse (seen from a little above):
    # revolved as it is, that would make a brim as thick as the ellipse is tall. From the
    # first row clearly wider than the crown, the brim becomes a flat disc of the widest
    # radius, BRIM_THICKNESS thick, closed underneath back to the crown.
    tex_rows = rows.copy()
    wide = np.nonzero(radius > BRIM_WIDER * crown_r)[0]
    if wide.size:
        first = int(wide[0])
        r_max = float(radius[first:].max())
        thick = BRIM_THICKNESS * (2.0 * crown_r) / HAT_CROWN_MM
        n_brim = len(rows) - first
        rows = rows.copy()
        radius = radius.copy()
        rows[first:] = rows[first] + np.linspace(0.0, thick, n_brim)
        radius[first:] = r_max
        radius[-1] = crown_r
        rows[-1] = rows[-2]
    band_y = float(rows[-1])
    phi = np.linspace(0.0, 2.0 * np.pi, HAT_SEGMENTS, endpoint=False)
    # Front of the hat (towards the camera, -z) at phi = 0.
    r = radius[:, None] * mm_per_px
    x = r * np.sin(phi)[None, :]
    z = -r * np.cos(phi)[None, :]
    y = np.repeat(((rows - band_y) * mm_per_px)[:, None], len(phi), axis=1)
    verts = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    # Texture from just inside the outline (the packshot's edge pixels are half background).
    u = cx + 0.97 * np.minimum(radius, hat_profile(asset)[1])[:, None] * np.sin(phi)[None, :]
    inner_rows = np.clip(tex_rows, tex_rows[0] + 2.0, tex_rows[-1] - 2.0)
    v = np.repeat(inner_rows[:, None], len(phi), axis=1)
    uv = np.stack([u, v], axis=-1).reshape(-1, 2)
    s = len(phi)
    tris = []
    for i in range(len(rows) - 1):
        j = np.arange(s)
        a0, b0 = i * s + j, i * s + (j + 1) % s
        tris.append(np.column_stack([a0, b0, a0 + s]))
        tris.append(np.column_stack([b0, b0 + s, a0 + s]))
    # Caps: the top of the crown and the underside (the head goes in there).
    n = len(verts)
    verts = np.vstack([verts, [[0.0, y[0, 0], 0.0], [0.0, y[-1, 0], 0.0]]])
    uv = np.vstack([uv, [[cx, rows[0]], [cx, rows[-1]]]])
    j = np.arange(s)
    tris.append(np.column_stack([np.full(s, n), (j + 1) % s, j]))
    last = (len(rows) - 1) * s
    tris.append(np.column_stack([np.full(s, n + 1), last + j, last + (j + 1) % s]))
    triangles = np.vstack(tris).astype(np.int64)
    v32 = verts.astype(np.float32)
    triangles = _outward(v32, triangles)
    normals = vertex_normals(v32, triangles.astype(np.int32))
    k = len(triangles)
    return Mesh(
        vertices=v32,
        triangles=triangles.astype(np.int32),
        normals=normals,
        uv=uv.astype(np.float32),
        material=np.full(k, Material.FABRIC, np.uint8),
        part=np.full(k, Part.HAT, np.uint8),
        texture=bleed(asset.image),
    )


def _outward(vertices: F32, tris: NDArray[np.int64]) -> NDArray[np.int64]:
    """Wind triangles so their normals point away from the axis (y) or along it at caps."""
    a, b, c = vertices[tris[:, 0]], vertices[tris[:, 1]], vertices[tris[:, 2]]
    face = np.cross(b - a, c - a)
    centre = (a + b + c) / 3
    radial = centre * np.array([1.0, 0.0, 1.0], np.float32)
    cap = np.linalg.norm(radial, axis=1) < 1e-3
    ref = np.where(cap[:, None], np.array([0.0, 1.0, 0.0]) * np.sign(centre[:, 1:2] + 1e-9), radial)
    flip = (face * ref).sum(axis=1) < 0
    out = tris.copy()
    out[flip] = out[flip][:, ::-1]
    return out
