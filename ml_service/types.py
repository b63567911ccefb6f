"""Result types shared by perception, rendering and the facade (the ML service's contract).

Coordinates are pixels of the input image, x to the right, y down. Arrays are float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Head orientation in degrees (yaw +: the subject turns to their left, i.e. image right;
    pitch +: chin up; roll +: clockwise in the image), relative to the line of sight from the
    camera to the face: 0, 0, 0 is a face looking into the camera, upright, wherever it is in
    the picture. ``rotation = Rz(roll) Ry(yaw) Rx(pitch)`` composed with the turn from the
    camera's axis to that line (``perception.head_pose``), plus the translation, for
    renderers that project 3D points (OpenCV camera axes; head frame: x to the subject's left,
    y down, z into the head)."""

    yaw: float
    pitch: float
    roll: float
    rotation: FloatArray  # 3x3, head frame -> camera axes
    translation: FloatArray  # 3, cm: the canonical face's origin, eyes at f * mm_per_px
    camera_matrix: FloatArray  # 3x3, the intrinsics assumed for the image


@dataclass(frozen=True, slots=True)
class Glasses:
    """The shopper's own glasses, as seen around the eyes (``perception.glasses``)."""

    present: bool
    score: float  # 0..1, the evidence (edges at the bridge and under the eyes)
    dark: bool  # tinted lenses (sunglasses): the eyes behind them are not visible


@dataclass(frozen=True, slots=True)
class Face:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float
    landmarks: FloatArray  # 468 x 3; z in the same pixel scale as x (relative depth)
    iris_left: FloatArray  # 2; the subject's left eye (image right when not mirrored)
    iris_right: FloatArray  # 2
    iris_diameter_px: float
    head_pose: HeadPose
    ipd_mm: float
    mm_per_px: float  # from the iris size (11.7 mm), at the eye plane
    # Photo mode only (None in tracking): how open the eyes are (lid gap / eye width, the
    # smaller eye; about 0.25-0.35 open, under 0.1 closed) and the shopper's own glasses.
    eye_openness: float | None = None
    glasses: Glasses | None = None


FaceProblem = Literal["face-too-small", "face-turned-away"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A face the detector found that could not be measured, and why."""

    box: tuple[float, float, float, float]
    score: float
    reason: FaceProblem


@dataclass(frozen=True, slots=True)
class Body:
    landmarks: FloatArray  # 33 x 4: x, y, z, visibility (0..1)
    mask: FloatArray | None = None  # H x W in [0, 1], person probability, image size


@dataclass(frozen=True, slots=True)
class Analysis:
    width: int
    height: int
    faces: list[Face] = field(default_factory=list)
    bodies: list[Body] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)  # photo mode: faces not measured
