"""A software triangle rasteriser with a depth buffer, in numpy (no display, no GPU).

Chosen by measurement over Mesa's llvmpipe through moderngl (docs/render.md, *Rasteriser*):
a product covers a few thousand pixels of a small region, where setting up a GL context,
uploading and reading back cost more than the numpy work.

Every triangle is expanded into the pixel centres of its bounding box (clipped to the
region), tested with edge functions, and the nearest fragment per pixel wins. Depth and
barycentric weights are perspective-correct (interpolated as 1/z). Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]

MAX_FRAGMENTS = 1_000_000  # candidate pixels per batch (about 60 MB of temporaries)
TILES = (2, 4, 8, 16)  # tile sides (px) for small triangles


@dataclass(frozen=True)
class Fragments:
    """Per pixel of the region: the winning triangle (-1 for none), its perspective-correct
    barycentric weights (H x W x 3) and camera depth (inf where empty)."""

    triangle: I32
    weights: F32
    depth: F32

    def interpolate(self, values: NDArray[np.floating], triangles: I32) -> F32:
        """Per-vertex ``values`` (N x C) at the covered pixels (K x C, in the order of
        ``np.nonzero(self.triangle >= 0)``)."""
        covered = self.triangle >= 0
        tri = triangles[self.triangle[covered]]
        w = self.weights[covered]
        v = np.asarray(values, np.float32)
        out: F32 = v[tri[:, 0]] * w[:, 0:1] + v[tri[:, 1]] * w[:, 1:2] + v[tri[:, 2]] * w[:, 2:3]
        return out


def rasterise(
    xy: NDArray[np.floating],
    depth: NDArray[np.floating],
    triangles: I32,
    shape: tuple[int, int],
    *,
    cull: NDArray[np.bool_] | None = None,
) -> Fragments:
    """Rasterise ``triangles`` (M x 3 indices) of vertices at pixel positions ``xy`` (N x 2,
    pixel centres at integers) and camera depths ``depth`` (N, > 0) into a region of
    ``shape`` (h, w). ``cull``: per triangle, drop it when it faces away from the camera
    (its outward normal, ``cross(b - a, c - a)`` in the head frame's axes, points away:
    a positive signed area on screen with y down)."""
    h, w = shape
    tri_buf = np.full(h * w, -1, np.int32)
    depth_buf = np.full(h * w, np.inf, np.float32)
    weights = np.zeros((h * w, 3), np.float32)
    xy = np.asarray(xy, np.float64)
    z = np.asarray(depth, np.float64)
    tris = np.asarray(triangles, np.int64)
    if h == 0 or w == 0 or len(tris) == 0:
        return _fragments(tri_buf, weights, depth_buf, shape)
    p0, p1, p2 = xy[tris[:, 0]], xy[tris[:, 1]], xy[tris[:, 2]]
    area = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (
        p2[:, 0] - p0[:, 0]
    )
    zs = z[tris]
    keep = np.isfinite(area) & (np.abs(area) > 1e-9) & (zs > 1e-6).all(axis=1)
    if cull is not None:
        keep &= ~(np.asarray(cull, bool) & (area > 0))
    lo = np.floor(np.minimum(np.minimum(p0, p1), p2)) + 1
    hi = np.floor(np.maximum(np.maximum(p0, p1), p2))
    with np.errstate(invalid="ignore"):
        x0 = np.clip(lo[:, 0], 0, w).astype(np.int64, copy=False)
        y0 = np.clip(lo[:, 1], 0, h).astype(np.int64, copy=False)
        x1 = np.clip(hi[:, 0], -1, w - 1).astype(np.int64, copy=False)
        y1 = np.clip(hi[:, 1], -1, h - 1).astype(np.int64, copy=False)
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    keep &= (nx > 0) & (ny > 0)
    # Edge functions l_k = a_k x + b_k y + c_k (barycentric weights), per triangle.
    inv = 1.0 / np.where(keep, area, 1.0)
    coef = np.empty((len(tris), 3, 3), np.float32)
    for k, (p, q) in enumerate(((p1, p2), (p2, p0), (p0, p1))):
        coef[:, k, 0] = (p[:, 1] - q[:, 1]) * inv
        coef[:, k, 1] = (q[:, 0] - p[:, 0]) * inv
        coef[:, k, 2] = (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]) * inv
    inv_z = 1.0 / np.where(zs > 1e-6, zs, 1.0)
    buffers = (tri_buf, depth_buf, weights)
    # Triangles by the tile their box fits (most are a few pixels): every tile pixel at once.
    rest = keep.copy()
    for side in TILES:
        group = rest & (nx <= side) & (ny <= side)
        index = np.nonzero(group)[0]
        if index.size:
            _tiles(index, side, (x0, y0, nx, ny), coef=coef, inv_z=inv_z, w=w, buffers=buffers)
        rest &= ~group
    index = np.nonzero(rest)[0]
    if index.size == 0:
        return _fragments(tri_buf, weights, depth_buf, shape)
    counts = (nx * ny)[index]
    # Batches bound the memory a hostile or huge mesh can take.
    start = 0
    cum = np.cumsum(counts)
    while start < len(index):
        base = int(cum[start - 1]) if start else 0
        stop = int(np.searchsorted(cum, base + MAX_FRAGMENTS, side="right"))
        stop = max(stop, start + 1)
        sel = index[start:stop]
        tri = np.repeat(sel, counts[start:stop])
        offsets = np.repeat(np.cumsum(counts[start:stop]) - counts[start:stop], counts[start:stop])
        local = np.arange(len(tri), dtype=np.int64) - offsets
        bw = nx[tri]
        px = x0[tri] + local % bw
        py = y0[tri] + local // bw
        _resolve(tri, px, py, coef=coef, inv_z=inv_z, w=w, buffers=buffers)
        start = stop
    return _fragments(tri_buf, weights, depth_buf, shape)


def _tiles(
    index: NDArray[np.int64],
    side: int,
    boxes: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    *,
    coef: NDArray[np.float32],
    inv_z: NDArray[np.float64],
    w: int,
    buffers: tuple[I32, F32, F32],
) -> None:
    """Triangles whose box fits a ``side`` x ``side`` tile: every tile pixel at once."""
    x0, y0, nx, ny = boxes
    oy, ox = np.divmod(np.arange(side * side), side)
    for start in range(0, len(index), max(1, MAX_FRAGMENTS // (side * side))):
        sel = index[start : start + MAX_FRAGMENTS // (side * side)]
        valid = (ox[None, :] < nx[sel, None]) & (oy[None, :] < ny[sel, None])
        px = (x0[sel, None] + ox[None, :])[valid]
        py = (y0[sel, None] + oy[None, :])[valid]
        tri = np.broadcast_to(sel[:, None], valid.shape)[valid]
        _resolve(tri, px, py, coef=coef, inv_z=inv_z, w=w, buffers=buffers)


def _resolve(
    tri: NDArray[np.int64],
    px: NDArray[np.int64],
    py: NDArray[np.int64],
    *,
    coef: NDArray[np.float32],
    inv_z: NDArray[np.float64],
    w: int,
    buffers: tuple[I32, F32, F32],
) -> None:
    """Inside test, perspective-correct depth and the depth test for candidate pixels."""
    tri_buf, depth_buf, weights = buffers
    c = coef[tri]
    fx, fy = px.astype(np.float32), py.astype(np.float32)
    l0 = c[:, 0, 0] * fx + c[:, 0, 1] * fy + c[:, 0, 2]
    l1 = c[:, 1, 0] * fx + c[:, 1, 1] * fy + c[:, 1, 2]
    l2 = 1.0 - l0 - l1
    eps = -1e-4  # float32 edge functions: a hair of overlap, no cracks between triangles
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    if not inside.any():
        return
    tri, px, py = tri[inside], px[inside], py[inside]
    iz = inv_z[tri]
    q0, q1, q2 = l0[inside] * iz[:, 0], l1[inside] * iz[:, 1], l2[inside] * iz[:, 2]
    total = q0 + q1 + q2
    frag_z = (1.0 / total).astype(np.float32)
    pixel = py * w + px
    np.minimum.at(depth_buf, pixel, frag_z)
    win = frag_z <= depth_buf[pixel]
    pixel = pixel[win]
    tri_buf[pixel] = tri[win]
    weights[pixel] = (np.column_stack([q0[win], q1[win], q2[win]]) / total[win, None]).astype(
        np.float32
    )


def _fragments(tri_buf: I32, weights: F32, depth_buf: F32, shape: tuple[int, int]) -> Fragments:
    h, w = shape
    return Fragments(
        triangle=tri_buf.reshape(h, w),
        weights=weights.reshape(h, w, 3),
        depth=depth_buf.reshape(h, w),
    )
