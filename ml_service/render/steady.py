"""Steadiness across video frames for what perception does not smooth: the face's scale.

The tracker smooths landmarks and iris centres, but the iris *diameter* (hence millimetres
per pixel) comes fresh from each frame and wobbles by about 1 % frame to frame, which makes a
frame breathe by a pixel or two. A person's pupil distance in millimetres does not change, so
each tracked face keeps the median of its recent measures and the scale of every frame is
derived from it and the smoothed pupils: steady at rest, and still following the distance to
the camera at once (through the pupils' pixel distance). Not thread-safe (one per stream).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from ml_service.types import Face

WINDOW = 45  # frames of pupil-distance measures kept per face (1.5 s at 30 FPS)
PLAUSIBLE_IPD_MM = (45.0, 80.0)
MAX_YAW_DEG = 60.0


@dataclass
class _Track:
    centre: np.ndarray  # pupils' midpoint in the last frame (pixels)
    ipd_px: float
    measures: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))


def frontal_ipd_px(face: Face) -> float:
    """The pupils' pixel distance as it would be seen frontally (perception's own rule)."""
    seen = float(np.linalg.norm(np.asarray(face.iris_left) - np.asarray(face.iris_right)))
    return seen / max(float(np.cos(np.radians(min(abs(face.head_pose.yaw), MAX_YAW_DEG)))), 0.5)


class ScaleSteadier:
    """Replaces each face's pupil distance by the median over its track, and its scale by
    that distance over the frame's own pupil pixel distance."""

    def __init__(self) -> None:
        self._tracks: list[_Track] = []

    def reset(self) -> None:
        self._tracks = []

    def __call__(self, faces: list[Face]) -> list[Face]:
        tracks: list[_Track] = []
        out: list[Face] = []
        free = list(self._tracks)
        for face in faces:
            centre = (np.asarray(face.iris_left) + np.asarray(face.iris_right)) / 2.0
            ipd_px = frontal_ipd_px(face)
            track = _nearest(free, centre, ipd_px)
            if track is None:
                track = _Track(centre=centre, ipd_px=ipd_px)
            else:
                free.remove(track)
                track.centre, track.ipd_px = centre, ipd_px
            lo, hi = PLAUSIBLE_IPD_MM
            if np.isfinite(face.ipd_mm) and lo <= face.ipd_mm <= hi:
                track.measures.append(float(face.ipd_mm))
            tracks.append(track)
            if not track.measures or ipd_px <= 1.0:
                out.append(face)  # nothing steadier to offer: the renderer's fallbacks apply
                continue
            ipd_mm = float(np.median(track.measures))
            out.append(replace(face, ipd_mm=ipd_mm, mm_per_px=ipd_mm / ipd_px))
        self._tracks = tracks  # faces not seen in this frame are forgotten
        return out


def _nearest(tracks: list[_Track], centre: np.ndarray, ipd_px: float) -> _Track | None:
    """The track this face continues: its pupils moved less than half a pupil distance and
    its size changed by less than a quarter (else it is someone else)."""
    best, best_d = None, 0.5 * ipd_px
    for track in tracks:
        d = float(np.linalg.norm(track.centre - centre))
        if d < best_d and abs(track.ipd_px - ipd_px) < 0.25 * max(track.ipd_px, 1.0):
            best, best_d = track, d
    return best
