"""The 3D face template for head pose: our own landmark model's mean face, with fit weights.

MediaPipe's canonical face model (468 points) is not in the wheel we build from, and five of
its points (ML.md) are too few: fitted by solvePnP they turn face-shape differences into pitch
(a short chin reads as the head tilted down). The template is instead derived from what our
face landmark model itself outputs in 3D (x, y, and z at x's pixel scale) on public photos and
their variants (``scripts/ml/make_face_template.py``, ``make face-template``):

1. generalised Procrustes analysis of all those meshes (``procrustes.procrustes_mean``),
   reweighted a few times so that points that vary between people and expressions (jaw,
   mouth, face outline) count less than the rigid ones (nose, cheekbones, eye corners);
2. the mesh's left/right twins found automatically (``procrustes.mirror_pairs``) and the mean
   made exactly symmetric; its symmetry plane becomes x = 0, which fixes yaw and roll;
3. the frame's remaining freedom (a turn about x, i.e. where pitch 0 is), its scale and its
   origin fitted to the canonical coordinates ML.md documents for points 33, 263, 168, 1 and
   152 (weighted by rigidity), so the template is in centimetres, in the canonical face's
   frame, with y and z flipped to the camera's axes.

Head frame (the renderers' too): x to the subject's left (image right when they face the
camera), y down, z into the head. Fit weights: rigidity, zero on the eyelids and below the
nose (mouth, jaw: they move with expression and differ most between people).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.perception.procrustes import (
    F64,
    MIRROR_X,
    fit_similarity,
    mirror_pairs,
    procrustes_mean,
)

NUM_POINTS = 468
TEMPLATE_FILE = "face_template.json"
# ML.md: MediaPipe canonical face model, centimetres, +y up and +z towards the viewer.
CANONICAL_CM: dict[int, tuple[float, float, float]] = {
    33: (-4.446, 2.664, 3.173),  # the subject's right eye, outer corner
    263: (4.446, 2.664, 3.173),  # left eye, outer corner
    168: (0.0, 3.271, 5.236),  # nose bridge
    1: (0.0, -1.127, 7.476),  # nose tip
    152: (0.0, -9.403, 4.264),  # chin
}
TO_HEAD_FRAME = np.array([1.0, -1.0, -1.0])  # canonical axes -> head frame (camera axes)
EYE_CORNERS = (33, 133, 362, 263)
MOUTH_CORNERS = (61, 291)
NOSE_TIP = 1
# The eyelids (the eye contours of iris.EYE_CONTOURS without the corners) move with blinks.
EYELIDS = (
    7, 163, 144, 145, 153, 154, 155, 173, 157, 158, 159, 160, 161, 246,
    249, 390, 373, 374, 380, 381, 382, 398, 384, 385, 386, 387, 388, 466,
)  # fmt: skip
# Below this fraction of the way from the nose tip down to the mouth corners nothing counts.
LOWER_FACE_CUT = 0.3
RIGIDITY_ROUNDS = 6
RIGIDITY_FLOOR = 0.25  # of the median variance: keeps the weights of the stillest points finite


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    points: F64  # 468 x 3, head frame, cm
    weights: F64  # 468, fit weights (max 1, 0 where a point must not count)
    mirror: NDArray[np.int64]  # 468, each point's twin across the symmetry plane
    rigidity: F64  # 468, how still each point is between people (max 1; before the cut)
    # Derived: the points the fit uses, their template points and weights, and where the eye
    # corners are among them.
    fitted: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    fit_points: F64 = field(init=False, repr=False, compare=False)
    fit_weights: F64 = field(init=False, repr=False, compare=False)
    eye_rows: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fitted = np.flatnonzero(np.asarray(self.weights) > 0)
        object.__setattr__(self, "fitted", fitted)
        object.__setattr__(self, "fit_points", np.asarray(self.points, np.float64)[fitted])
        object.__setattr__(self, "fit_weights", np.asarray(self.weights, np.float64)[fitted])
        object.__setattr__(self, "eye_rows", np.flatnonzero(np.isin(fitted, EYE_CORNERS)))

    def to_json(self, **extra: Any) -> str:
        body = {
            **extra,
            # + 0.0 turns -0.0 into 0.0: the same template gives the same text.
            "points": (np.round(self.points, 4) + 0.0).tolist(),
            "weights": (np.round(self.weights, 4) + 0.0).tolist(),
            "rigidity": (np.round(self.rigidity, 4) + 0.0).tolist(),
            "mirror": self.mirror.tolist(),
        }
        return json.dumps(body, indent=None, separators=(",", ":")) + "\n"

    @staticmethod
    def from_json(text: str) -> FaceTemplate:
        data = json.loads(text)
        points = np.asarray(data["points"], np.float64)
        weights = np.asarray(data["weights"], np.float64)
        rigidity = np.asarray(data["rigidity"], np.float64)
        mirror = np.asarray(data["mirror"], np.int64)
        if (
            points.shape != (NUM_POINTS, 3)
            or weights.shape != (NUM_POINTS,)
            or rigidity.shape != (NUM_POINTS,)
        ):
            raise ValueError("face template: wrong shapes")
        if mirror.shape != (NUM_POINTS,) or not np.array_equal(
            mirror[mirror], np.arange(NUM_POINTS)
        ):
            raise ValueError("face template: the mirror map is not an involution")
        return FaceTemplate(points=points, weights=weights, mirror=mirror, rigidity=rigidity)


@functools.cache
def load() -> FaceTemplate:
    """The committed template (``ml_service/perception/face_template.json``)."""
    text = resources.files("ml_service.perception").joinpath(TEMPLATE_FILE).read_text()
    return FaceTemplate.from_json(text)


def canonical_points() -> tuple[list[int], F64]:
    """ML.md's documented canonical points (indices, head-frame cm)."""
    indices = list(CANONICAL_CM)
    return indices, np.array([CANONICAL_CM[i] for i in indices]) * TO_HEAD_FRAME


# -- building (scripts/ml/make_face_template.py) ------------------------------------------------


def rigidity_weights(
    shapes: Sequence[F64], *, rounds: int = RIGIDITY_ROUNDS, shape_weights: F64 | None = None
) -> tuple[F64, F64]:
    """(Procrustes mean, per-point weights 1 / (residual variance + floor)), iterated: the
    mean is fitted with the weights of the previous round, so moving points stop steering it.
    The first shape sets the mean's orientation."""
    weights = np.ones(NUM_POINTS)
    reference = np.asarray(shapes[0], np.float64)
    mean = reference
    for _ in range(rounds):
        mean, aligned = procrustes_mean(
            shapes, weights, reference=reference, shape_weights=shape_weights
        )
        residual = np.stack([((a - mean) ** 2).sum(axis=1) for a in aligned])
        sw = np.ones(len(aligned)) if shape_weights is None else np.asarray(shape_weights)
        variance = (sw[:, None] * residual).sum(axis=0) / sw.sum()
        weights = 1.0 / (variance + RIGIDITY_FLOOR * float(np.median(variance)))
    return mean, weights / weights.max()


def symmetric_frame(shape: F64, pairs: NDArray[np.int64], weights: F64) -> F64:
    """``shape`` made exactly mirror-symmetric, in a frame whose x axis is the normal of its
    symmetry plane (pointing from twin 33 to twin 263), the plane at x = 0, y kept as close to
    the shape's own y as possible."""
    x = np.asarray(shape, np.float64)
    twin = (x @ MIRROR_X)[pairs]  # the mirror image, relabelled: point i sits where i would
    half = (x + fit_similarity(twin, x, weights, scale=False).apply(twin)) / 2
    diffs = half - half[pairs]
    moved = np.linalg.norm(diffs, axis=1) > 1e-12
    normal = np.linalg.svd(diffs[moved], full_matrices=False)[2][0]
    if (half[263] - half[33]) @ normal < 0:
        normal = -normal
    y_axis = np.array([0.0, 1.0, 0.0]) - normal[1] * normal
    y_axis /= np.linalg.norm(y_axis)
    basis = np.stack([normal, y_axis, np.cross(normal, y_axis)])
    framed = (half - half.mean(axis=0)) @ basis.T
    framed[:, 0] -= framed[:, 0].mean()
    out: F64 = (framed + (framed @ MIRROR_X)[pairs]) / 2
    return out


def canonical_frame(shape: F64, weights: F64) -> F64:
    """A symmetric shape (x = 0 its plane) turned about x, scaled and shifted to best match
    ML.md's canonical points (weighted): the template's pitch zero, unit and origin."""
    indices, target = canonical_points()
    src = np.asarray(shape, np.float64)[indices]
    w = np.asarray(weights, np.float64)[indices]
    w = w / w.sum()
    mu_s, mu_t = w @ src, w @ target
    a, b = src - mu_s, target - mu_t
    # The best turn about x: 2D Procrustes of the (y, z) coordinates.
    m = (b[:, 1:] * w[:, None]).T @ a[:, 1:]
    angle = float(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1]))
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    turned = a @ turn.T
    scale = float((w[:, None] * turned * b).sum() / (w[:, None] * turned * turned).sum())
    out: F64 = scale * (np.asarray(shape, np.float64) - mu_s) @ turn.T + mu_t
    out[:, 0] -= float(np.mean(out[:, 0]))  # exactly on the plane (the shape is symmetric)
    return out


def fit_weights(points: F64, rigidity: F64) -> F64:
    """Rigidity, with the eyelids and everything below the nose dropped."""
    w = np.asarray(rigidity, np.float64).copy()
    tip = float(points[NOSE_TIP, 1])
    mouth = float(points[list(MOUTH_CORNERS), 1].mean())
    w[points[:, 1] > tip + LOWER_FACE_CUT * (mouth - tip)] = 0.0
    w[list(EYELIDS)] = 0.0
    out: F64 = w / w.max()
    return out


def build(shapes: Sequence[F64], *, shape_weights: F64 | None = None) -> FaceTemplate:
    """The template from face meshes (468 x 3 each, image pixels, z at x's scale).

    The first mesh is first turned to ML.md's canonical points, so the Procrustes mean starts
    roughly frontal (``mirror_pairs`` needs that)."""
    meshes = [np.asarray(s, np.float64) for s in shapes]
    indices, target = canonical_points()
    start = fit_similarity(meshes[0][indices], target).apply(meshes[0])
    mean, rigidity = rigidity_weights([start, *meshes[1:]], shape_weights=shape_weights)
    pairs = mirror_pairs(mean)
    rigidity = (rigidity + rigidity[pairs]) / 2
    points = canonical_frame(symmetric_frame(mean, pairs, rigidity), rigidity)
    return FaceTemplate(
        points=points, weights=fit_weights(points, rigidity), mirror=pairs, rigidity=rigidity
    )
