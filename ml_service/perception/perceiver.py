"""The perception pipeline: faces (landmarks, iris, head pose, pupil distance) and bodies.

``Perceiver`` is built once per process and shared: it holds only the backend (thread-safe)
and settings, so ``analyze`` may run on several threads at once. Live video uses one
``FaceTracker`` per stream (``Perceiver.tracker()``), which is not thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.backends import InferenceBackend, create_backend
from ml_service.errors import InvalidImage
from ml_service.models.catalog import (
    FACE_DETECTOR,
    FACE_DETECTOR_FULL,
    FACE_LANDMARKS,
    IRIS_LANDMARKS,
    POSE_DETECTOR,
    POSE_LANDMARKS,
    ModelSpec,
)
from ml_service.perception import (
    face_detection,
    face_mesh,
    glasses,
    head_pose,
    iris,
    pose,
    pose_detection,
    ssd,
)
from ml_service.perception.geometry import F64, Roi, crop, letterbox_roi
from ml_service.perception.ssd import Detection
from ml_service.settings import MLSettings
from ml_service.types import Analysis, Body, Face, Rejection

if TYPE_CHECKING:
    from ml_service.perception.tracker import FaceTracker

Image = NDArray[np.uint8]
BodyCrop = Literal["detector", "face", "full"]
MAX_SIDE = 16384  # a frame's side above this is refused before any work


def to_tensor(
    pixels: Image, value_range: tuple[float, float], *, bgr: bool = False
) -> NDArray[np.float32]:
    """N x H x W x 3 uint8 RGB (or BGR, swapped here) -> float32 in ``value_range``.

    OpenCV swaps the channels and numpy converts in place: about 5x faster than one numpy
    expression on a reversed view, which matters on crops this small.
    """
    lo, hi = value_range
    if bgr:
        n, h, w, c = pixels.shape
        flat = np.ascontiguousarray(pixels).reshape(n * h, w, c)
        swapped = np.asarray(cv2.cvtColor(flat, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        pixels = swapped.reshape(n, h, w, c)
    out = pixels.astype(np.float32)
    out *= np.float32((hi - lo) / 255.0)
    if lo:
        out += np.float32(lo)
    return out


def check_image(image: object, *, max_pixels: int) -> Image:
    """Validate a decoded BGR frame (H x W x 3 uint8, or H x W gray) and return it as BGR."""
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidImage(f"expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidImage(f"expected H x W x 3 (BGR), got shape {image.shape}")
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise InvalidImage("empty image")
    if max(h, w) > MAX_SIDE or h * w > max_pixels:
        from ml_service.errors import ImageTooLarge  # noqa: PLC0415

        raise ImageTooLarge(
            f"{w}x{h} exceeds the cap of {max_pixels} pixels", limit=max_pixels, actual=h * w
        )
    if image.shape[2] == 4:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return np.ascontiguousarray(image)


@dataclass(slots=True)
class Timer:
    timings: dict[str, float]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - start) * 1000.0
            self.timings[name] = self.timings.get(name, 0.0) + elapsed


class Perceiver:
    """Face and body perception on BGR images, over any inference backend."""

    def __init__(self, backend: InferenceBackend, *, settings: MLSettings | None = None) -> None:
        self.backend = backend
        self.settings = settings or MLSettings()

    @classmethod
    def from_settings(cls, settings: MLSettings | None = None) -> Perceiver:
        """Load the models (ONNX Runtime) or connect to Triton, as the settings say."""
        settings = settings or MLSettings()
        return cls(create_backend(settings), settings=settings)

    def __enter__(self) -> Perceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    def tracker(
        self,
        *,
        max_faces: int = 1,
        bodies: bool = False,
        faces: bool = True,
        iris_landmarks: bool = True,
        iris_every: int | None = None,
    ) -> FaceTracker:
        """A video tracker for one stream (see ``FaceTracker``)."""
        from ml_service.perception.tracker import FaceTracker  # noqa: PLC0415

        return FaceTracker(
            self,
            max_faces=max_faces,
            bodies=bodies,
            faces=faces,
            iris_landmarks=iris_landmarks,
            iris_every=iris_every,
        )

    # -- photo mode -------------------------------------------------------------------------

    def analyze(
        self,
        image_bgr: NDArray[np.uint8],
        *,
        faces: bool = True,
        bodies: bool = True,
        iris_landmarks: bool = True,
        masks: bool = True,
        body_crop: BodyCrop = "detector",
        full_range: bool | None = None,
        face_seeded_bodies: bool = True,
    ) -> Analysis:
        """Every face (landmarks, iris, head pose, pupil distance, eyes, own glasses) and
        body (pose, mask).

        ``faces=False`` or ``bodies=False`` skip that work (eyewear needs no body pose);
        ``body_crop`` picks where the body model looks (docs/ml.md: body crop strategy);
        ``full_range`` forces the full-range face detector on or off (default: the
        ``full_range`` setting). Faces too small to measure, or that the landmark model
        does not take for a face (turned away), are listed in ``Analysis.rejected``.
        ``face_seeded_bodies=False`` keeps to the bodies the person detector finds (no body
        looked for below a face no body pairs with), as MediaPipe does.
        """
        started = time.perf_counter()
        timer = Timer({})
        with timer.stage("decode"):
            # The frame stays BGR: only the small model crops are put in RGB order.
            image = check_image(image_bgr, max_pixels=self.settings.max_image_pixels)
        detections: list[Detection] = []
        found: list[Face] = []
        rejected: list[Rejection] = []
        if faces:
            found, rejected, detections = self._photo_faces(
                image, full_range=full_range, timer=timer, iris_landmarks=iris_landmarks
            )
        elif bodies and body_crop == "face":
            with timer.stage("detect"):
                detections = self.detect_faces(image, bgr=True)
        found_bodies: list[Body] = []
        if bodies:
            with timer.stage("pose_detect"):
                seeds = self.body_seeds(image, detections, body_crop, bgr=True)
            with timer.stage("pose"):
                found_bodies = self.bodies_from_seeds(
                    image,
                    seeds,
                    masks=masks,
                    refine=0 if body_crop == "detector" else 1,
                    bgr=True,
                )
                if body_crop == "detector" and found and face_seeded_bodies:
                    found_bodies = self.bodies_for_faces(
                        image, found, found_bodies, masks=masks, bgr=True
                    )
        timer.timings["total"] = (time.perf_counter() - started) * 1000.0
        h, w = image.shape[:2]
        return Analysis(
            width=w,
            height=h,
            faces=found,
            bodies=found_bodies,
            timings_ms=timer.timings,
            rejected=rejected,
        )

    def _wants_full_range(
        self, image: Image, confirmed: list[Detection], full_range: bool | None
    ) -> bool:
        """Whether photo mode runs the full-range detector too: when asked, or (``auto``)
        unless a short-range face the landmark model confirmed is at least
        ``full_range_skip_ratio`` of the frame's long side wide (a selfie or portrait)."""
        if full_range is not None:
            return full_range
        mode = self.settings.full_range
        if mode != "auto":
            return mode == "always"
        long_side = float(max(image.shape[:2]))
        limit = self.settings.full_range_skip_ratio * long_side
        return not any(d.box[2] - d.box[0] >= limit for d in confirmed)

    def _meshes(
        self, image: Image, detections: list[Detection], *, refine: bool
    ) -> list[tuple[NDArray[np.float32], float]]:
        """Landmarks and presence per detection; ``refine``: once more from the first pass's
        landmarks (full-range boxes are coarser; the crop is up-sampled to 192 x 192 however
        small the face, as every crop is)."""
        if not detections:
            return []
        meshes = self.face_landmarks(
            image, [face_mesh.roi_from_detection(d) for d in detections], bgr=True
        )
        threshold = self.settings.face_presence_threshold
        again = [i for i, (_, presence) in enumerate(meshes) if refine and presence >= threshold]
        if again:
            rois = [face_mesh.roi_from_landmarks(meshes[i][0]) for i in again]
            for i, result in zip(again, self.face_landmarks(image, rois, bgr=True), strict=True):
                meshes[i] = result
        return meshes

    def _photo_faces(
        self, image: Image, *, full_range: bool | None, timer: Timer, iris_landmarks: bool
    ) -> tuple[list[Face], list[Rejection], list[Detection]]:
        """Photo mode's faces: the short-range detector, plus the full-range one (groups,
        half-body shots, faces far from the camera; ``_wants_full_range``).

        A full-range face overlapping a short-range one (IoU > 0.3) is the same face: the
        short-range box is kept, as MediaPipe's FaceMesh would crop it. Faces narrower than
        ``min_face_px`` are rejected as too small before any landmark work; detections the
        landmark model does not take for a face as turned away. Returns the faces (largest
        first, at most ``max_faces``), the rejections and every detection.
        """
        minimum = self.settings.min_face_px

        def split(found: list[Detection]) -> tuple[list[Detection], list[Detection]]:
            return (
                [d for d in found if d.box[2] - d.box[0] >= minimum],
                [d for d in found if d.box[2] - d.box[0] < minimum],
            )

        with timer.stage("detect"):
            near = self.detect_faces(image, bgr=True)
        near_ok, small = split(near)
        with timer.stage("landmarks"):
            measured = list(zip(near_ok, self._meshes(image, near_ok, refine=False), strict=True))
        threshold = self.settings.face_presence_threshold
        confirmed = [d for d, (_, presence) in measured if presence >= threshold]
        detections = list(near)
        if self._wants_full_range(image, confirmed, full_range):
            with timer.stage("detect"):
                far = [
                    d
                    for d in self.detect_faces_full(image, bgr=True)
                    if all(box_iou(d.box, n.box) <= ssd.IOU_THRESHOLD for n in near)
                ]
            far_ok, far_small = split(far)
            small += far_small
            detections += far
            with timer.stage("landmarks"):
                measured += zip(far_ok, self._meshes(image, far_ok, refine=True), strict=True)
        measured.sort(key=lambda m: -(m[0].box[2] - m[0].box[0]) * (m[0].box[3] - m[0].box[1]))
        measured = measured[: self.settings.max_faces]
        rejected = [Rejection(box=d.box, score=d.score, reason="face-too-small") for d in small]
        rejected += [
            Rejection(box=d.box, score=d.score, reason="face-turned-away")
            for d, (_, presence) in measured
            if presence < threshold
        ]
        kept = [(d, mesh) for d, (mesh, presence) in measured if presence >= threshold]
        pairs: list[tuple[iris.Iris, iris.Iris] | None] = [None] * len(kept)
        if iris_landmarks and kept:
            with timer.stage("iris"):
                pairs = list(self.irises(image, [mesh for _, mesh in kept], bgr=True))
        h, w = image.shape[:2]
        with timer.stage("head_pose"):
            found = [
                build_face(mesh, d.score, pair, width=w, height=h)
                for (d, mesh), pair in zip(kept, pairs, strict=True)
            ]
        with timer.stage("eyes"):
            found = [
                replace(
                    face,
                    eye_openness=round(glasses.eye_openness(face.landmarks), 4),
                    glasses=glasses.detect(image, face.landmarks, yaw=face.head_pose.yaw),
                )
                for face in found
            ]
        return found, rejected, detections

    # -- steps (also used by the tracker) --------------------------------------------------
    # Each takes the frame in RGB order, or BGR with ``bgr=True`` (what ``analyze`` and the
    # tracker pass: swapping the channels of the crops is cheaper than of the whole frame).

    def _run(
        self, model: ModelSpec, crops: list[Image], *, bgr: bool = False
    ) -> dict[str, NDArray[np.float32]]:
        pixels = crops[0][None] if len(crops) == 1 else np.stack(crops)
        return self.backend.infer(model, to_tensor(pixels, model.value_range, bgr=bgr))

    def detect_faces(self, rgb: Image, *, bgr: bool = False) -> list[Detection]:
        h, w = rgb.shape[:2]
        size = FACE_DETECTOR.input_size
        pixels, matrix = crop(rgb, letterbox_roi(w, h), size)
        out = self._run(FACE_DETECTOR, [pixels], bgr=bgr)
        return ssd.postprocess(
            out["regressors"][0],
            out["classificators"][0],
            matrix,
            face_detection.CONFIG,
            threshold=self.settings.face_score_threshold,
            max_count=self.settings.max_faces,
        )

    def detect_faces_full(self, rgb: Image, *, bgr: bool = False) -> list[Detection]:
        """Faces by the full-range detector (192 x 192 letterbox), best first.

        Its candidates are kept from a score of 0.6 (MediaPipe's full-range graph; the
        setting applies above that): with 0.5 the weighted NMS averages in weaker boxes and
        moves the result by up to 12% of its width from MediaPipe's.
        """
        h, w = rgb.shape[:2]
        pixels, matrix = crop(rgb, letterbox_roi(w, h), FACE_DETECTOR_FULL.input_size)
        out = self._run(FACE_DETECTOR_FULL, [pixels], bgr=bgr)
        return ssd.postprocess(
            out["regressors"][0],
            out["classificators"][0],
            matrix,
            face_detection.FULL_RANGE_CONFIG,
            threshold=max(self.settings.face_score_threshold, face_detection.FULL_RANGE_MIN_SCORE),
            max_count=self.settings.max_faces,
        )

    def detect_bodies(self, rgb: Image, *, bgr: bool = False) -> list[Detection]:
        """People (BlazePose detector), best first, at most ``max_bodies``."""
        h, w = rgb.shape[:2]
        pixels, matrix = crop(rgb, letterbox_roi(w, h), POSE_DETECTOR.input_size)
        out = self._run(POSE_DETECTOR, [pixels], bgr=bgr)
        # The score floor applies before the weighted NMS, where every candidate above it
        # moves the merged box: MediaPipe's Pose solution uses its min_detection_confidence
        # (0.5) there, and so do we, to get the same crops.
        return ssd.postprocess(
            out["regressors"][0],
            out["classificators"][0],
            matrix,
            pose_detection.CONFIG,
            threshold=self.settings.pose_score_threshold,
            max_count=self.settings.max_bodies,
        )

    def face_landmarks(
        self, rgb: Image, rois: list[Roi], *, bgr: bool = False
    ) -> list[tuple[NDArray[np.float32], float]]:
        """(468 x 3 landmarks, presence) for each face crop, in one batch."""
        if not rois:
            return []
        crops, matrices = zip(
            *(crop(rgb, roi, FACE_LANDMARKS.input_size, replicate=True) for roi in rois),
            strict=True,
        )
        out = self._run(FACE_LANDMARKS, list(crops), bgr=bgr)
        return [
            (
                face_mesh.decode(out["landmarks"][i], matrices[i]),
                face_mesh.presence(float(out["presence"][i, 0])),
            )
            for i in range(len(rois))
        ]

    def irises(
        self, rgb: Image, meshes: list[NDArray[np.float32]], *, bgr: bool = False
    ) -> list[tuple[iris.Iris, iris.Iris]]:
        """(right, left) iris of each face, all eyes in one batch."""
        if not meshes:
            return []
        crops: list[Image] = []
        matrices: list[F64] = []
        for landmarks in meshes:
            for roi, mirrored in iris.eye_rois(landmarks):
                pixels, matrix = crop(
                    rgb, roi, IRIS_LANDMARKS.input_size, flip=mirrored, replicate=True
                )
                crops.append(pixels)
                matrices.append(matrix)
        out = self._run(IRIS_LANDMARKS, crops, bgr=bgr)
        decoded = [iris.decode(out["iris"][i], matrices[i]) for i in range(len(crops))]
        return [(decoded[2 * i], decoded[2 * i + 1]) for i in range(len(meshes))]

    def faces_from_rois(
        self,
        rgb: Image,
        rois: list[Roi],
        *,
        scores: list[float] | None,
        timer: Timer,
        iris_landmarks: bool = True,
        bgr: bool = False,
    ) -> list[Face]:
        """Landmarks, iris, head pose for each crop; faces whose presence is low are dropped."""
        with timer.stage("landmarks"):
            meshes = self.face_landmarks(rgb, rois, bgr=bgr)
        kept = [
            (mesh, scores[i] if scores else presence)
            for i, (mesh, presence) in enumerate(meshes)
            if presence >= self.settings.face_presence_threshold
        ]
        h, w = rgb.shape[:2]
        irises: list[tuple[iris.Iris, iris.Iris] | None] = [None] * len(kept)
        if iris_landmarks and kept:
            with timer.stage("iris"):
                irises = list(self.irises(rgb, [mesh for mesh, _ in kept], bgr=bgr))
        with timer.stage("head_pose"):
            return [
                build_face(mesh, score, pair, width=w, height=h)
                for (mesh, score), pair in zip(kept, irises, strict=True)
            ]

    def body_seeds(
        self, rgb: Image, faces: list[Detection], body_crop: BodyCrop, *, bgr: bool = False
    ) -> list[Roi]:
        """Where the body model looks (docs/ml.md, body crop strategy).

        ``detector``: the BlazePose detector's body circle, as MediaPipe (the default);
        ``face``: a guess from each face box; ``full``: the letterboxed frame.
        """
        h, w = rgb.shape[:2]
        if body_crop == "detector":
            return [pose_detection.body_roi(d) for d in self.detect_bodies(rgb, bgr=bgr)]
        if body_crop == "face":
            return [pose.roi_from_face(d) for d in faces[: self.settings.max_bodies]]
        return [letterbox_roi(w, h)]

    def run_pose(self, rgb: Image, rois: list[Roi], *, bgr: bool = False) -> list[pose.PoseResult]:
        if not rois:
            return []
        crops, matrices = zip(
            *(crop(rgb, roi, POSE_LANDMARKS.input_size, replicate=True) for roi in rois),
            strict=True,
        )
        out = self._run(POSE_LANDMARKS, list(crops), bgr=bgr)
        return [
            pose.decode(
                out["landmarks"][i],
                float(out["presence"][i, 0]),
                out["segmentation"][i],
                matrices[i],
                heatmap=out["heatmap"][i],
            )
            for i in range(len(rois))
        ]

    def bodies_for_faces(
        self, rgb: Image, faces: list[Face], bodies: list[Body], *, masks: bool, bgr: bool = False
    ) -> list[Body]:
        """``bodies`` plus, for each face none of them belongs to (up to ``max_bodies`` in
        all), the body the pose model finds below that face: the person detector misses
        people in a crowd or half out of the frame, and a body seeded from its face is that
        person's (docs/render.md, "The right person")."""
        room = self.settings.max_bodies - len(bodies)
        missing = sorted(_unpaired(faces, bodies), key=lambda f: -_face_box_area(f))[: max(0, room)]
        if not missing:
            return bodies
        seeds = [pose.roi_below_face(f.box, np.stack([f.iris_right, f.iris_left])) for f in missing]
        found = self.bodies_from_seeds(rgb, seeds, masks=masks, refine=1, bgr=bgr)
        # Keep only a body that is one of those faces' (not someone beside them).
        return bodies + [b for b in found if len(_unpaired(missing, [b])) < len(missing)]

    def bodies_from_seeds(
        self, rgb: Image, seeds: list[Roi], *, masks: bool, refine: int = 0, bgr: bool = False
    ) -> list[Body]:
        """Pose on each seed crop, then ``refine`` times on the crop its auxiliary points give."""
        threshold = self.settings.pose_presence_threshold
        results = [r for r in self.run_pose(rgb, seeds, bgr=bgr) if r.presence >= threshold]
        for _ in range(refine):
            rois = [pose.roi_from_auxiliary(r.auxiliary) for r in results]
            results = [r for r in self.run_pose(rgb, rois, bgr=bgr) if r.presence >= threshold]
        results = dedupe_bodies(results)
        h, w = rgb.shape[:2]
        return [
            Body(landmarks=r.landmarks, mask=pose.person_mask(r, (h, w)) if masks else None)
            for r in results
        ]


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def _unpaired(faces: list[Face], bodies: list[Body]) -> list[Face]:
    """The faces no body's head points fall on (``pose.head_match_cost``)."""
    return [
        f
        for f in faces
        if all(pose.head_match_cost(f.landmarks, b.landmarks) > pose.HEAD_MATCH_MAX for b in bodies)
    ]


def dedupe_bodies(results: list[pose.PoseResult]) -> list[pose.PoseResult]:
    """Drop a body whose centre lies within half a torso of a better one (same person)."""
    kept: list[pose.PoseResult] = []
    for result in sorted(results, key=lambda r: -r.presence):
        centre = result.auxiliary[0]
        if all(
            np.linalg.norm(centre - other.auxiliary[0])
            > 0.5 * max(pose.torso_size(other.landmarks), 1.0)
            for other in kept
        ):
            kept.append(result)
    return kept


def _face_box_area(face: Face) -> float:
    x0, y0, x1, y1 = face.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def build_face(
    landmarks: NDArray[np.float32],
    score: float,
    irises: tuple[iris.Iris, iris.Iris] | None,
    *,
    width: int,
    height: int,
) -> Face:
    """Assemble a ``Face``: box from the landmarks, head pose, iris scale, pupil distance."""
    if irises is None:
        right = landmarks[[33, 133], :2].mean(axis=0)
        left = landmarks[[362, 263], :2].mean(axis=0)
        diameter = 0.0
    else:
        right, left = irises[0].centre, irises[1].centre
        diameter = float(np.mean([irises[0].diameter_px, irises[1].diameter_px]))
    mm_per_px = iris.IRIS_DIAMETER_MM / diameter if diameter > 0 else 0.0
    pose_ = head_pose.estimate(landmarks, width, height, mm_per_px=mm_per_px or None)
    # The pupils' separation shrinks by cos(yaw) in the image; the iris diameter does not
    # (its larger axis is used), so undo the foreshortening, capped at 60 degrees.
    foreshortening = max(float(np.cos(np.radians(pose_.yaw))), 0.5)
    ipd_px = float(np.linalg.norm(left - right)) / foreshortening
    return Face(
        box=(
            float(landmarks[:, 0].min()),
            float(landmarks[:, 1].min()),
            float(landmarks[:, 0].max()),
            float(landmarks[:, 1].max()),
        ),
        score=score,
        landmarks=landmarks,
        iris_left=np.asarray(left, dtype=np.float32),
        iris_right=np.asarray(right, dtype=np.float32),
        iris_diameter_px=diameter,
        head_pose=pose_,
        ipd_mm=ipd_px * mm_per_px,
        mm_per_px=mm_per_px,
    )
