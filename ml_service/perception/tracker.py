"""Video tracking: crop from the previous frame, detect only when needed, smooth.

One ``FaceTracker`` per stream; it keeps per-stream state and is not thread-safe (the shared
``Perceiver`` under it is). Each frame: faces are re-cropped from their previous landmarks;
a face whose presence falls below the threshold is dropped; when none is left the detector
runs on this same frame, and while fewer than ``max_faces`` are tracked it also runs every
``track_redetect_s`` seconds of stream time, so a face entering the picture is picked up.

The iris model runs on a face's first frame, then at least every ``track_iris_every`` frames
and whenever the eyes changed (eyelids moved, head turned; ``iris.eye_change``); in between
the iris centres follow the eye corners of the face mesh with the offset of the last run
(``iris.IrisAnchor``), and the next run's measurement takes over gradually (``_blend``).
Landmarks, iris centres and the body are smoothed with One Euro filters (speed relative to
the face size), and head pose is solved on the smoothed points.
The next crop comes from the raw landmarks, so smoothing never makes tracking lag.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ml_service.perception import face_mesh, iris, pose
from ml_service.perception.filters import OneEuroFilter
from ml_service.perception.geometry import Roi
from ml_service.perception.perceiver import Perceiver, Timer, build_face, check_image
from ml_service.perception.ssd import Detection
from ml_service.types import Analysis, Body, Face

Image = NDArray[np.uint8]

# Face smoothing (docs/ml.md, "Smoothing"): MediaPipe's min_cutoff and beta with a faster
# speed estimate (d_cutoff 2 Hz instead of 1), chosen on a measured jitter / lag sweep
# (scripts/ml/smoothing_report.py): the worst lag on fast motion drops by about 40% for a
# little more jitter at rest.
FACE_MIN_CUTOFF_HZ = 0.05
FACE_BETA = 80.0
FACE_D_CUTOFF_HZ = 2.0


def face_filter() -> OneEuroFilter:
    return OneEuroFilter(min_cutoff=FACE_MIN_CUTOFF_HZ, beta=FACE_BETA, d_cutoff=FACE_D_CUTOFF_HZ)


@dataclass(slots=True)
class _Track:
    roi: Roi
    landmarks: OneEuroFilter = field(default_factory=face_filter)
    irises: OneEuroFilter = field(default_factory=face_filter)
    iris_anchor: iris.IrisAnchor | None = None
    frames_since_iris: int = 0
    age: int = 0  # frames this face has been tracked
    # What the iris centres still owe to the carried estimate after a new measurement
    # (right, left; pixels), fading out (see ``_blend``).
    iris_residual: NDArray[np.float64] | None = None
    seen_at: float = 0.0


@dataclass(slots=True)
class _BodyTrack:
    roi: Roi
    landmarks: OneEuroFilter = field(
        default_factory=lambda: OneEuroFilter(min_cutoff=0.1, beta=40.0)
    )


class FaceTracker:
    """Tracks up to ``max_faces`` faces (and, with ``bodies``, one body) across frames.

    ``faces=False`` tracks the body alone; ``iris_landmarks=False`` skips the iris model
    (iris centres then come from the eye corners, as in photo mode); ``iris_every`` overrides
    the ``track_iris_every`` setting (1 runs the iris model on every frame).
    """

    def __init__(
        self,
        perceiver: Perceiver,
        *,
        max_faces: int = 1,
        bodies: bool = False,
        faces: bool = True,
        iris_landmarks: bool = True,
        iris_every: int | None = None,
    ) -> None:
        settings = perceiver.settings
        self.perceiver = perceiver
        self.max_faces = max_faces
        self.track_bodies = bodies
        self.track_faces = faces
        self.iris_landmarks = iris_landmarks
        self.iris_every = max(1, iris_every or settings.track_iris_every)
        self.iris_change = settings.track_iris_change
        self.redetect_s = settings.track_redetect_s
        self._faces: list[_Track] = []
        self._body: _BodyTrack | None = None
        self._detected_at: float | None = None
        self.detections = 0  # how often the face detector ran (observability, tests)
        self.body_detections = 0
        self.iris_runs = 0  # faces the iris model ran on

    def reset(self) -> None:
        self._faces = []
        self._body = None
        self._detected_at = None

    def process(self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None) -> Analysis:
        """Analyse one frame of the stream; ``timestamp_s`` drives smoothing and re-detection."""
        started = time.perf_counter()
        t = time.monotonic() if timestamp_s is None else float(timestamp_s)
        timer = Timer({})
        with timer.stage("decode"):
            image = check_image(frame_bgr, max_pixels=self.perceiver.settings.max_image_pixels)
        faces = self._track_faces(image, t, timer) if self.track_faces else []
        bodies: list[Body] = []
        if self.track_bodies:
            with timer.stage("pose"):
                bodies = self._track_body(image, t, faces)
        timer.timings["total"] = (time.perf_counter() - started) * 1000.0
        h, w = image.shape[:2]
        return Analysis(width=w, height=h, faces=faces, bodies=bodies, timings_ms=timer.timings)

    # -- faces ------------------------------------------------------------------------------

    def _detection_due(self, t: float) -> bool:
        if not self._faces or self._detected_at is None:
            return True
        if len(self._faces) >= self.max_faces:
            return False
        # A timestamp going backwards (a new stream, a reordered frame) also triggers it.
        return t - self._detected_at >= self.redetect_s or t < self._detected_at

    def _detect(self, image: Image, t: float, timer: Timer) -> None:
        """Run the detector and start a track for each face not tracked yet."""
        with timer.stage("detect"):
            detections = self.perceiver.detect_faces(image, bgr=True)
        self.detections += 1
        self._detected_at = t
        for detection in detections:
            if len(self._faces) >= self.max_faces:
                break
            if not any(_same_face(detection, track.roi) for track in self._faces):
                self._faces.append(_Track(face_mesh.roi_from_detection(detection)))

    def _landmarks(
        self, image: Image, timer: Timer
    ) -> list[tuple[_Track, NDArray[np.float32], float]]:
        with timer.stage("landmarks"):
            meshes = self.perceiver.face_landmarks(
                image, [track.roi for track in self._faces], bgr=True
            )
        threshold = self.perceiver.settings.face_presence_threshold
        return [
            (track, mesh, presence)
            for track, (mesh, presence) in zip(self._faces, meshes, strict=True)
            if presence >= threshold
        ]

    def _track_faces(self, image: Image, t: float, timer: Timer) -> list[Face]:
        detected = False
        if self._detection_due(t):
            self._detect(image, t, timer)
            detected = True
        alive = self._landmarks(image, timer)
        if not alive and not detected:  # every face lost: look again in this same frame
            self._faces = []
            self._detect(image, t, timer)
            alive = self._landmarks(image, timer)
        alive = _drop_duplicates(alive)
        self._faces = [track for track, _, _ in alive]
        if not alive:
            return []
        pairs = self._irises(image, alive, timer, t)
        h, w = image.shape[:2]
        faces = []
        with timer.stage("smooth"):
            for (track, mesh, presence), pair in zip(alive, pairs, strict=True):
                track.roi = face_mesh.roi_from_landmarks(mesh)
                scale = track.roi.width / face_mesh.ROI_SCALE
                smooth = track.landmarks(mesh, t, scale=scale)
                smoothed_pair = None
                if pair is not None:
                    right, left = pair
                    centres = track.irises(np.stack([right.centre, left.centre]), t, scale=scale)
                    smoothed_pair = (
                        iris.Iris(centres[0], right.diameter_px),
                        iris.Iris(centres[1], left.diameter_px),
                    )
                faces.append(build_face(smooth, presence, smoothed_pair, width=w, height=h))
        return faces

    def _irises(
        self,
        image: Image,
        alive: list[tuple[_Track, NDArray[np.float32], float]],
        timer: Timer,
        t: float,
    ) -> list[tuple[iris.Iris, iris.Iris] | None]:
        """Measured irises where due (one batch), predicted from the anchor elsewhere; a new
        measurement takes over from the carried estimate gradually (``_blend``)."""
        if not self.iris_landmarks:
            return [None] * len(alive)
        for track, _, _ in alive:
            track.age += 1
        # A face's first mesh comes from the detector's crop and differs slightly from the
        # meshes of the crops that follow: anchor again on its second frame.
        due = [
            i
            for i, (track, mesh, _) in enumerate(alive)
            if track.iris_anchor is None
            or track.age <= 2
            or track.frames_since_iris + 1 >= self.iris_every
            or iris.eye_change(track.iris_anchor, mesh) > self.iris_change
        ]
        pairs: list[tuple[iris.Iris, iris.Iris] | None] = [None] * len(alive)
        fades = [_fade(track, t) for track, _, _ in alive]
        owed = [residual for residual, _ in fades]  # still owed from earlier runs
        if due:
            with timer.stage("iris"):
                measured = self.perceiver.irises(image, [alive[i][1] for i in due], bgr=True)
            self.iris_runs += len(due)
            for i, pair in zip(due, measured, strict=True):
                track, mesh, _ = alive[i]
                # Only a carried estimate needs handing over (not two measurements in a row).
                if track.iris_anchor is not None and track.age > 2 and track.frames_since_iris:
                    carried = _centres(iris.predict_irises(track.iris_anchor, mesh))
                    residual = carried + owed[i] - _centres(pair)
                    eyes = float(np.linalg.norm(mesh[33, :2] - mesh[263, :2]))
                    # A large correction fixes a carried estimate gone wrong: at once. A
                    # small one starts now: this frame already moves 1 - decay of the way.
                    small = np.linalg.norm(residual, axis=1) < IRIS_HANDOVER_MAX * eyes
                    owed[i] = residual * small[:, None] * fades[i][1]
                else:
                    owed[i] = np.zeros((2, 2))
                track.iris_residual = owed[i]
                track.iris_anchor = iris.anchor_irises(mesh, pair)
                track.frames_since_iris = 0
                pairs[i] = pair
        for i, (track, mesh, _) in enumerate(alive):
            found = pairs[i]
            if found is None and track.iris_anchor is not None:
                track.frames_since_iris += 1
                found = iris.predict_irises(track.iris_anchor, mesh)
            pairs[i] = None if found is None else _blend(found, owed[i])
        return pairs

    # -- body -------------------------------------------------------------------------------

    def _track_body(self, image: Image, t: float, faces: list[Face]) -> list[Body]:
        """The body of the tracked face (the first), or of the most confident person when
        no face is tracked. A body that stops matching the face's head (the crop slid onto
        someone beside them) is dropped and found again from the face."""
        settings = self.perceiver.settings
        h, w = image.shape[:2]
        face = faces[0] if faces else None
        result = None
        if self._body is not None:
            result = self.perceiver.run_pose(image, [self._body.roi], bgr=True)[0]
            if result.presence < settings.pose_presence_threshold or not _belongs(result, face):
                self._body, result = None, None
        if result is None:  # lost or never found: the person detector, as in photo mode
            seeds = self.perceiver.body_seeds(image, [], "detector", bgr=True)
            if face is not None:
                # The tracked face's own body: seeded below it (found even when the
                # detector misses that person), refined once from its auxiliary points.
                seeds.append(
                    pose.roi_below_face(face.box, np.stack([face.iris_right, face.iris_left]))
                )
            else:
                seeds = seeds[:1]
            self.body_detections += 1
            threshold = settings.pose_presence_threshold
            everyone = self.perceiver.run_pose(image, seeds, bgr=True)
            raw = [r for r in everyone if r.presence >= threshold]
            results = [r for r in raw if _belongs(r, face)]
            own = everyone[-1] if face is not None and everyone else None
            if own is not None and not results and own.presence >= threshold:
                # The face's seed is a guess: one refinement from its own auxiliary points.
                refined = self.perceiver.run_pose(
                    image, [pose.roi_from_auxiliary(own.auxiliary)], bgr=True
                )
                results = [r for r in refined if r.presence >= threshold and _belongs(r, face)]
            if not results:
                return []
            result = min(results, key=lambda r: _match(r, face) - r.presence)
        next_roi = pose.roi_from_auxiliary(result.auxiliary)
        if self._body is None:
            self._body = _BodyTrack(next_roi)
        self._body.roi = next_roi
        landmarks = self._body.landmarks(
            result.landmarks, t, scale=max(pose.torso_size(result.landmarks), 1.0)
        )
        return [Body(landmarks=landmarks, mask=pose.person_mask(result, (h, w)))]


def _match(result: pose.PoseResult, face: Face | None) -> float:
    if face is None:
        return 0.0
    return pose.head_match_cost(face.landmarks, result.landmarks)


def _belongs(result: pose.PoseResult, face: Face | None) -> bool:
    """Whether a pose result is the tracked face's body (any body when no face is tracked)."""
    return _match(result, face) <= pose.HEAD_MATCH_MAX


IRIS_HANDOVER_S = 0.05  # time constant of a new iris measurement taking over
IRIS_HANDOVER_MAX = 0.015  # larger corrections (of the eye distance) apply at once


def _centres(pair: tuple[iris.Iris, iris.Iris]) -> NDArray[np.float64]:
    return np.stack([pair[0].centre, pair[1].centre]).astype(np.float64)


def _fade(track: _Track, t: float) -> tuple[NDArray[np.float64], float]:
    """What the iris centres still owe to the previous estimate at time ``t``, and the decay
    factor since the last frame (once per frame: the time is remembered)."""
    dt = max(t - track.seen_at, 0.0)
    track.seen_at = t
    decay = float(np.exp(-dt / IRIS_HANDOVER_S))
    if track.iris_residual is None:
        return np.zeros((2, 2)), decay
    track.iris_residual = track.iris_residual * decay
    return track.iris_residual, decay


def _blend(
    pair: tuple[iris.Iris, iris.Iris], owed: NDArray[np.float64]
) -> tuple[iris.Iris, iris.Iris]:
    """The iris centres plus what is still owed to the previous estimate: a new measurement
    moves the centres over a few frames instead of in one jump (the carried estimate and the
    model differ by 0.2-0.7% of the eye distance, a visible jerk every few frames)."""
    if not owed.any():
        return pair
    right, left = pair
    return (
        iris.Iris((right.centre + owed[0]).astype(np.float32), right.diameter_px),
        iris.Iris((left.centre + owed[1]).astype(np.float32), left.diameter_px),
    )


def _same_face(detection: Detection, roi: Roi) -> bool:
    """A detection lies on a tracked face: its centre within half a face of the track's."""
    x0, y0, x1, y1 = detection.box
    face = max(x1 - x0, y1 - y0, roi.width / face_mesh.ROI_SCALE)
    return bool(np.hypot((x0 + x1) / 2 - roi.cx, (y0 + y1) / 2 - roi.cy) < 0.5 * face)


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
