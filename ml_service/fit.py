"""Size recommendation from the measured face or body (pure functions).

Eyewear: a frame fits when its width is close to the face's width at the temples, measured in
millimetres from the iris scale. Tops: the shoulder width in millimetres (the face's scale
carried to the shoulders, which stand at about the same distance from the camera) against each
variant's ``shoulder_cm`` or, failing that, ``chest_cm`` (chest circumference is about 2.35
times the shoulder breadth on adults). The iris is 11.7 +- 0.5 mm across, so every measure
carries at least +-4 % uncertainty; the confidence reflects it and the gap between sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ml_service.render.geometry import (
    INNER_EYE_LEFT,
    INNER_EYE_RIGHT,
    OUTER_EYE_LEFT,
    OUTER_EYE_RIGHT,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    TEMPLE_LEFT,
    TEMPLE_RIGHT,
    default_camera,
    face_scale,
)
from ml_service.render.people import people
from ml_service.types import Analysis, Face

IRIS_UNCERTAINTY = 0.5 / 11.7
# Landmarks 127 / 356 lie in front of the ears, where the head is already wider than at the
# hinges: a frame about as wide as that distance fits (an assumption, not yet calibrated
# against measured faces).
FRAME_EXTRA_MM = 0.0
SHOULDER_JOINT_TO_BREADTH = 1.12  # pose landmarks are joint centres; the seam is outside
CHEST_PER_SHOULDER = 2.35
MIN_VISIBILITY = 0.5


@dataclass(frozen=True, slots=True)
class Variant:
    """A product size. Give what the product has: eyewear ``frame_width_mm``; tops
    ``shoulder_cm`` and/or ``chest_cm``."""

    id: str
    frame_width_mm: float | None = None
    shoulder_cm: float | None = None
    chest_cm: float | None = None


@dataclass(frozen=True, slots=True)
class SizeRecommendation:
    variant_id: str
    confidence: float  # 0..1
    reason: str
    measurements: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SizeDecision:
    """A recommendation, or None with the reason there is none."""

    recommendation: SizeRecommendation | None
    reason: str


def recommend_size(analysis: Analysis, variants: Sequence[Variant]) -> SizeRecommendation | None:
    """The best variant for the person in ``analysis``, or None (see :func:`decide_size`)."""
    return decide_size(analysis, variants).recommendation


def decide_size(analysis: Analysis, variants: Sequence[Variant]) -> SizeDecision:
    """The best variant with confidence and reason, or no recommendation with the reason."""
    if not variants:
        return SizeDecision(None, "the product has no sizes to choose from")
    for v in variants:
        for name in ("frame_width_mm", "shoulder_cm", "chest_cm"):
            value = getattr(v, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                return SizeDecision(None, f"size {v.id!r} has an invalid {name}: {value!r}")
    if all(v.frame_width_mm is not None for v in variants):
        return _eyewear(analysis, variants)
    if all(v.shoulder_cm is not None or v.chest_cm is not None for v in variants):
        return _top(analysis, variants)
    return SizeDecision(None, "the sizes carry no measurements to compare with")


def _eyewear(analysis: Analysis, variants: Sequence[Variant]) -> SizeDecision:
    if not analysis.faces:
        return SizeDecision(None, "no face found to measure")
    face = max(analysis.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    if abs(float(face.head_pose.yaw)) > 25:
        return SizeDecision(None, "the face is turned too far to measure its width")
    _, ipd_mm = face_scale(face)
    face_mm = face_width_mm(face, (analysis.width, analysis.height))
    ideal = face_mm + FRAME_EXTRA_MM
    widths = {v.id: float(v.frame_width_mm or 0.0) for v in variants}
    return _pick(
        widths,
        ideal,
        unit="mm",
        what="frame width",
        measurements={"face_width_mm": round(face_mm, 1), "ipd_mm": round(ipd_mm, 1)},
    )


def face_width_mm(face: Face, image_size: tuple[int, int]) -> float:
    """The distance between the temple landmarks in millimetres, in 3D.

    The temples stand about 5 cm behind the eyes, where the iris gives the scale, so in a
    close-up they look narrower than they are; the landmarks' depth (z, in pixels at the
    face's scale) and the pinhole camera undo that, and also the turn of the head (the
    distance is measured in 3D), so the measure does not depend on distance or yaw."""
    mm_per_px, _ = face_scale(face)
    camera = np.asarray(face.head_pose.camera_matrix, np.float64)
    if camera.shape != (3, 3) or not np.isfinite(camera).all() or camera[0, 0] <= 0:
        camera = default_camera(*image_size)
    f, cx = float(camera[0, 0]), float(camera[0, 2])
    lm = np.asarray(face.landmarks, np.float64)
    # The eye corners stand a few millimetres behind the iris plane (the scale's depth):
    # close enough at arm's length (about 1 %).
    eye_z = float(lm[[OUTER_EYE_LEFT, OUTER_EYE_RIGHT, INNER_EYE_LEFT, INNER_EYE_RIGHT], 2].mean())
    eye_depth = f * mm_per_px  # the eyes' distance from the camera, mm
    points = []
    for i in (TEMPLE_RIGHT, TEMPLE_LEFT):
        depth = eye_depth + (float(lm[i, 2]) - eye_z) * mm_per_px
        points.append(((float(lm[i, 0]) - cx) * depth / f, depth))
    (x0, z0), (x1, z1) = points
    return math.hypot(x1 - x0, z1 - z0)


def _top(analysis: Analysis, variants: Sequence[Variant]) -> SizeDecision:
    if not analysis.bodies:
        return SizeDecision(None, "no body found to measure")
    if not analysis.faces:
        return SizeDecision(None, "no face to give the photo a scale (millimetres per pixel)")
    # The main person with both a face and a body: a body without its own face has no scale
    # (another person's face may stand at another distance).
    everyone = people(analysis.faces, analysis.bodies, len(analysis.faces) + len(analysis.bodies))
    pair = next(((f, b) for f, b in everyone if f is not None and b is not None), None)
    if pair is None:
        return SizeDecision(None, "no body has a face to give it a scale")
    face, body = pair
    lm = np.asarray(body.landmarks, np.float64)
    if (lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3] < MIN_VISIBILITY).any():
        return SizeDecision(None, "the shoulders are not both visible")
    mm_per_px, _ = face_scale(face)
    shoulder_px = float(np.linalg.norm(lm[SHOULDER_LEFT, :2] - lm[SHOULDER_RIGHT, :2]))
    shoulder_cm = shoulder_px * mm_per_px * SHOULDER_JOINT_TO_BREADTH / 10.0
    if not 25.0 <= shoulder_cm <= 65.0:
        return SizeDecision(
            None, f"the measured shoulder width ({shoulder_cm:.0f} cm) is implausible"
        )
    measurements = {"shoulder_cm": round(shoulder_cm, 1)}
    if all(v.shoulder_cm is not None for v in variants):
        sizes = {v.id: float(v.shoulder_cm or 0.0) for v in variants}
        return _pick(
            sizes,
            shoulder_cm,
            unit="cm",
            what="shoulder width",
            measurements=measurements,
            spread=0.08,
        )
    chest = shoulder_cm * CHEST_PER_SHOULDER
    measurements["chest_cm_estimate"] = round(chest, 1)
    # Variants that give only a shoulder width are compared on the same chest scale.
    sizes = {
        v.id: float(
            v.chest_cm if v.chest_cm is not None else (v.shoulder_cm or 0.0) * CHEST_PER_SHOULDER
        )
        for v in variants
    }
    return _pick(
        sizes,
        chest,
        unit="cm",
        what="chest (estimated from the shoulders)",
        measurements=measurements,
        spread=0.12,
    )


def _pick(
    sizes: dict[str, float],
    ideal: float,
    *,
    unit: str,
    what: str,
    measurements: dict[str, float],
    spread: float = IRIS_UNCERTAINTY,
) -> SizeDecision:
    ranked = sorted(sizes.items(), key=lambda kv: abs(kv[1] - ideal))
    best_id, best = ranked[0]
    sigma = max(spread * ideal, 1e-6)
    # Confidence: how much more likely the best size is than the runner-up under a normal
    # error of the measure, and how close the best is at all.
    near = math.exp(-0.5 * ((best - ideal) / sigma) ** 2)
    if len(ranked) > 1:
        other = math.exp(-0.5 * ((ranked[1][1] - ideal) / sigma) ** 2)
        near = near * near / max(near + other, 1e-12)
    confidence = round(float(np.clip(near, 0.0, 1.0)), 2)
    measurements = {**measurements, "ideal": round(ideal, 1)}
    if abs(best - ideal) > 3 * sigma:
        return SizeDecision(
            None,
            f"no size is close: the ideal {what} is {ideal:.0f} {unit}, "
            f"the nearest {best:.0f} {unit}",
        )
    reason = f"{what} {best:g} {unit} is the closest to the ideal {ideal:.0f} {unit}"
    return SizeDecision(SizeRecommendation(best_id, confidence, reason, measurements), reason)
