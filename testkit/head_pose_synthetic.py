"""Synthetic face meshes with a known head pose: a 3D face seen by a pinhole camera.

The points are projected exactly (perspective). Their z is what the face landmark model
gives: depth along the line of sight to the face, relative to the eye corners, in pixels
at the scale of the face's centre, expressed in the picture's own pixels (a face off the
image centre is magnified by ``cos(angle)^-1.5`` on average there, see
``head_pose.rectify``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception import face_template, head_pose


@dataclass(frozen=True)
class Synthetic:
    landmarks: NDArray[np.float32]  # 468 x 3
    rotation: NDArray[np.float64]  # head -> camera axes
    origin_cm: NDArray[np.float64]  # the head frame's origin in the camera
    eyes_mm: float  # the eye corners' distance along the line of sight, mm
    focal: float


def synthetic_face(
    turn: NDArray[np.float64],
    *,
    centre: tuple[float, float] = (320.0, 240.0),
    size: tuple[int, int] = (640, 480),
    distance_cm: float = 50.0,
    points: NDArray[np.float64] | None = None,
) -> Synthetic:
    """The face ``points`` (head frame, cm; the template by default) turned by ``turn``
    relative to its line of sight, its fitted points' centre ``distance_cm`` away on the ray
    through image point ``centre``."""
    template = face_template.load()
    shape = template.points if points is None else np.asarray(points, np.float64)
    k = head_pose.camera_matrix(*size).astype(np.float64)
    f = float(k[0, 0])
    sight = head_pose.line_of_sight(np.asarray(centre, np.float64), k)
    ray = sight[:, 2]
    rotation = sight @ np.asarray(turn, np.float64)
    w = template.weights
    centroid = (w @ shape) / w.sum()
    origin = ray * distance_cm - rotation @ centroid
    cam = shape @ rotation.T + origin
    uv = cam[:, :2] / cam[:, 2:3] * f + k[:2, 2]
    along = cam @ ray
    eyes = float(along[list(face_template.EYE_CORNERS)].mean())
    z = (along - eyes) * f / distance_cm / ray[2] ** 1.5
    return Synthetic(
        landmarks=np.column_stack([uv, z]).astype(np.float32),
        rotation=rotation,
        origin_cm=origin,
        eyes_mm=10.0 * eyes,
        focal=f,
    )


def synthetic_landmarks(
    turn: NDArray[np.float64],
    *,
    centre: tuple[float, float] = (320.0, 240.0),
    size: tuple[int, int] = (640, 480),
) -> NDArray[np.float32]:
    return synthetic_face(turn, centre=centre, size=size).landmarks
