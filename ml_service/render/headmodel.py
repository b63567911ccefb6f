"""The head as an occluder for 3D products: the face mesh in front, a head shape behind it.

Nothing of this is drawn: it only fills the depth buffer, so that a product is hidden where
the head is in front of it (per pixel). In front, the face mesh itself: its 468 landmarks
at their own depth (the landmark model's z, at x's pixel scale, turned into millimetres with
the iris scale), joined by a fixed triangulation of the face template, so the nose pads
meet the real nose. Behind the face, where the mesh ends, a superellipsoid head whose width
is fitted to the face mesh's temple points, and two ears, so temple arms pass behind the
ears and the far temple disappears behind the head. Pure functions.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from importlib import resources

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.geometry import (
    DEFAULT_IPD_MM,
    F64,
    OUTER_EYE_LEFT,
    OUTER_EYE_RIGHT,
    TEMPLE_LEFT,
    TEMPLE_RIGHT,
    HeadFrame,
    HeadShape,
    head_shape,
)
from ml_service.render.mesh import ellipsoid_grid
from ml_service.types import Face

I32 = NDArray[np.int32]

# The outer eye corners lie about this far behind the corneas (the head frame's origin).
CANTHUS_DEPTH_MM = 10.0
BACK_OF_FACE_MM = 18.0  # the head shape counts only behind this depth (the face mesh is in front)
# An ear: centre (x out from the head's side, y, z) and half axes, mm. Its top is below the
# temple arm, which rests on the ear's root and bends down behind it.
EAR = ((6.0, 34.0, 88.0), (7.0, 26.0, 18.0))


@dataclass(frozen=True)
class HeadModel:
    """Occluder geometry for one face in image pixels: vertices (N x 2), camera depths (N,
    mm) and triangles."""

    xy: F64
    depth: F64
    triangles: I32
    shape: HeadShape  # the fitted head shape (head frame)
    height: F64  # each vertex's head-frame y (mm, down)

    def below(self, y_mm: float) -> HeadModel:
        """Only the triangles reaching below head-frame height ``y_mm`` (what is inside a
        hat's crown does not hide the hat)."""
        keep = (self.height[self.triangles] > y_mm).any(axis=1)
        return replace(self, triangles=self.triangles[keep])


@functools.cache
def face_triangles() -> I32:
    """A triangulation of the 468 face-mesh points (Delaunay on the face template's front
    view, computed once)."""
    text = resources.files("ml_service.perception").joinpath("face_template.json").read_text()
    points = np.asarray(json.loads(text)["points"], np.float64)[:, :2]
    lo = points.min(axis=0) - 1.0
    hi = points.max(axis=0) + 1.0
    scale = 100.0
    subdiv = cv2.Subdiv2D((0, 0, int((hi - lo)[0] * scale) + 2, int((hi - lo)[1] * scale) + 2))
    scaled = (points - lo) * scale
    for x, y in scaled:
        subdiv.insert((float(x), float(y)))
    out = []
    for t in subdiv.getTriangleList():
        tri = []
        for k in range(3):
            d = np.linalg.norm(scaled - t[2 * k : 2 * k + 2], axis=1)
            i = int(np.argmin(d))
            if d[i] > 1e-3:
                break
            tri.append(i)
        if len(tri) == 3 and len(set(tri)) == 3:
            out.append(tri)
    return np.asarray(out, np.int32)


def landmark_depths(face: Face, frame: HeadFrame) -> F64:
    """Camera depth (mm) of each face-mesh landmark."""
    lm = np.asarray(face.landmarks, np.float64)
    eye_z = float(lm[[OUTER_EYE_RIGHT, OUTER_EYE_LEFT], 2].mean())
    base = float(frame.origin[2]) + CANTHUS_DEPTH_MM * float(frame.rotation[2, 2])
    return np.asarray(base + (lm[:, 2] - eye_z) * frame.mm_per_px, np.float64)


def landmarks_in_head(face: Face, frame: HeadFrame, indices: list[int]) -> F64:
    """Face-mesh landmarks back in the head frame (mm), at their own depth."""
    lm = np.asarray(face.landmarks, np.float64)[indices]
    depth = landmark_depths(face, frame)[indices]
    k = frame.camera
    cam = np.column_stack(
        [
            (lm[:, 0] - k[0, 2]) * depth / k[0, 0],
            (lm[:, 1] - k[1, 2]) * depth / k[1, 1],
            depth,
        ]
    )
    out: F64 = (cam - frame.origin) @ frame.rotation
    return out


def fitted_head(face: Face, frame: HeadFrame) -> HeadShape:
    """The average head (``geometry.head_shape``) with its width fitted so that its side
    passes through the face mesh's temple points (within 0.85 to 1.25 times the average)."""
    base = head_shape(frame.ipd_mm)
    lm = np.asarray(face.landmarks, np.float64)
    if lm.shape[1] < 3 or not np.isfinite(lm[[TEMPLE_RIGHT, TEMPLE_LEFT]]).all():
        return base
    temples = landmarks_in_head(face, frame, [TEMPLE_RIGHT, TEMPLE_LEFT])
    measured = float(np.abs(temples[:, 0]).mean())
    expected = float(np.mean(base.half_width(temples[:, 1], temples[:, 2])))
    if not np.isfinite(measured) or expected <= 1.0:
        return base
    k = float(np.clip(measured / expected, 0.85, 1.25))
    ax, ay, az = base.axes
    return HeadShape(centre=base.centre, axes=(ax * k, ay, az), exponent=base.exponent)


def head_model(face: Face, frame: HeadFrame) -> HeadModel:
    """The occluder for ``face`` (see the module docstring)."""
    lm = np.asarray(face.landmarks, np.float64)
    face_xy = lm[:, :2]
    face_depth = landmark_depths(face, frame)
    face_tris = face_triangles()
    shape = fitted_head(face, frame)
    verts, tris = ellipsoid_grid(shape.centre, shape.axes, exponent=shape.exponent)
    centroid_z = verts[tris].mean(axis=1)[:, 2]
    tris = tris[centroid_z > BACK_OF_FACE_MM * frame.ipd_mm / DEFAULT_IPD_MM]
    parts = [verts.astype(np.float64)]
    all_tris = [tris]
    offset = len(verts)
    k = frame.ipd_mm / DEFAULT_IPD_MM
    (ex, ey, ez), (rx, ry, rz) = EAR
    for side in (-1.0, 1.0):
        half = float(shape.half_width(np.array([ey * k]), np.array([ez * k]))[0])
        centre = (side * (half + ex * k), ey * k, ez * k)
        ev, et = ellipsoid_grid(
            centre, (rx * k, ry * k, rz * k), exponent=2.0, rings=6, segments=10
        )
        parts.append(ev.astype(np.float64))
        all_tris.append(et + offset)
        offset += len(ev)
    head_pts = np.vstack(parts)
    cam = frame.to_camera(head_pts)
    head_xy = frame.project(head_pts)
    xy = np.vstack([face_xy, head_xy])
    depth = np.concatenate([face_depth, cam[:, 2]])
    triangles = np.vstack([face_tris, np.vstack(all_tris) + len(face_xy)]).astype(np.int32)
    face_y = landmarks_in_head(face, frame, list(range(len(face_xy))))[:, 1]
    height = np.concatenate([face_y, head_pts[:, 1]])
    return HeadModel(xy=xy, depth=depth, triangles=triangles, shape=shape, height=height)
