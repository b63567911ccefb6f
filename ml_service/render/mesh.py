"""Triangle meshes for the 3D products (eyewear, hats): geometry, materials, texture.

A :class:`Mesh` is in the product's own frame, in millimetres, with the head frame's axes
(``geometry``: x to the image right, y down, z away from the camera when the face looks at
it). Colour comes from one texture (BGRA) through per-vertex texture coordinates in texture
pixels; each triangle has a material (acetate, metal, lens, fabric) that the shading
(``materials``) interprets. Pure data and numpy helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]
U8 = NDArray[np.uint8]


class Material(IntEnum):
    ACETATE = 0  # plastic frames: diffuse, a little translucent, a soft sheen
    METAL = 1  # wire frames: coloured highlights, little diffuse light
    LENS = 2  # transmission colour (texture) with a gradient and a reflection
    FABRIC = 3  # hats: matte, a little grain


class Part(IntEnum):
    FRONT = 0
    LENS = 1
    TEMPLE = 2
    HAT = 3


@dataclass(frozen=True)
class Mesh:
    """Vertices (N x 3, mm), triangles (M x 3 vertex indices, counter-clockwise seen from
        outside in an image with y down), per-vertex normals (N x 3, unit) and texture
        coordinates (N x 2, texture pixels), per-triangle material and part, and the texture
    (BGRA uint8), multiplied by per-vertex ``colours`` (N x 4, BGRA 0..1, default white:
    glTF vertex colours and base colours). ``shade`` is a per-vertex scalar the materials
    use (lenses: 0 at the top of the lens, 1 at the bottom, for the tint gradient)."""

    vertices: F32
    triangles: I32
    normals: F32
    uv: F32
    material: U8
    part: U8
    texture: U8
    shade: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    colours: F32 = field(default_factory=lambda: np.zeros((0, 4), np.float32))

    def __post_init__(self) -> None:
        n = len(self.vertices)
        if self.shade.shape != (n,):
            object.__setattr__(self, "shade", np.zeros(n, np.float32))
        if self.colours.shape != (n, 4):
            object.__setattr__(self, "colours", np.ones((n, 4), np.float32))

    @property
    def bounds(self) -> tuple[F32, F32]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def without(self, part: Part) -> Mesh:
        """The mesh less the triangles of ``part``."""
        keep = self.part != part
        return replace(
            self, triangles=self.triangles[keep], material=self.material[keep], part=self.part[keep]
        )

    def moved(self, offset: tuple[float, float, float]) -> Mesh:
        return replace(self, vertices=(self.vertices + np.asarray(offset, np.float32)))


def merge(meshes: list[Mesh], *, shared_texture: bool = False) -> Mesh:
    """One mesh from several: textures stacked vertically (padded to the widest), or with
    ``shared_texture`` the first mesh's texture, which all the meshes' coordinates use."""
    meshes = [m for m in meshes if len(m.triangles)]
    if not meshes:
        raise ValueError("nothing to merge")
    if shared_texture:
        return Mesh(
            vertices=np.vstack([m.vertices for m in meshes]).astype(np.float32, copy=False),
            triangles=np.vstack(_offsets(meshes)).astype(np.int32, copy=False),
            normals=np.vstack([m.normals for m in meshes]).astype(np.float32, copy=False),
            uv=np.vstack([m.uv for m in meshes]).astype(np.float32, copy=False),
            material=np.concatenate([m.material for m in meshes]),
            part=np.concatenate([m.part for m in meshes]),
            texture=meshes[0].texture,
            shade=np.concatenate([m.shade for m in meshes]).astype(np.float32, copy=False),
            colours=np.vstack([m.colours for m in meshes]).astype(np.float32, copy=False),
        )
    width = max(m.texture.shape[1] for m in meshes)
    textures, uvs, tris, offset, row = [], [], [], 0, 0
    for m in meshes:
        h, w = m.texture.shape[:2]
        tex = np.zeros((h, width, 4), np.uint8)
        tex[:, :w] = m.texture
        textures.append(tex)
        uvs.append(m.uv + np.array([0.0, row], np.float32))
        tris.append(m.triangles + offset)
        offset += len(m.vertices)
        row += h
    return Mesh(
        vertices=np.vstack([m.vertices for m in meshes]).astype(np.float32),
        triangles=np.vstack(tris).astype(np.int32),
        normals=np.vstack([m.normals for m in meshes]).astype(np.float32),
        uv=np.vstack(uvs).astype(np.float32),
        material=np.concatenate([m.material for m in meshes]).astype(np.uint8),
        part=np.concatenate([m.part for m in meshes]).astype(np.uint8),
        texture=np.vstack(textures),
        shade=np.concatenate([m.shade for m in meshes]).astype(np.float32),
        colours=np.vstack([m.colours for m in meshes]).astype(np.float32),
    )


def _offsets(meshes: list[Mesh]) -> list[I32]:
    out, offset = [], 0
    for m in meshes:
        out.append(m.triangles + offset)
        offset += len(m.vertices)
    return out


def swatch(bgra: tuple[int, int, int, int]) -> U8:
    """A 4 x 4 texture of one colour."""
    return np.tile(np.asarray(bgra, np.uint8), (4, 4, 1))


def vertex_normals(vertices: F32, triangles: I32) -> F32:
    """Area-weighted vertex normals (unit; zero-area neighbourhoods get +z... towards -z,
    the camera)."""
    v = vertices.astype(np.float64)
    a, b, c = v[triangles[:, 0]], v[triangles[:, 1]], v[triangles[:, 2]]
    face = np.cross(b - a, c - a)
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, triangles[:, k], face)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(norm > 1e-12, out / np.maximum(norm, 1e-12), [0.0, 0.0, -1.0])
    return out.astype(np.float32)


def tube(
    path: NDArray[np.float64],
    *,
    width: float,
    height: float,
    sides: int = 6,
    material: Material,
    part: Part,
    uv: tuple[float, float],
    texture: U8,
) -> Mesh:
    """A closed tube of elliptical section (``width`` across, ``height`` up) along ``path``
    (K x 3 mm), its section square to the path and its "up" kept near -y."""
    path = np.asarray(path, np.float64)
    k = len(path)
    tangent = np.gradient(path, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    up0 = np.array([0.0, -1.0, 0.0])
    side = np.cross(tangent, up0)
    bad = np.linalg.norm(side, axis=1) < 1e-6
    side[bad] = np.array([1.0, 0.0, 0.0])
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    up = np.cross(side, tangent)
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring_dirs = np.cos(angles)[None, :, None] * side[:, None, :] * (width / 2) + np.sin(angles)[
        None, :, None
    ] * up[:, None, :] * (height / 2)
    verts = path[:, None, :] + ring_dirs
    normals = np.cos(angles)[None, :, None] * side[:, None, :] / (width / 2) + np.sin(angles)[
        None, :, None
    ] * up[:, None, :] / (height / 2)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    tris = []
    for i in range(k - 1):
        for j in range(sides):
            a, b = i * sides + j, i * sides + (j + 1) % sides
            c, d = a + sides, b + sides
            tris += [(a, b, c), (b, d, c)]
    vertices = verts.reshape(-1, 3)
    n = len(vertices)
    # End caps: a centre vertex each.
    caps_v = [path[0], path[-1]]
    caps_n = [-tangent[0], tangent[-1]]
    vertices = np.vstack([vertices, caps_v])
    all_normals = np.vstack([normals.reshape(-1, 3), caps_n])
    for j in range(sides):
        jn = (j + 1) % sides
        tris.append((n, jn, j))
        tris.append((n + 1, (k - 1) * sides + j, (k - 1) * sides + jn))
    triangles = orient(vertices, np.asarray(tris, np.int64), all_normals).astype(np.int32)
    m = len(triangles)
    return Mesh(
        vertices=vertices.astype(np.float32),
        triangles=triangles,
        normals=all_normals.astype(np.float32),
        uv=np.tile(np.asarray(uv, np.float32), (len(vertices), 1)),
        material=np.full(m, material, np.uint8),
        part=np.full(m, part, np.uint8),
        texture=texture,
    )


def orient(
    vertices: NDArray[np.floating], tris: NDArray[np.int64], normals: NDArray[np.floating]
) -> NDArray[np.int64]:
    """Triangles wound so that ``cross(b - a, c - a)`` agrees with their vertices' normals."""
    v = np.asarray(vertices, np.float64)
    a, b, c = v[tris[:, 0]], v[tris[:, 1]], v[tris[:, 2]]
    face = np.cross(b - a, c - a)
    n = np.asarray(normals, np.float64)[tris].sum(axis=1)
    flip = (face * n).sum(axis=1) < 0
    out = tris.copy()
    out[flip] = out[flip][:, ::-1]
    return out


def ellipsoid_grid(
    centre: tuple[float, float, float],
    axes: tuple[float, float, float],
    *,
    exponent: float = 3.0,
    rings: int = 14,
    segments: int = 28,
) -> tuple[F32, I32]:
    """Vertices and triangles of a superellipsoid (x and z with ``exponent``, y squared),
    for occluders: no normals or texture."""
    theta = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    e = 2.0 / exponent

    def sp(x: NDArray[np.float64], power: float) -> NDArray[np.float64]:
        return np.asarray(np.sign(x) * np.abs(x) ** power, np.float64)

    cos_t = np.cos(t)
    x = axes[0] * sp(cos_t, 1.0) ** 1 * sp(np.cos(p), e)
    z = axes[2] * cos_t * sp(np.sin(p), e)
    y = axes[1] * np.sin(t)
    # The x/z section scales with cos(t) (y squared in the implicit form): close enough.
    verts = np.stack([x + centre[0], y + centre[1], z + centre[2]], axis=-1).reshape(-1, 3)
    tris = []
    for i in range(rings):
        for j in range(segments):
            a = i * segments + j
            b = i * segments + (j + 1) % segments
            tris += [(a, b, a + segments), (b, b + segments, a + segments)]
    return verts.astype(np.float32), np.asarray(tris, np.int32)
