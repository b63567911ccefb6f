"""Frames that suit the face: face measures, a face shape with its confidence, frame advice,
and the shape of a frame from its prepared asset (pure functions).

Measures (``face_measures``) are 3D distances between face-mesh landmarks (x, y in pixels, z
at x's scale, so a turned head measures the same), turned into millimetres by the iris scale
the size advice uses (11.7 mm irises, ``render.geometry.face_scale``):

==================  =====================================================================
face width          the temples (127 / 356): ``fit.face_width_mm``, what a frame spans
cheekbone width     the widest points of the mesh at the cheekbones (234 / 454)
forehead width      the forehead's sides (54 / 284)
jaw width           the jaw's corners (172 / 397)
chin width          the jaw beside the chin (150 / 379)
face length         the top of the mesh on the forehead (10) to the chin (152); the mesh
                    stops short of the hairline, so this is shorter than a tape measure's
pupil distance      the irises (``Face.ipd_mm``, corrected for yaw)
bridge width        the nose beside the bridge at the inner eye corners' height (193 / 417)
==================  =====================================================================

The face shape comes from the proportions only (ratios to the cheekbone width, and the chin
to the jaw), so the iris scale's +-4 % does not touch it. The rules are written from the
optician guides cited in docs/ml.md (Face shape and frame advice): each shape is a
description ("as long as wide, jaw as wide as the cheekbones and angular" for square) turned
into a prototype of the four proportions, in units of their spread between people around the
average face (the oval, which the guides call the balanced proportions; the average is the
project's face template of seven people). A face's class is the nearest prototype; the
confidence is its share of the likelihood (a normal error of one spread around each
prototype), so a face between two shapes gets about 0.5 and says so.

Nothing here stores or logs anything: the caller gets the advice and passes it on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml_service.fit import face_width_mm
from ml_service.render.geometry import face_scale
from ml_service.types import Analysis, Face

CHEEK = (234, 454)
FOREHEAD = (54, 284)
JAW = (172, 397)
CHIN = (150, 379)
LENGTH = (10, 152)
BRIDGE = (193, 417)

MAX_YAW = 25.0
MAX_PITCH = 20.0

AVERAGE = {"length": 1.145, "forehead": 0.860, "jaw": 0.810, "chin": 0.700}
"""The face template's proportions (``perception/face_template.json``: length / cheekbones,
forehead / cheekbones, jaw / cheekbones, chin / jaw)."""
SPREAD = {"length": 0.022, "forehead": 0.02, "jaw": 0.02, "chin": 0.016}
"""How much each proportion differs between people as our face mesh measures them: the
standard deviation over the seven people of the face template (the mesh model draws every
face a little towards its mean, so these are narrower than tape-measure anthropometry).
Seven people are few: a figure to replace when labelled faces are at hand."""

SHAPES = ("oval", "round", "square", "oblong", "heart", "diamond", "triangle")
PROTOTYPES: dict[str, dict[str, float]] = {
    # balanced: about one and a half times as long as wide at the hairline, jaw a little
    # narrower than the forehead, cheekbones the widest
    "oval": {"length": 0.0, "forehead": 0.0, "jaw": 0.0, "chin": 0.0},
    # about as long as wide, full cheeks, a soft rounded jaw and chin
    "round": {"length": -1.7, "forehead": 0.0, "jaw": 0.6, "chin": -0.6},
    # about as long as wide, forehead, cheekbones and jaw of one width, an angular jaw
    "square": {"length": -1.5, "forehead": 0.8, "jaw": 1.6, "chin": 1.2},
    # clearly longer than wide, straight sides
    "oblong": {"length": 1.8, "forehead": 0.6, "jaw": 0.8, "chin": 0.4},
    # the forehead the widest, a narrow jaw and pointed chin
    "heart": {"length": 0.0, "forehead": 1.4, "jaw": -1.2, "chin": -1.0},
    # the cheekbones far the widest, forehead and jaw narrow
    "diamond": {"length": 0.6, "forehead": -1.5, "jaw": -1.2, "chin": -0.4},
    # the jaw wider than the forehead
    "triangle": {"length": 0.0, "forehead": -1.5, "jaw": 1.6, "chin": 0.6},
}
NOISE = 1.5  # the likelihood's spread around a prototype, in units of ``SPREAD``: the same
# person measures up to about one spread apart between photos (turned, mirrored, smaller)

FRAME_SHAPES = ("round", "oval", "square", "rectangular", "cat-eye", "aviator")

SUITS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    # shape: (frames that suit, frames to avoid, why, in a shopper's words)
    "oval": (
        ("rectangular", "square", "aviator", "cat-eye", "round", "oval"),
        (),
        "Balanced proportions carry most shapes; keep the frame about as wide as the widest "
        "part of your face.",
    ),
    "round": (
        ("rectangular", "square", "cat-eye"),
        ("round", "oval"),
        "Angular frames wider than they are deep add lines and make a round face look "
        "longer; small round frames repeat its curves.",
    ),
    "square": (
        ("round", "oval", "aviator"),
        ("square", "rectangular"),
        "Rounded frames soften a strong jaw and angular features; boxy frames repeat them.",
    ),
    "oblong": (
        ("square", "round", "aviator"),
        ("rectangular",),
        "Deeper frames with a strong top line break up the length of the face; narrow "
        "rectangles make it look longer.",
    ),
    "heart": (
        ("oval", "round", "aviator"),
        ("cat-eye",),
        "Frames wider at the bottom, light or rimless, balance a wide forehead and a narrow "
        "chin; decorated or upswept tops add width where there is already the most.",
    ),
    "diamond": (
        ("cat-eye", "oval", "round"),
        ("rectangular",),
        "Frames with a strong brow line or upswept corners widen the forehead and soften "
        "the cheekbones.",
    ),
    "triangle": (
        ("cat-eye", "aviator", "rectangular"),
        ("round",),
        "Frames with weight and colour on top widen the upper face to balance the jaw.",
    ),
}


@dataclass(frozen=True, slots=True)
class FaceMeasures:
    """Millimetres (lengths) of one face."""

    face_width_mm: float
    cheekbone_width_mm: float
    forehead_width_mm: float
    jaw_width_mm: float
    chin_width_mm: float
    face_length_mm: float
    pupil_distance_mm: float
    bridge_width_mm: float

    def proportions(self) -> dict[str, float]:
        """Length, forehead and jaw relative to the cheekbones; the chin relative to the jaw."""
        cheek = max(self.cheekbone_width_mm, 1e-6)
        return {
            "length": self.face_length_mm / cheek,
            "forehead": self.forehead_width_mm / cheek,
            "jaw": self.jaw_width_mm / cheek,
            "chin": self.chin_width_mm / max(self.jaw_width_mm, 1e-6),
        }


@dataclass(frozen=True, slots=True)
class FaceShape:
    shape: str
    confidence: float
    """The likelihood share of ``shape`` among all shapes (0..1)."""
    scores: dict[str, float] = field(default_factory=dict)
    """Every shape's share, summing to 1."""


@dataclass(frozen=True, slots=True)
class FrameAdvice:
    shape: FaceShape
    measures: FaceMeasures
    frame_shapes: tuple[str, ...]
    """Frame shapes that suit, best first."""
    avoid: tuple[str, ...]
    frame_width_mm: tuple[float, float]
    lens_width_mm: tuple[float, float]
    bridge_mm: tuple[float, float]
    why: str
    tips: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (millimetres to 0.1, shares to 0.01)."""
        m = self.measures
        return {
            "face_shape": self.shape.shape,
            "confidence": round(self.shape.confidence, 2),
            "scores": {k: round(v, 2) for k, v in self.shape.scores.items()},
            "measurements": {
                "face_width_mm": round(m.face_width_mm, 1),
                "cheekbone_width_mm": round(m.cheekbone_width_mm, 1),
                "forehead_width_mm": round(m.forehead_width_mm, 1),
                "jaw_width_mm": round(m.jaw_width_mm, 1),
                "face_length_mm": round(m.face_length_mm, 1),
                "pupil_distance_mm": round(m.pupil_distance_mm, 1),
                "bridge_width_mm": round(m.bridge_width_mm, 1),
            },
            "frame_shapes": list(self.frame_shapes),
            "avoid": list(self.avoid),
            "frame_width_mm": [round(v) for v in self.frame_width_mm],
            "lens_width_mm": [round(v) for v in self.lens_width_mm],
            "bridge_mm": [round(v) for v in self.bridge_mm],
            "why": self.why,
            "tips": list(self.tips),
        }


@dataclass(frozen=True, slots=True)
class AdviceDecision:
    advice: FrameAdvice | None
    reason: str


def _dist(lm: np.ndarray[Any, Any], pair: tuple[int, int]) -> float:
    return float(np.linalg.norm(lm[pair[0]] - lm[pair[1]]))


def face_measures(face: Face, image_size: tuple[int, int]) -> FaceMeasures:
    """The optician's measures of ``face`` in millimetres (see the module docstring)."""
    mm_per_px, ipd_mm = face_scale(face)
    lm = np.asarray(face.landmarks, np.float64)
    if lm.shape != (468, 3) or not np.isfinite(lm).all():
        raise ValueError("a face needs 468 finite landmarks")
    return FaceMeasures(
        face_width_mm=face_width_mm(face, image_size),
        cheekbone_width_mm=_dist(lm, CHEEK) * mm_per_px,
        forehead_width_mm=_dist(lm, FOREHEAD) * mm_per_px,
        jaw_width_mm=_dist(lm, JAW) * mm_per_px,
        chin_width_mm=_dist(lm, CHIN) * mm_per_px,
        face_length_mm=_dist(lm, LENGTH) * mm_per_px,
        pupil_distance_mm=ipd_mm,
        bridge_width_mm=_dist(lm, BRIDGE) * mm_per_px,
    )


def classify(proportions: Mapping[str, float]) -> FaceShape:
    """The face shape of ``proportions`` (``FaceMeasures.proportions``) with its confidence."""
    z = {k: (float(proportions[k]) - AVERAGE[k]) / SPREAD[k] for k in AVERAGE}
    if not all(math.isfinite(v) for v in z.values()):
        raise ValueError("proportions must be finite")
    logs = {
        shape: -0.5 * sum((z[k] - proto[k]) ** 2 for k in AVERAGE) / NOISE**2
        for shape, proto in PROTOTYPES.items()
    }
    top = max(logs.values())
    weights = {s: math.exp(v - top) for s, v in logs.items()}
    total = sum(weights.values())
    scores = {s: w / total for s, w in weights.items()}
    best = max(scores, key=lambda s: scores[s])
    return FaceShape(best, scores[best], dict(sorted(scores.items(), key=lambda kv: -kv[1])))


def frame_advice(measures: FaceMeasures, shape: FaceShape) -> FrameAdvice:
    """Frame shapes and sizes that suit a face of ``shape`` and ``measures`` (pure)."""
    suits, avoid, why = SUITS[shape.shape]
    width = measures.face_width_mm
    # A frame as wide as the face at the temples (fit.py), give or take the iris scale's 4 %.
    frame = (width * 0.96, width * 1.04)
    bridge = (max(measures.bridge_width_mm - 2.0, 12.0), measures.bridge_width_mm + 3.0)
    # The pupils near the lens centres: lens width + bridge (the frame's "PD") from the
    # shopper's pupil distance to 8 mm more (opticians' rule of thumb, docs/ml.md).
    mid_bridge = (bridge[0] + bridge[1]) / 2
    lens = (measures.pupil_distance_mm - mid_bridge, measures.pupil_distance_mm - mid_bridge + 8)
    tips = (
        f"Frames about {frame[0]:.0f}-{frame[1]:.0f} mm wide span your face from temple to temple.",
        f"A bridge of {bridge[0]:.0f}-{bridge[1]:.0f} mm and lenses of {lens[0]:.0f}-"
        f"{lens[1]:.0f} mm keep your eyes near the centre of each lens.",
    )
    return FrameAdvice(
        shape=shape,
        measures=measures,
        frame_shapes=suits,
        avoid=avoid,
        frame_width_mm=frame,
        lens_width_mm=lens,
        bridge_mm=bridge,
        why=why,
        tips=tips,
    )


def decide(analysis: Analysis) -> AdviceDecision:
    """Advice for the largest face in ``analysis``, or None with the reason there is none."""
    if not analysis.faces:
        return AdviceDecision(None, "no face found to measure")
    face = max(analysis.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    if abs(float(face.head_pose.yaw)) > MAX_YAW or abs(float(face.head_pose.pitch)) > MAX_PITCH:
        return AdviceDecision(None, "the face is turned too far to read its shape")
    try:
        measures = face_measures(face, (analysis.width, analysis.height))
    except ValueError as exc:
        return AdviceDecision(None, str(exc))
    values = [getattr(measures, n) for n in measures.__dataclass_fields__]
    if not all(math.isfinite(v) and v > 0 for v in values):
        return AdviceDecision(None, "the face could not be measured")
    if not 90.0 <= measures.cheekbone_width_mm <= 200.0:
        return AdviceDecision(
            None, f"the measured face width ({measures.cheekbone_width_mm:.0f} mm) is implausible"
        )
    shape = classify(measures.proportions())
    return AdviceDecision(frame_advice(measures, shape), "")


def advise(analysis: Analysis) -> dict[str, Any] | None:
    """``decide`` as JSON-ready data, or None."""
    decision = decide(analysis)
    return decision.advice.to_json() if decision.advice else None


# --- frames -----------------------------------------------------------------------------------


def frame_shape(lenses: Sequence[Sequence[Sequence[float]]]) -> str | None:
    """The shape of a frame from its lens outlines (a prepared eyewear asset's ``lenses``,
    image pixels), or None without two usable lenses.

    Per lens: its box's width over height, how much of the box it fills (a rectangle 1, an
    ellipse 0.79), and how the top and bottom edges slope from the nose side to the outer
    side (a cat-eye's top rises outwards; an aviator's teardrop drops towards the nose),
    averaged over both lenses. The outlines are coarse polygons (16-21 points on the demo
    frames), so slopes under about 5 % of the lens height are noise; the thresholds were set
    on the six demo frames (docs/ml.md), and a merchant's tag (``FRAME_SHAPES``) overrides."""
    # Plain Python: outlines are a few dozen points, where numpy's per-call cost dominates
    # (a catalog of 300 frames reads in 10 ms instead of 500).
    usable: list[list[tuple[float, float]]] = []
    for poly in lenses:
        try:
            points = [(float(p[0]), float(p[1])) for p in poly if len(p) == 2]
        except (TypeError, ValueError):
            continue
        if (
            len(points) >= 3
            and len(points) == len(poly)
            and all(math.isfinite(x) and math.isfinite(y) for x, y in points)
        ):
            usable.append(points)
    if len(usable) < 2:
        return None
    usable.sort(key=lambda p: sum(x for x, _ in p) / len(p))
    features = [_lens_features(p, outer_left=i == 0) for i, p in enumerate(usable[:2])]
    if features[0] is None or features[1] is None:
        return None
    aspect, fill, top_rise, bottom_drop = ((features[0][k] + features[1][k]) / 2 for k in range(4))
    if top_rise > 0.06 and aspect >= 1.15:
        return "cat-eye"
    if bottom_drop > 0.05:
        return "aviator"
    if fill >= 0.86:
        return "rectangular" if aspect >= 1.3 else "square"
    return "oval" if aspect >= 1.2 else "round"


def _lens_features(
    poly: list[tuple[float, float]], *, outer_left: bool
) -> tuple[float, float, float, float] | None:
    xs = [x for x, _ in poly]
    ys = [y for _, y in poly]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    w, h = x1 - x0, y1 - y0
    if w <= 1 or h <= 1:
        return None
    n = len(poly)
    area = 0.5 * abs(sum(xs[k] * ys[k - 1] - ys[k] * xs[k - 1] for k in range(n)))
    across = [(x - x0) / w for x in xs]
    outer = [y for a, y in zip(across, ys, strict=True) if (a < 0.2 if outer_left else a > 0.8)]
    inner = [y for a, y in zip(across, ys, strict=True) if (a > 0.8 if outer_left else a < 0.2)]
    if not outer or not inner:
        return None
    # y grows downwards: the top rises outwards when the outer top has the smaller y.
    top_rise = (min(inner) - min(outer)) / h
    bottom_drop = (max(inner) - max(outer)) / h
    return (w / h, area / (w * h), top_rise, bottom_drop)


def colour_name(bgr: Sequence[float]) -> str:
    """A coarse colour family of a frame's material colour (BGR), for similarity."""
    b, g, r = (float(v) for v in bgr[:3])
    hi, lo = max(r, g, b), min(r, g, b)
    if hi < 60:
        return "black"
    if hi - lo < 25:
        return "grey" if hi < 200 else "white"
    if r >= g >= b and r - b > 60 and g > 0.55 * r and hi > 140:
        return "gold" if g > 0.7 * r else "brown"
    if r >= g and r >= b:
        return "red" if g < 0.55 * r else "brown"
    if g >= r and g >= b:
        return "green"
    return "blue"
