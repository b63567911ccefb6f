"""Head pose by solvePnP of face-mesh points against MediaPipe's canonical face. Pure functions.

Canonical coordinates are centimetres, +y up and +z towards the viewer; OpenCV's camera has
+y down and +z away, so y and z flip. The camera is assumed pinhole with a focal length equal
to the image's larger side (about 53 degrees across), principal point at the centre.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.types import HeadPose

# index -> canonical (x, y, z) in cm
CANONICAL: dict[int, tuple[float, float, float]] = {
    33: (-4.446, 2.664, 3.173),  # the subject's right eye, outer corner
    263: (4.446, 2.664, 3.173),  # left eye, outer corner
    168: (0.0, 3.271, 5.236),  # nose bridge
    1: (0.0, -1.127, 7.476),  # nose tip
    152: (0.0, -9.403, 4.264),  # chin
}
INDICES = tuple(CANONICAL)
OBJECT_POINTS = np.array([CANONICAL[i] for i in INDICES], dtype=np.float64) * np.array(
    [1.0, -1.0, -1.0]
)


def camera_matrix(width: int, height: int) -> NDArray[np.float32]:
    focal = float(max(width, height))
    return np.array(
        [[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=np.float32
    )


def angles(rotation: NDArray[np.float64]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a head->camera rotation (see ``HeadPose``)."""
    forward = rotation @ np.array([0.0, 0.0, -1.0])  # out of the face, towards the camera
    across = rotation @ np.array([1.0, 0.0, 0.0])  # from the right eye to the left eye
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(across[1], across[0]))
    return yaw, pitch, roll


def estimate(landmarks: NDArray[np.float32], width: int, height: int) -> HeadPose:
    """Head pose of one face from its 468 landmarks (image pixels)."""
    image_points = landmarks[list(INDICES), :2].astype(np.float64)
    intrinsics = camera_matrix(width, height)
    ok, rvec, tvec = cv2.solvePnP(
        OBJECT_POINTS,
        image_points,
        intrinsics.astype(np.float64),
        None,
        flags=cv2.SOLVEPNP_SQPNP,
    )
    if not ok:  # SQPnP solves any non-degenerate 5-point set; keep a defined result anyway
        rvec, tvec = np.zeros(3), np.array([0.0, 0.0, 50.0])
    rotation = np.asarray(cv2.Rodrigues(rvec)[0], dtype=np.float64)
    yaw, pitch, roll = angles(rotation)
    return HeadPose(
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        rotation=rotation.astype(np.float32),
        translation=np.asarray(tvec, dtype=np.float32).reshape(3),
        camera_matrix=intrinsics,
    )
