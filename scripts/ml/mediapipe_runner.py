"""Run MediaPipe 0.10.21's own Python solutions (inside the 'mediapipe' venv only).

Two modes, both reading images from a directory given on the command line:

  reference DIR OUT.json   landmarks of FaceMesh (468, and refined iris centres), FaceDetection
                           and Pose (33 + visibility), in pixels, for the fidelity fixture
  bench DIR REPEATS        per-image latency of FaceMesh (static and tracking) and Pose with
                           segmentation, one JSON object on stdout

This file imports only MediaPipe, OpenCV and NumPy of that venv, never the project.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

solutions = mp.solutions


def _images(directory: Path) -> list[tuple[str, np.ndarray]]:
    out = []
    for path in sorted(directory.glob("*.png")):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        out.append((path.stem, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    return out


def _points(
    landmarks, w: int, h: int, count: int, *, visibility: bool = False, depth: bool = False
) -> list:
    points = []
    for lm in list(landmarks.landmark)[:count]:
        row = [round(lm.x * w, 2), round(lm.y * h, 2)]
        if depth:  # MediaPipe scales z like x (by the image width)
            row.append(round(lm.z * w, 2))
        if visibility:
            row.append(round(lm.visibility, 3))
        points.append(row)
    return points


def reference(directory: Path, out: Path) -> None:
    result = {}
    mesh = solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=4, refine_landmarks=False
    )
    refined = solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=4, refine_landmarks=True
    )
    detector = solutions.face_detection.FaceDetection(
        model_selection=0, min_detection_confidence=0.5
    )
    pose = solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)
    for name, rgb in _images(directory):
        h, w = rgb.shape[:2]
        faces = mesh.process(rgb).multi_face_landmarks or []
        irises = refined.process(rgb).multi_face_landmarks or []
        detections = detector.process(rgb).detections or []
        body = pose.process(rgb)
        result[name] = {
            "width": w,
            "height": h,
            "faces": [_points(f, w, h, 468, depth=True) for f in faces],
            "irises": [[_points(f, w, h, 478)[468], _points(f, w, h, 478)[473]] for f in irises],
            "detections": [
                {
                    "score": round(d.score[0], 3),
                    "box": [
                        round(d.location_data.relative_bounding_box.xmin * w, 1),
                        round(d.location_data.relative_bounding_box.ymin * h, 1),
                        round(
                            (
                                d.location_data.relative_bounding_box.xmin
                                + d.location_data.relative_bounding_box.width
                            )
                            * w,
                            1,
                        ),
                        round(
                            (
                                d.location_data.relative_bounding_box.ymin
                                + d.location_data.relative_bounding_box.height
                            )
                            * h,
                            1,
                        ),
                    ],
                }
                for d in detections
            ],
            "body": (
                _points(body.pose_landmarks, w, h, 33, visibility=True)
                if body.pose_landmarks
                else None
            ),
        }
    out.write_text(json.dumps(result))


def _time(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def bench(directory: Path, repeats: int) -> None:
    results: dict[str, dict[str, list[float]]] = {}
    for name, rgb in _images(directory):
        entry: dict[str, list[float]] = {}
        for refine in (False, True):
            key = "face_mesh_refined" if refine else "face_mesh"
            with solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=refine) as m:
                m.process(rgb)
                entry[f"{key}_static"] = _time(lambda m=m, rgb=rgb: m.process(rgb), repeats)
            with solutions.face_mesh.FaceMesh(
                static_image_mode=False, refine_landmarks=refine
            ) as m:
                for _ in range(3):
                    m.process(rgb)
                entry[f"{key}_tracking"] = _time(lambda m=m, rgb=rgb: m.process(rgb), repeats)
        with solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=True
        ) as p:
            p.process(rgb)
            entry["pose_static"] = _time(lambda p=p, rgb=rgb: p.process(rgb), repeats)
        with solutions.pose.Pose(
            static_image_mode=False, model_complexity=1, enable_segmentation=True
        ) as p:
            for _ in range(3):
                p.process(rgb)
            entry["pose_tracking"] = _time(lambda p=p, rgb=rgb: p.process(rgb), repeats)
        results[name] = entry
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sys.stdout.write(json.dumps({"results": results, "peak_rss_mb": peak_mb}) + "\n")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "reference":
        reference(Path(sys.argv[2]), Path(sys.argv[3]))
    elif mode == "bench":
        bench(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
