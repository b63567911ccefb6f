"""Video tracking: crop from the previous frame, detect only when tracking is lost, smooth.

One ``FaceTracker`` per stream; it keeps per-stream state and is not thread-safe (the shared
``Perceiver`` under it is). Each frame: faces are re-cropped from their previous landmarks;
a face whose presence falls below the threshold is dropped; when none is left the detector
runs on this same frame. Landmarks, iris centres and the body are smoothed with One Euro
filters (speed relative to the face size), and head pose is solved on the smoothed points.
The next crop comes from the raw landmarks, so smoothing never makes tracking lag.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.perception import face_mesh, pose
from ml_service.perception.filters import OneEuroFilter
from ml_service.perception.geometry import Roi
from ml_service.perception.iris import Iris
from ml_service.perception.perceiver import Perceiver, Timer, build_face, check_image
from ml_service.types import Analysis, Body, Face


@dataclass(slots=True)
class _Track:
    roi: Roi
    landmarks: OneEuroFilter = field(default_factory=OneEuroFilter)
    irises: OneEuroFilter = field(default_factory=OneEuroFilter)


@dataclass(slots=True)
class _BodyTrack:
    roi: Roi
    landmarks: OneEuroFilter = field(
        default_factory=lambda: OneEuroFilter(min_cutoff=0.1, beta=40.0)
    )


class FaceTracker:
    """Tracks up to ``max_faces`` faces (and, with ``bodies``, one body) across frames."""

    def __init__(self, perceiver: Perceiver, *, max_faces: int = 1, bodies: bool = False) -> None:
        self.perceiver = perceiver
        self.max_faces = max_faces
        self.track_bodies = bodies
        self._faces: list[_Track] = []
        self._body: _BodyTrack | None = None
        self.detections = 0  # how often the face detector ran (observability, tests)
        self.body_detections = 0

    def reset(self) -> None:
        self._faces = []
        self._body = None

    def process(self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None) -> Analysis:
        """Analyse one frame of the stream; ``timestamp_s`` drives the smoothing."""
        started = time.perf_counter()
        t = time.monotonic() if timestamp_s is None else float(timestamp_s)
        image = check_image(frame_bgr, max_pixels=self.perceiver.settings.max_image_pixels)
        timer = Timer({})
        with timer.stage("decode"):
            rgb = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        faces = self._track_faces(rgb, t, timer)
        bodies: list[Body] = []
        if self.track_bodies:
            with timer.stage("pose"):
                bodies = self._track_body(rgb, t)
        timer.timings["total"] = (time.perf_counter() - started) * 1000.0
        h, w = image.shape[:2]
        return Analysis(width=w, height=h, faces=faces, bodies=bodies, timings_ms=timer.timings)

    def _detect(self, rgb: NDArray[np.uint8], timer: Timer) -> None:
        with timer.stage("detect"):
            detections = self.perceiver.detect_faces(rgb)[: self.max_faces]
        self.detections += 1
        self._faces = [_Track(face_mesh.roi_from_detection(d)) for d in detections]

    def _track_faces(self, rgb: NDArray[np.uint8], t: float, timer: Timer) -> list[Face]:
        detected = False
        if not self._faces:
            self._detect(rgb, timer)
            detected = True
        with timer.stage("landmarks"):
            meshes = self.perceiver.face_landmarks(rgb, [track.roi for track in self._faces])
        threshold = self.perceiver.settings.face_presence_threshold
        alive = [
            (tr, m, p) for tr, (m, p) in zip(self._faces, meshes, strict=True) if p >= threshold
        ]
        if not alive and not detected:
            self._detect(rgb, timer)
            with timer.stage("landmarks"):
                meshes = self.perceiver.face_landmarks(rgb, [track.roi for track in self._faces])
            alive = [
                (tr, m, p) for tr, (m, p) in zip(self._faces, meshes, strict=True) if p >= threshold
            ]
        alive = _drop_duplicates(alive)
        self._faces = [tr for tr, _, _ in alive]
        if not alive:
            return []
        with timer.stage("iris"):
            irises = self.perceiver.irises(rgb, [m for _, m, _ in alive])
        h, w = rgb.shape[:2]
        faces = []
        with timer.stage("smooth"):
            for (track, mesh, presence), (right, left) in zip(alive, irises, strict=True):
                track.roi = face_mesh.roi_from_landmarks(mesh)
                scale = track.roi.width / face_mesh.ROI_SCALE
                smooth = track.landmarks(mesh, t, scale=scale)
                centres = track.irises(np.stack([right.centre, left.centre]), t, scale=scale)
                pair = (
                    Iris(centres[0], right.diameter_px),
                    Iris(centres[1], left.diameter_px),
                )
                faces.append(build_face(smooth, presence, pair, width=w, height=h))
        return faces

    def _track_body(self, rgb: NDArray[np.uint8], t: float) -> list[Body]:
        settings = self.perceiver.settings
        h, w = rgb.shape[:2]
        result = None
        if self._body is not None:
            result = self.perceiver.run_pose(rgb, [self._body.roi])[0]
            if result.presence < settings.pose_presence_threshold:
                self._body, result = None, None
        if result is None:  # lost or never found: the person detector, as in photo mode
            seeds = self.perceiver.body_seeds(rgb, [], "detector")[:1]
            self.body_detections += 1
            results = self.perceiver.run_pose(rgb, seeds)
            if not results or results[0].presence < settings.pose_presence_threshold:
                return []
            result = results[0]
        next_roi = pose.roi_from_auxiliary(result.auxiliary)
        if self._body is None:
            self._body = _BodyTrack(next_roi)
        self._body.roi = next_roi
        landmarks = self._body.landmarks(
            result.landmarks, t, scale=max(pose.torso_size(result.landmarks), 1.0)
        )
        return [Body(landmarks=landmarks, mask=pose.person_mask(result, (h, w)))]


def _drop_duplicates(
    alive: list[tuple[_Track, NDArray[np.float32], float]],
) -> list[tuple[_Track, NDArray[np.float32], float]]:
    """Two tracks that converged on one face: keep the more confident."""
    kept: list[tuple[_Track, NDArray[np.float32], float]] = []
    for item in sorted(alive, key=lambda a: -a[2]):
        centre = item[1][:, :2].mean(axis=0)
        size = float(np.ptp(item[1][:, 0]))
        if all(np.linalg.norm(centre - k[1][:, :2].mean(axis=0)) > 0.3 * size for k in kept):
            kept.append(item)
    return kept
