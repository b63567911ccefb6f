"""Compare our perception with the MediaPipe reference fixture (used by tests and reports)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "ml_service"
    / "fixtures"
    / "mediapipe_reference.json"
)


FULL_RANGE_FIXTURE = FIXTURE.with_name("mediapipe_full_range.json")


def load_fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())["results"]


def load_full_range_fixture() -> dict[str, Any]:
    """MediaPipe's FaceDetection with model_selection=1 on every test photo and variant."""
    return json.loads(FULL_RANGE_FIXTURE.read_text())["results"]


@dataclass
class DetectionMatch:
    reference: int
    ours: int
    matched: int
    box_errors: list[float]  # largest box-corner distance / reference box width, per match
    keypoint_errors: list[float]  # largest keypoint distance / reference box width
    score_diffs: list[float]  # |our score - MediaPipe's|
    marginal: int  # reference detections within 0.05 of the 0.5 threshold


def compare_detections(reference: dict[str, Any], detections: list[Any]) -> DetectionMatch:
    """Our detections (``ssd.Detection``) against MediaPipe's, matched by nearest box."""
    refs = reference["detections"]
    used: set[int] = set()
    box_errors, keypoint_errors, score_diffs = [], [], []
    for ref in refs:
        box = np.asarray(ref["box"], dtype=np.float64)
        width = max(box[2] - box[0], 1e-6)
        best, best_err = None, np.inf
        for i, det in enumerate(detections):
            if i in used:
                continue
            err = float(np.abs(np.asarray(det.box) - box).max()) / width
            if err < best_err:
                best, best_err = i, err
        if best is None or best_err > 0.5:
            continue
        used.add(best)
        box_errors.append(best_err)
        points = np.asarray(ref["keypoints"], dtype=np.float64)
        ours = np.asarray(detections[best].keypoints, dtype=np.float64)
        keypoint_errors.append(float(np.linalg.norm(ours - points, axis=1).max()) / width)
        score_diffs.append(abs(float(detections[best].score) - float(ref["score"])))
    marginal = sum(abs(ref["score"] - 0.5) < 0.05 for ref in refs)
    return DetectionMatch(
        len(refs),
        len(detections),
        len(box_errors),
        box_errors,
        keypoint_errors,
        score_diffs,
        marginal,
    )


@dataclass
class FaceMatch:
    reference_faces: int
    our_faces: int
    matched: int
    errors_iod: list[float]  # mean landmark distance / inter-ocular distance, per matched face
    iris_errors_iod: list[float]


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the outer eye corners (33, 263), in 3D when z is given: the 2D
    distance collapses on a face in profile, the anatomical one does not."""
    return float(np.linalg.norm(points[33] - points[263]))


def compare_faces(reference: dict[str, Any], faces: list[Any]) -> FaceMatch:
    refs = [np.asarray(f, dtype=np.float64) for f in reference["faces"]]
    ref_irises = reference.get("irises", [])
    ours = [np.asarray(f.landmarks[:, :2], dtype=np.float64) for f in faces]
    refs_2d = [ref[:, :2] for ref in refs]
    used: set[int] = set()
    errors, iris_errors = [], []
    for r_index, ref in enumerate(refs):
        iod = inter_ocular(ref)
        best, best_err = None, np.inf
        for i, mine in enumerate(ours):
            if i in used:
                continue
            err = float(np.linalg.norm(mine - refs_2d[r_index], axis=1).mean())
            if err < best_err:
                best, best_err = i, err
        if best is None or best_err > 0.5 * iod:
            continue
        used.add(best)
        errors.append(best_err / iod)
        if r_index < len(ref_irises):
            face = faces[best]
            ref_right, ref_left = (np.asarray(p) for p in ref_irises[r_index])
            iris_errors.append(
                max(
                    float(np.linalg.norm(face.iris_right - ref_right)),
                    float(np.linalg.norm(face.iris_left - ref_left)),
                )
                / iod
            )
    return FaceMatch(len(refs), len(faces), len(errors), errors, iris_errors)


def torso(points: np.ndarray) -> float:
    shoulders = points[[11, 12], :2].mean(axis=0)
    hips = points[[23, 24], :2].mean(axis=0)
    return float(np.linalg.norm(shoulders - hips))


@dataclass
class BodyMatch:
    mean: float  # mean distance of the visible reference landmarks / torso
    max: float  # the worst visible landmark / torso


def compare_body(
    reference: dict[str, Any], bodies: list[Any], *, min_visibility: float = 0.5
) -> BodyMatch | None:
    """Our best-matching body against MediaPipe's, over its visible landmarks."""
    if reference["body"] is None:
        return None
    ref = np.asarray(reference["body"], dtype=np.float64)
    visible = ref[:, 2] >= min_visibility
    size = torso(ref)
    best: BodyMatch | None = None
    for body in bodies:
        err = np.linalg.norm(body.landmarks[:, :2] - ref[:, :2], axis=1)[visible] / size
        match = BodyMatch(float(err.mean()), float(err.max()))
        if best is None or match.mean < best.mean:
            best = match
    return best
