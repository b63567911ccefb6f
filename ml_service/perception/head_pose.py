"""Head pose from the face mesh's own 3D output: a weighted rigid fit to a face template.

The face landmark model gives every point in 3D (x, y in pixels, z relative depth at the same
scale). Its shape is fitted with a similarity (Umeyama) to the template of
``face_template``, weighted so that the rigid parts of the face count (nose, cheekbones, eye
corners, forehead) and the mouth, jaw and eyelids do not. Many points in 3D make the turn
well determined; five points in 2D (the solvePnP this replaces) turned a short chin into
20 degrees of pitch.

Perspective: the model sees a face off the image centre along its own line of sight, and a
picture of it is stretched along the direction away from the centre. The points are first
rectified, i.e. viewed by a virtual camera turned to look straight at the face (a
homography of the pinhole camera; pure rotation, so it needs no depth); the fit gives the
head's turn relative to that line of sight, and turning back gives it in the camera's axes.
The reported yaw, pitch and roll are relative to the line of sight (0, 0, 0: the face looks
into the camera, upright), so they do not depend on where the face is in the picture or on
the assumed focal length; ``rotation`` is in the camera's axes, for projecting 3D points.

The camera is assumed pinhole with a focal length equal to the image's larger side (about 53
degrees across), principal point at the centre. Pure functions.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ml_service.perception import face_template
from ml_service.perception.face_template import FaceTemplate
from ml_service.perception.procrustes import F64, Similarity3, fit_similarity
from ml_service.types import HeadPose

ROBUST_ROUNDS = 1  # a Tukey reweighting round against points that do not fit (occlusion)
TUKEY_C = 4.685  # Tukey's biweight constant (95% efficiency for Gaussian residuals)
FALLBACK_DEPTH_CM = 50.0
MIN_SCALE = 1e-3  # pixels per cm


def camera_matrix(width: int, height: int) -> NDArray[np.float32]:
    focal = float(max(width, height))
    return np.array(
        [[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=np.float32
    )


def angles(rotation: F64) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a head->camera rotation seen along the camera's axis
    (see ``HeadPose`` for the signs).

    ``rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch)``: pitch turns the head about its own ear to
    ear axis, yaw about the vertical, and roll turns the result in the image plane. So turning
    a picture only changes roll, and mirroring it negates yaw and roll. The exact inverse of
    ``ml_service.render.geometry.rotation_from_pose``."""
    r = np.asarray(rotation, np.float64)
    across = r @ np.array([1.0, 0.0, 0.0])  # from the right eye to the left eye
    roll = math.atan2(across[1], across[0])
    c, s = math.cos(roll), math.sin(roll)
    unrolled = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ r
    forward = unrolled @ np.array([0.0, 0.0, -1.0])  # out of the face, towards the camera
    yaw = math.atan2(forward[0], -forward[2])
    pitch = math.atan2(-forward[1], math.hypot(forward[0], forward[2]))
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def line_of_sight(point: F64, camera: F64) -> F64:
    """The rotation that turns the camera's axis (+z) to look at image ``point`` (the
    shortest one, so it has no roll about the axis)."""
    k = np.asarray(camera, np.float64)
    ray = np.array([(point[0] - k[0, 2]) / k[0, 0], (point[1] - k[1, 2]) / k[1, 1], 1.0])
    ray /= np.linalg.norm(ray)
    axis = np.array([-ray[1], ray[0], 0.0])  # z x ray
    sin = float(np.linalg.norm(axis))
    if sin < 1e-12:
        return np.eye(3)
    axis /= sin
    cos = float(ray[2])
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    out: F64 = np.eye(3) + sin * cross + (1 - cos) * cross @ cross
    return out


def rectify(points: F64, camera: F64, turn: F64) -> F64:
    """Points (N x 3: pixels, z at x's scale) as a camera turned by ``turn`` sees them: x, y
    in pixels from its centre; z scaled by ``cos(angle)^1.5``, the mean magnification of the
    turned view at its centre (``cos^2`` along the direction away from the image centre,
    ``cos`` across it)."""
    k = np.asarray(camera, np.float64)
    f = np.array([k[0, 0], k[1, 1]])
    rays = np.ones((len(points), 3))
    rays[:, :2] = (points[:, :2] - k[:2, 2]) / f
    turned = rays @ turn  # each row: turn.T @ ray
    out = np.empty((len(points), 3))
    out[:, :2] = turned[:, :2] / turned[:, 2:3] * f
    out[:, 2] = points[:, 2] * float(turn[2, 2]) ** 1.5
    return out


def fit(
    points: F64, template: FaceTemplate, *, rounds: int = ROBUST_ROUNDS
) -> tuple[F64, float, F64, float]:
    """Template -> ``points`` (468 x 3): rotation, scale (pixels per cm), shift, and the
    weighted RMS residual in cm. Tukey-reweighted ``rounds`` times, so that points the model
    got wrong (a hand over the cheek) lose their influence."""
    dst = points[template.fitted]
    motion, weights = _fit(dst, template.fit_points, template.fit_weights, rounds)
    squared = ((motion.apply(template.fit_points) - dst) ** 2).sum(axis=1)
    rms = float(np.sqrt((weights @ squared) / max(float(weights.sum()), 1e-12))) / motion.scale
    return motion.rotation, motion.scale, motion.shift, rms


def _fit(dst: F64, src: F64, weights: F64, rounds: int) -> tuple[Similarity3, F64]:
    """The fit and the weights it ended with."""
    current = weights
    motion = fit_similarity(src, dst, current)
    for _ in range(rounds):
        squared = ((motion.apply(src) - dst) ** 2).sum(axis=1)
        k = len(squared) // 2
        # Residuals in units of Tukey's constant times their robust spread (1.4826 median).
        limit = (TUKEY_C * 1.4826) ** 2 * float(np.partition(squared, k)[k])
        if limit <= 0:
            break
        current = weights * np.clip(1.0 - squared / limit, 0.0, None) ** 2
        motion = fit_similarity(src, dst, current)
    return motion, current


def estimate(
    landmarks: NDArray[np.float32],
    width: int,
    height: int,
    *,
    mm_per_px: float | None = None,
    template: FaceTemplate | None = None,
    robust_rounds: int = ROBUST_ROUNDS,
) -> HeadPose:
    """Head pose of one face from its 468 landmarks (image pixels, z at x's scale).

    ``mm_per_px`` (from the iris, at the eye plane) sets the depth, as the renderers assume
    it: the eyes at ``focal * mm_per_px``; without it the template's size does.
    ``template`` and ``robust_rounds`` are for comparisons (scripts/ml/head_pose_report.py)."""
    shape = template or face_template.load()
    intrinsics = camera_matrix(width, height)
    k = intrinsics.astype(np.float64)
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (face_template.NUM_POINTS, 3) or not np.isfinite(lm).all():
        return _fallback(intrinsics)
    weights = shape.fit_weights
    points = lm[shape.fitted]
    centre = (weights @ points[:, :2]) / weights.sum()
    turn = line_of_sight(centre, k)
    seen = rectify(points, k, turn)
    # Weak perspective -> true perspective: a point nearer than the face's centre by z
    # (pixels at x's scale) appears 1 + z / f times farther from the line of sight.
    focal = float(k[0, 0])
    centre_z = float(weights @ seen[:, 2]) / float(weights.sum())
    seen[:, :2] *= (1.0 + (seen[:, 2] - centre_z) / focal)[:, None]
    try:
        motion, _ = _fit(seen, shape.fit_points, weights, robust_rounds)
    except np.linalg.LinAlgError:
        return _fallback(intrinsics)
    rotation, scale, shift = motion.rotation, motion.scale, motion.shift
    if not (np.isfinite(rotation).all() and scale > MIN_SCALE):  # not a face: all one point
        return _fallback(intrinsics)
    yaw, pitch, roll = angles(rotation)
    # Depth: the eye corners at f * mm_per_px (the renderers' rule), or the fitted points'
    # centre where the template's size puts it; other depths from the mesh's z.
    eyes_z = float(seen[shape.eye_rows, 2].mean())
    if mm_per_px is not None and math.isfinite(mm_per_px) and mm_per_px > 0:
        eyes_cm = focal * mm_per_px / 10.0
    else:
        centre_cm = focal / scale
        eyes_cm = centre_cm * (1.0 + (eyes_z - centre_z) / focal)
    # x and y of the weak-perspective fit are at the scale of the points' centre.
    across = eyes_cm * (1.0 + (centre_z - eyes_z) / focal) / focal
    depth = eyes_cm * (1.0 + (float(shift[2]) - eyes_z) / focal)
    origin = np.array([shift[0] * across, shift[1] * across, depth])
    if not np.isfinite(origin).all():
        return _fallback(intrinsics)
    return HeadPose(
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        rotation=(turn @ rotation).astype(np.float32),
        translation=(turn @ origin).astype(np.float32),
        camera_matrix=intrinsics,
    )


def _fallback(intrinsics: NDArray[np.float32]) -> HeadPose:
    """A defined result for input the fit cannot use (non-finite or wrongly shaped points)."""
    return HeadPose(
        yaw=0.0,
        pitch=0.0,
        roll=0.0,
        rotation=np.eye(3, dtype=np.float32),
        translation=np.array([0.0, 0.0, FALLBACK_DEPTH_CM], np.float32),
        camera_matrix=intrinsics,
    )
