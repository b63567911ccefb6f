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
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    TEMPLE_LEFT,
    TEMPLE_RIGHT,
    face_scale,
)
from ml_service.types import Analysis

IRIS_UNCERTAINTY = 0.5 / 11.7
FRAME_EXTRA_MM = 4.0  # frames sit a little wider than the skin at the temples
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
    mm_per_px, ipd_mm = face_scale(face)
    lm = np.asarray(face.landmarks, np.float64)
    width_px = float(np.linalg.norm(lm[TEMPLE_LEFT, :2] - lm[TEMPLE_RIGHT, :2]))
    face_mm = width_px * mm_per_px / max(math.cos(math.radians(float(face.head_pose.yaw))), 0.5)
    ideal = face_mm + FRAME_EXTRA_MM
    widths = {v.id: float(v.frame_width_mm or 0.0) for v in variants}
    return _pick(
        widths,
        ideal,
        unit="mm",
        what="frame width",
        measurements={"face_width_mm": round(face_mm, 1), "ipd_mm": round(ipd_mm, 1)},
    )


def _top(analysis: Analysis, variants: Sequence[Variant]) -> SizeDecision:
    if not analysis.bodies:
        return SizeDecision(None, "no body found to measure")
    if not analysis.faces:
        return SizeDecision(None, "no face to give the photo a scale (millimetres per pixel)")
    body = analysis.bodies[0]
    lm = np.asarray(body.landmarks, np.float64)
    if (lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3] < MIN_VISIBILITY).any():
        return SizeDecision(None, "the shoulders are not both visible")
    face = max(analysis.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
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
    sizes = {v.id: float(v.chest_cm or 0.0) for v in variants}
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
            f"no size is close: the ideal {what} is {ideal:.0f} {unit}, the nearest {best:.0f} {unit}",
        )
    reason = f"{what} {best:g} {unit} is the closest to the ideal {ideal:.0f} {unit}"
    return SizeDecision(SizeRecommendation(best_id, confidence, reason, measurements), reason)
