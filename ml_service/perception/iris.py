"""Iris landmarks: eye crops from the face mesh, decoding, iris size. Pure functions.

The iris model was trained on one eye side: the subject's left eye is mirrored before it
and its points are mirrored back (the crop matrix carries the flip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.geometry import F64, Roi, bounding_roi, rotation_between, to_image

INPUT_SIZE = 64
ROI_SCALE = 2.3
IRIS_DIAMETER_MM = 11.7
# (outer/first corner, inner/second corner, mirrored): the subject's right eye, then left.
EYES: tuple[tuple[int, int, bool], ...] = ((33, 133, False), (362, 263, True))


@dataclass(frozen=True, slots=True)
class Iris:
    centre: NDArray[np.float32]  # 2, image pixels
    diameter_px: float


def eye_rois(landmarks: NDArray[np.float32]) -> list[tuple[Roi, bool]]:
    """The two eye crops (right eye, left eye of the subject) and whether each is mirrored."""
    rois = []
    for first, second, mirrored in EYES:
        corners = landmarks[[first, second], :2]
        rotation = rotation_between(corners[0], corners[1], target_deg=0)
        rois.append((bounding_roi(corners, rotation).scaled(ROI_SCALE), mirrored))
    return rois


def decode(raw_iris: NDArray[np.float32], matrix: F64) -> Iris:
    """15 raw values (centre + 4 boundary points, x y z, crop pixels) -> centre, diameter."""
    points = to_image(raw_iris.reshape(5, 3), matrix)
    horizontal = float(np.linalg.norm(points[1, :2] - points[3, :2]))
    vertical = float(np.linalg.norm(points[2, :2] - points[4, :2]))
    # A turned head foreshortens one axis of the iris disc; the larger one is the true size.
    return Iris(centre=points[0, :2].copy(), diameter_px=max(horizontal, vertical))


def mm_per_px(diameters_px: list[float]) -> float:
    """Scale at the eye plane from the mean iris diameter (11.7 mm, MediaPipe Iris)."""
    return IRIS_DIAMETER_MM / float(np.mean(diameters_px))


# -- tracking: iris centres between runs of the iris model ------------------------------------
# In live video the iris model need not run on every frame: the iris sits still in its eye
# while the head moves, so the motion of the eye's contour in the face mesh (which runs on
# every frame) carries it. ``IrisAnchor`` keeps the contours and irises of the last iris run;
# ``predict_irises`` moves each iris with the similarity transform (rotation, scale, shift)
# that best maps that eye's old contour onto its new one, and ``eye_change`` says when the
# eyes changed in a way such a transform cannot explain (blinks, gaze moving the lids, the
# head turning), so the model must run again.

# The eye contour of the face mesh (corners, both lids), the subject's right then left eye.
EYE_CONTOURS: tuple[tuple[int, ...], tuple[int, ...]] = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
)


@dataclass(frozen=True, slots=True)
class Similarity:
    """x -> scale * R x + shift in 2D image pixels."""

    rotation: NDArray[np.float64]  # 2 x 2
    scale: float
    shift: NDArray[np.float64]  # 2

    def apply(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self.scale * points @ self.rotation.T + self.shift
        return out


def fit_similarity(
    source: NDArray[np.float64], target: NDArray[np.float64]
) -> tuple[Similarity, float]:
    """Least-squares similarity from ``source`` to ``target`` (N x 2 each; Umeyama's closed
    form) and the RMS residual in pixels."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mu_s, target - mu_t
    var = float((s**2).sum()) / len(s)
    u, d, vt = np.linalg.svd(t.T @ s / len(s))
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a motion
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = float((d * sign).sum()) / max(var, 1e-12)
    shift = mu_t - scale * rotation @ mu_s
    fitted = Similarity(rotation=rotation, scale=scale, shift=shift)
    residual = float(np.sqrt(((fitted.apply(source) - target) ** 2).sum(axis=1).mean()))
    return fitted, residual


@dataclass(frozen=True, slots=True)
class IrisAnchor:
    """The eye contours (image pixels) and irises of the last iris run."""

    contours: tuple[NDArray[np.float64], NDArray[np.float64]]  # right, left eye: 16 x 2 each
    irises: tuple[Iris, Iris]  # right, left


def _contours(landmarks: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    right, left = (landmarks[list(ids), :2].astype(np.float64) for ids in EYE_CONTOURS)
    return right, left


def _eye_width(contour: NDArray[np.float64]) -> float:
    return max(float(np.linalg.norm(contour[0] - contour[8])), 1e-6)  # corner to corner


def anchor_irises(landmarks: NDArray[np.float32], irises: tuple[Iris, Iris]) -> IrisAnchor:
    """Remember measured irises with the eye contours of the same frame's face mesh."""
    return IrisAnchor(contours=_contours(landmarks), irises=irises)


def predict_irises(anchor: IrisAnchor, landmarks: NDArray[np.float32]) -> tuple[Iris, Iris]:
    """The anchor's irises carried by each eye's motion since (right, left)."""
    predicted = []
    for old, new, measured in zip(
        anchor.contours, _contours(landmarks), anchor.irises, strict=True
    ):
        motion, _ = fit_similarity(old, new)
        centre = motion.apply(measured.centre.astype(np.float64)[None])[0]
        predicted.append(Iris(centre.astype(np.float32), measured.diameter_px * motion.scale))
    return predicted[0], predicted[1]


def eye_change(anchor: IrisAnchor, landmarks: NDArray[np.float32]) -> float:
    """How much the eyes changed since the anchor beyond a rigid motion: the larger of each
    eye's contour residual after the best similarity (in eye widths: blinks, gaze moving the
    lids) and the relative change of the two eyes' width ratio (the head turning)."""
    new = _contours(landmarks)
    residuals = [
        fit_similarity(old, cur)[1] / _eye_width(cur)
        for old, cur in zip(anchor.contours, new, strict=True)
    ]
    before = _eye_width(anchor.contours[1]) / _eye_width(anchor.contours[0])
    turn = abs(_eye_width(new[1]) / _eye_width(new[0]) - before) / before
    return max(*residuals, turn)
