"""`make bench-ml`: perception latency per stage, photo and tracking modes, against MediaPipe.

For 640x480 and 1280x720 frames (the astronaut photo on a grey canvas: one face, upper body)
and 1 and 2 ONNX Runtime threads, it measures our pipeline per stage (p50/p95), photo mode
(face only; face + body with mask) and tracking mode (frames per second), then runs
MediaPipe 0.10.21's own Python solutions on the same frames in the same run (its own venv,
as a subprocess) and prints the ratio (MediaPipe time / ours: above 1 means we are faster).
Peak memory (max RSS) of both processes is printed too. No thresholds: it reports.

Usage: python scripts/ml/bench.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.models import venvs  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from tests.support.images import load_bgr  # noqa: E402

SIZES = ((640, 480), (1280, 720))
STAGES = ("decode", "detect", "landmarks", "iris", "pose_detect", "pose")
RUNNER = ROOT / "scripts" / "ml" / "mediapipe_runner.py"


def frame(width: int, height: int) -> np.ndarray:
    canvas = np.full((height, width, 3), 96, np.uint8)
    photo = cv2.resize(load_bgr("astronaut"), (height, height), interpolation=cv2.INTER_AREA)
    x = (width - height) // 2
    canvas[:, x : x + height] = photo
    return canvas


def pct(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def measure_ours(image: np.ndarray, threads: int, repeats: int) -> dict[str, list[float]]:
    settings = MLSettings(threads=threads)
    out: dict[str, list[float]] = {}
    with Perceiver.from_settings(settings) as perceiver:
        for _ in range(3):
            perceiver.analyze(image)
        for _ in range(repeats):
            analysis = perceiver.analyze(image)
            for stage in STAGES:
                out.setdefault(stage, []).append(analysis.timings_ms.get(stage, 0.0))
            out.setdefault("photo_face_body", []).append(analysis.timings_ms["total"])
        for mode, kwargs in (
            ("photo_face", {"bodies": False}),
            ("photo_mesh", {"bodies": False, "iris_landmarks": False}),
            ("photo_body", {"faces": False}),
        ):
            for _ in range(repeats):
                out.setdefault(mode, []).append(
                    perceiver.analyze(image, **kwargs).timings_ms["total"]
                )
        for mode, bodies in (("track_face", False), ("track_face_body", True)):
            tracker = perceiver.tracker(bodies=bodies)
            for i in range(3):
                tracker.process(image, i / 30)
            for i in range(repeats):
                start = time.perf_counter()
                tracker.process(image, (i + 3) / 30)
                out.setdefault(mode, []).append((time.perf_counter() - start) * 1000)
    return out


def measure_mediapipe(images: dict[str, np.ndarray], repeats: int) -> dict[str, object]:
    python = venvs.python_of(
        venvs.ensure_venv(name="mediapipe", cache_dir=MLSettings().resolved_cache_dir)
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, image in images.items():
            cv2.imwrite(str(Path(tmp) / f"{name}.png"), image)
        result = subprocess.run(
            [str(python), str(RUNNER), "bench", tmp, str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    images = {f"{w}x{h}": frame(w, h) for w, h in SIZES}
    print(f"perception benchmark: {args.repeats} runs per figure, times in ms (p50 / p95)\n")
    ours = {
        (name, t): measure_ours(image, t, args.repeats)
        for name, image in images.items()
        for t in (1, 2)
    }
    ours_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mp = measure_mediapipe(images, args.repeats)
    mp_results: dict[str, dict[str, list[float]]] = mp["results"]  # type: ignore[assignment]

    print("## Our stages\n")
    print("| frame | threads | " + " | ".join(STAGES) + " |")
    print("|---|---|" + "---|" * len(STAGES))
    for (name, threads), res in ours.items():
        cells = " | ".join("{:.1f} / {:.1f}".format(*pct(res[s])) for s in STAGES)
        print(f"| {name} | {threads} | {cells} |")

    rows = (
        ("face mesh, photo", "photo_mesh", "face_mesh_static"),
        ("face mesh + iris, photo", "photo_face", "face_mesh_refined_static"),
        ("face mesh + iris, tracking", "track_face", "face_mesh_refined_tracking"),
        ("face mesh, tracking (MP w/o iris)", "track_face", "face_mesh_tracking"),
        ("pose + mask, photo", "photo_body", "pose_static"),
        ("face + iris + pose + mask, photo", "photo_face_body", None),
        ("face + iris + pose + mask, tracking", "track_face_body", None),
        ("pose + mask, tracking (MP)", None, "pose_tracking"),
    )
    print("\n## Against MediaPipe 0.10.21 (same frames, same run)\n")
    columns = ["frame", "mode", "ours 1 thread", "ours 2 threads", "fps (2 thr)", "MediaPipe"]
    columns += ["ratio (1 thr)", "ratio (2 thr)"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for name in images:
        for label, our_key, mp_key in rows:
            o1 = pct(ours[(name, 1)][our_key]) if our_key else None
            o2 = pct(ours[(name, 2)][our_key]) if our_key else None
            m = pct(mp_results[name][mp_key]) if mp_key else None
            fmt = lambda p: "-" if p is None else f"{p[0]:.1f} / {p[1]:.1f}"  # noqa: E731
            fps = "-" if o2 is None else f"{1000 / o2[0]:.0f}"
            r1 = "-" if (o1 is None or m is None) else f"{m[0] / o1[0]:.2f}x"
            r2 = "-" if (o2 is None or m is None) else f"{m[0] / o2[0]:.2f}x"
            print(f"| {name} | {label} | {fmt(o1)} | {fmt(o2)} | {fps} | {fmt(m)} | {r1} | {r2} |")
    print(
        f"\npeak memory (max RSS): ours {ours_rss:.0f} MiB, MediaPipe {mp['peak_rss_mb']:.0f} MiB"
    )
    print("ratio = MediaPipe p50 / ours p50 (above 1: ours is faster). MediaPipe picks its own")
    print("thread count (XNNPACK); ONNX Runtime runs with the thread count in the column.")


if __name__ == "__main__":
    main()
