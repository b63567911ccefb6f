"""Geometry shared by the renderers: landmark indices, the head frame, projection, occlusion.

The *head frame* is metric (millimetres) and attached to the face: origin at the midpoint of
the pupils, x to the image right and y down when the face looks at the camera, z into the head
(away from the camera). It is placed in the camera so that its origin projects onto the
observed pupil midpoint at the depth where one millimetre spans ``1 / mm_per_px`` pixels, and
turned by the head pose. Renderers describe products in this frame and project them, so size
comes from the iris and perspective from the pose. Pure functions, numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.types import Face

F64 = NDArray[np.float64]

# MediaPipe face-mesh indices used by the renderers.
OUTER_EYE_RIGHT, OUTER_EYE_LEFT = 33, 263  # the subject's right eye is on the image left
INNER_EYE_RIGHT, INNER_EYE_LEFT = 133, 362
NOSE_BRIDGE, NOSE_TIP, CHIN = 168, 1, 152
GLABELLA, FOREHEAD_TOP = 9, 10
TEMPLE_RIGHT, TEMPLE_LEFT = 127, 356
CHEEK_EAR_RIGHT, CHEEK_EAR_LEFT = 234, 454
JAW_EAR_RIGHT, JAW_EAR_LEFT = 132, 361
CHEEK_LOW_RIGHT, CHEEK_LOW_LEFT = 93, 323
JAW_RIGHT, JAW_LEFT = 58, 288
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip

# BlazePose indices.
NOSE = 0
SHOULDER_LEFT, SHOULDER_RIGHT = 11, 12  # the subject's left shoulder is on the image right
ELBOW_LEFT, ELBOW_RIGHT = 13, 14
WRIST_LEFT, WRIST_RIGHT = 15, 16
HIP_LEFT, HIP_RIGHT = 23, 24

DEFAULT_IPD_MM = 63.0


def rotation_from_pose(yaw: float, pitch: float, roll: float) -> F64:
    """Head-frame -> camera rotation from the documented angles (degrees).

    yaw +: the subject turns to their left (the nose moves to the image right); pitch +: chin
    up; roll +: clockwise in the image."""
    y, p, r = np.radians([-yaw, -pitch, roll])
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    out: F64 = rz @ ry @ rx
    return out


def line_of_sight(u: float, v: float, camera: F64) -> F64:
    """The shortest rotation turning the camera's axis (+z) to look at image point (u, v)
    (as ``ml_service.perception.head_pose.line_of_sight``, which the angles refer to)."""
    ray = np.array([(u - camera[0, 2]) / camera[0, 0], (v - camera[1, 2]) / camera[1, 1], 1.0])
    ray /= np.linalg.norm(ray)
    axis = np.array([-ray[1], ray[0], 0.0])
    sin = float(np.linalg.norm(axis))
    if sin < 1e-12:
        return np.eye(3)
    k = axis / sin
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    out: F64 = np.eye(3) + sin * cross + (1 - float(ray[2])) * cross @ cross
    return out


@dataclass(frozen=True)
class HeadFrame:
    rotation: F64  # 3x3, head frame -> camera
    origin: F64  # 3, camera coordinates of the head-frame origin, mm
    camera: F64  # 3x3 intrinsics
    mm_per_px: float
    ipd_mm: float

    @property
    def px_per_mm(self) -> float:
        return 1.0 / self.mm_per_px

    def to_camera(self, points_mm: F64) -> F64:
        return np.asarray(points_mm, np.float64) @ self.rotation.T + self.origin

    def project(self, points_mm: F64) -> F64:
        """N x 3 head-frame millimetres -> N x 2 image pixels."""
        cam = self.to_camera(points_mm)
        z = np.maximum(cam[:, 2:3], 1e-6)
        uv = cam[:, :2] / z
        k = self.camera
        return np.column_stack([k[0, 0] * uv[:, 0] + k[0, 2], k[1, 1] * uv[:, 1] + k[1, 2]])

    def visible(self, points_mm: F64, head: HeadShape) -> NDArray[np.bool_]:
        """Whether each head-frame point is seen, i.e. the ray from it to the camera does not
        pass through the ``head`` (sampled along the ray: the shape has no closed form)."""
        o = -self.rotation.T @ self.origin  # camera centre in the head frame
        p = np.asarray(points_mm, np.float64)
        to_cam = o - p
        length = np.linalg.norm(to_cam, axis=1, keepdims=True)
        reach = np.minimum(length, head.reach)  # only the head's neighbourhood matters
        t = np.linspace(0.015, 1.0, 32)[None, :, None] * reach[:, None, :]
        samples = p[:, None, :] + to_cam[:, None, :] / length[:, None, :] * t
        blocked = head.inside(samples.reshape(-1, 3)).reshape(len(p), -1).any(axis=1)
        return np.logical_not(blocked)


@dataclass(frozen=True)
class HeadShape:
    """A head in the head frame: a superellipsoid (flat-ish face, round skull), so that temples
    and cheeks are where they are on people, which an ellipsoid gets wrong near the eyes."""

    centre: tuple[float, float, float]
    axes: tuple[float, float, float]
    exponent: float = 3.0

    @property
    def reach(self) -> float:
        return 2.5 * max(self.axes)

    def inside(self, points: F64) -> NDArray[np.bool_]:
        q = np.abs((points - np.asarray(self.centre)) / np.asarray(self.axes))
        n = self.exponent
        level: F64 = q[:, 0] ** n + q[:, 2] ** n + q[:, 1] ** 2
        return np.less(level, 1.0)

    def half_width(self, y: F64, z: F64) -> F64:
        """The head's half width (mm) at height ``y`` and depth ``z``."""
        (_, cy, cz), (ax, ay, az) = self.centre, self.axes
        n = self.exponent
        rest = 1.0 - ((y - cy) / ay) ** 2 - np.abs((z - cz) / az) ** n
        return np.asarray(ax * np.clip(rest, 0, None) ** (1.0 / n), np.float64)


def head_shape(ipd_mm: float) -> HeadShape:
    """An average head scaled by the pupil distance: about 55 mm half width at the eyes' depth,
    68 mm at the temples and 75 mm above the ears."""
    k = ipd_mm / DEFAULT_IPD_MM
    return HeadShape(centre=(0.0, -20.0 * k, 80.0 * k), axes=(76.0 * k, 125.0 * k, 95.0 * k))


def default_camera(width: int, height: int) -> F64:
    """Intrinsics for an unknown camera: focal length of about a 60 degree field of view."""
    f = 0.87 * max(width, height)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float64)


def face_scale(face: Face) -> tuple[float, float]:
    """(mm_per_px at the eye plane, pupil distance in mm), with fallbacks: an implausible
    pupil distance becomes the adult average, and a missing iris scale is derived from the
    pupils' pixel distance corrected for yaw."""
    ipd = float(face.ipd_mm)
    mm = float(face.mm_per_px)
    if not (np.isfinite(ipd) and 45.0 <= ipd <= 80.0):
        # The iris measure is off (blur, tiny face): neither number can be trusted.
        ipd, mm = DEFAULT_IPD_MM, float("nan")
    if not np.isfinite(mm) or mm <= 0:
        ipd_px = float(np.linalg.norm(np.asarray(face.iris_left) - np.asarray(face.iris_right)))
        frontal = ipd_px / max(np.cos(np.radians(min(abs(float(face.head_pose.yaw)), 70.0))), 0.3)
        mm = ipd / max(frontal, 1e-3)
    return mm, ipd


def head_frame(face: Face, *, image_size: tuple[int, int]) -> HeadFrame:
    """The head frame of ``face`` (see the module docstring)."""
    pose = face.head_pose
    camera = np.asarray(pose.camera_matrix, np.float64)
    if camera.shape != (3, 3) or not np.isfinite(camera).all() or camera[0, 0] <= 0:
        camera = default_camera(*image_size)
    mm_per_px, ipd_mm = face_scale(face)
    u, v = (np.asarray(face.iris_left, np.float64) + np.asarray(face.iris_right, np.float64)) / 2
    rotation = np.asarray(pose.rotation, np.float64)
    if rotation.shape != (3, 3) or not _is_rotation(rotation):
        # The angles are relative to the line of sight to the face.
        rotation = line_of_sight(u, v, camera) @ rotation_from_pose(pose.yaw, pose.pitch, pose.roll)
    # At depth z a millimetre spans f / z pixels; choose z so that it spans 1 / mm_per_px.
    z = camera[0, 0] * mm_per_px
    origin = np.array(
        [(u - camera[0, 2]) * z / camera[0, 0], (v - camera[1, 2]) * z / camera[1, 1], z]
    )
    return HeadFrame(
        rotation=rotation, origin=origin, camera=camera, mm_per_px=mm_per_px, ipd_mm=ipd_mm
    )


def _is_rotation(m: F64) -> bool:
    return bool(
        np.isfinite(m).all()
        and np.allclose(m @ m.T, np.eye(3), atol=1e-3)
        and np.linalg.det(m) > 0.99
    )


def face_oval(face: Face) -> F64:
    """The face outline polygon (36 x 2 pixels)."""
    return np.asarray(face.landmarks, np.float64)[list(FACE_OVAL), :2]


def landmark(face: Face, index: int) -> F64:
    return np.asarray(face.landmarks[index, :2], np.float64)
