"""Run MediaPipe 0.10.21's own Python solutions (inside the 'mediapipe' venv only).

Two modes:

  reference DIR OUT.json   landmarks of FaceMesh (468, and refined iris centres), FaceDetection
                           and Pose (33 + visibility) on DIR/*.png, in pixels, for the fidelity
                           fixture
  full_range DIR OUT.json  FaceDetection with model_selection=1 (the full-range detector):
                           boxes, scores and the 6 keypoints on DIR/*.png, in pixels
  serve                    the benchmark's timing server (``Server``): JSON lines on stdin and
                           stdout, so the benchmark can interleave MediaPipe's runs with its own

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


def _images(directory: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(directory.glob("*.png")):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        out[path.stem] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
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
    for name, rgb in _images(directory).items():
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


def _detection(d, w: int, h: int) -> dict:
    box = d.location_data.relative_bounding_box
    return {
        "score": round(d.score[0], 4),
        "box": [
            round(box.xmin * w, 2),
            round(box.ymin * h, 2),
            round((box.xmin + box.width) * w, 2),
            round((box.ymin + box.height) * h, 2),
        ],
        "keypoints": [
            [round(k.x * w, 2), round(k.y * h, 2)] for k in d.location_data.relative_keypoints
        ],
    }


def full_range(directory: Path, out: Path) -> None:
    detector = solutions.face_detection.FaceDetection(
        model_selection=1, min_detection_confidence=0.5
    )
    result = {}
    for name, rgb in _images(directory).items():
        h, w = rgb.shape[:2]
        detections = detector.process(rgb).detections or []
        result[name] = {
            "width": w,
            "height": h,
            "detections": [_detection(d, w, h) for d in detections],
        }
    out.write_text(json.dumps(result))


class Server:
    """Benchmark server: one JSON request per stdin line, one JSON answer per stdout line.

    The benchmark drives it in turns with its own measurements (interleaved), so both see
    the same machine load. Requests:
      {"op": "load", "dir": DIR}                       read DIR/*.png (RGB kept in memory)
      {"op": "run", "mode": M, "frames": [names]}      process the frames in order, each timed
      {"op": "rss"}                                    peak resident memory in MiB
    Modes: face_mesh_static, face_mesh_refined_static, face_mesh_tracking,
    face_mesh_refined_tracking, pose_static, pose_tracking. A mode's solution object is kept
    between requests, so the tracking modes track across them as in a live stream; there is
    one per mode and frame size (MediaPipe's graphs do not take a change of size mid-stream).
    """

    def __init__(self) -> None:
        self.images: dict[str, np.ndarray] = {}
        self.solutions: dict[tuple[str, tuple[int, ...]], object] = {}

    def solution(self, mode: str, shape: tuple[int, ...]):
        key = (mode, shape)
        if key not in self.solutions:
            static = mode.endswith("_static")
            if mode.startswith("face_mesh"):
                self.solutions[key] = solutions.face_mesh.FaceMesh(
                    static_image_mode=static, max_num_faces=1, refine_landmarks="refined" in mode
                )
            elif mode.startswith("pose"):
                self.solutions[key] = solutions.pose.Pose(
                    static_image_mode=static, model_complexity=1, enable_segmentation=True
                )
            else:
                raise ValueError(f"unknown mode {mode!r}")
        return self.solutions[key]

    def handle(self, request: dict) -> dict:
        op = request["op"]
        if op == "load":
            self.images.update(_images(Path(request["dir"])))
            return {"loaded": len(self.images)}
        if op == "run":
            samples = []
            for name in request["frames"]:
                rgb = self.images[name]
                solution = self.solution(request["mode"], rgb.shape)
                start = time.perf_counter()
                solution.process(rgb)
                samples.append((time.perf_counter() - start) * 1000.0)
            return {"samples": samples}
        if op == "rss":
            return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
        raise ValueError(f"unknown op {op!r}")

    def serve(self) -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            sys.stdout.write(json.dumps(self.handle(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "reference":
        reference(Path(sys.argv[2]), Path(sys.argv[3]))
    elif mode == "full_range":
        full_range(Path(sys.argv[2]), Path(sys.argv[3]))
    elif mode == "serve":
        Server().serve()
    else:
        raise SystemExit(f"unknown mode {mode!r}")
