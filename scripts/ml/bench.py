"""`make bench-ml`: perception latency per stage, photo and tracking modes, against MediaPipe.

For 640x480 and 1280x720 frames (the astronaut photo on a grey canvas: one face, upper body)
and 1 and 2 ONNX Runtime threads, it measures our pipeline per stage (p50/p95), photo mode
and tracking mode (p50/p95 and frames per second), and MediaPipe 0.10.21's own Python
solutions on the same frames in the same run, then prints the ratio (above 1 means we are
faster: MediaPipe p50 / ours p50 for photos; for tracking, where our iris model runs on some
frames only, the ratio of the mean frame rates) and the peak memory (max RSS) of a fresh
process of each doing the same work.

MediaPipe runs in its own venv as a subprocess (``mediapipe_runner.py serve``) driven in turns
with our own runs: every mode is measured in short interleaved rounds (ours with 1 thread,
ours with 2 threads, MediaPipe), so a change of machine load hits all of them alike. Tracking
modes run on a moving sequence (the photo panned, zoomed and turned in a loop) that both
pipelines see frame for frame. No thresholds: it reports. The load average is printed
because on a shared machine every figure depends on it.

Usage: python scripts/ml/bench.py [--repeats N] [--sizes 640x480,1280x720]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.image_io import decode_image  # noqa: E402
from ml_service.models import venvs  # noqa: E402
from ml_service.perception import FaceTracker, Perceiver  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from ml_service.types import Analysis  # noqa: E402
from testkit.images import load_bgr  # noqa: E402

STAGES = ("decode", "detect", "landmarks", "iris", "head_pose", "eyes", "pose_detect", "pose")
RUNNER = ROOT / "scripts" / "ml" / "mediapipe_runner.py"
SEQUENCE_FRAMES = 60
ROUND = 3  # runs per turn before the next pipeline takes over


def photo(width: int, height: int, *, angle: float = 0.0, zoom: float = 1.0) -> np.ndarray:
    """The astronaut on a grey canvas, optionally turned and zoomed about the canvas centre."""
    canvas = np.full((height, width, 3), 96, np.uint8)
    face = cv2.resize(load_bgr("astronaut"), (height, height), interpolation=cv2.INTER_AREA)
    x = (width - height) // 2
    canvas[:, x : x + height] = face
    if angle == 0.0 and zoom == 1.0:
        return canvas
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, zoom)
    return np.asarray(
        cv2.warpAffine(canvas, matrix, (width, height), borderValue=(96, 96, 96)), np.uint8
    )


def sequence(width: int, height: int, count: int = SEQUENCE_FRAMES) -> list[np.ndarray]:
    """A looping clip: the photo panned, zoomed and turned smoothly (period: SEQUENCE_FRAMES
    frames; ``count`` gives the first frames only)."""
    frames = []
    for i in range(count):
        phase = 2 * np.pi * i / SEQUENCE_FRAMES
        image = photo(width, height, angle=8 * np.sin(phase), zoom=1 + 0.08 * np.sin(2 * phase))
        # Frame 0 is the photo itself: both pipelines find the face on the first frame.
        pan = np.sin(phase)
        shift = np.float32([[1, 0, 0.06 * width * pan], [0, 1, 0.03 * height * pan]])
        frames.append(
            np.asarray(cv2.warpAffine(image, shift, (width, height), borderValue=(96, 96, 96)))
        )
    return frames


def stats(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95 and frames per second (from the mean)."""
    return (
        float(np.percentile(samples, 50)),
        float(np.percentile(samples, 95)),
        1000.0 / float(np.mean(samples)),
    )


class MediaPipe:
    """MediaPipe's solutions in their own venv, one request at a time."""

    def __init__(self) -> None:
        # MediaPipe's chatter, shown if it crashes; closed in close().
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        cache = MLSettings().resolved_cache_dir
        python = venvs.python_of(venvs.ensure_venv(name="mediapipe", cache_dir=cache))
        self.process = subprocess.Popen(
            [str(python), str(RUNNER), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def request(self, **payload: Any) -> dict[str, Any]:
        if self.process.stdin is None or self.process.stdout is None:
            raise RuntimeError("no pipes to the MediaPipe runner")
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = "".join(self.log.readlines()[-15:])
            raise RuntimeError(f"the MediaPipe runner stopped:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        self.log.close()


@dataclass
class Mode:
    """One benchmark row: our call (photo or a tracker step) and MediaPipe's counterpart."""

    label: str
    mediapipe: str | None
    photo: dict[str, Any] | None = None  # analyze() keywords; None: a tracking mode
    tracker: dict[str, Any] | None = None  # Perceiver.tracker() keywords


MODES = (
    Mode("face mesh, photo", "face_mesh_static", photo={"bodies": False, "iris_landmarks": False}),
    Mode("face mesh + iris, photo", "face_mesh_refined_static", photo={"bodies": False}),
    Mode("face mesh, tracking", "face_mesh_tracking", tracker={"iris_landmarks": False}),
    Mode("face mesh + iris, tracking", "face_mesh_refined_tracking", tracker={}),
    Mode(
        "face mesh + iris, tracking, iris every frame",
        "face_mesh_refined_tracking",
        tracker={"iris_every": 1},
    ),
    Mode("pose + mask, photo", "pose_static", photo={"faces": False}),
    Mode("pose + mask, tracking", "pose_tracking", tracker={"faces": False, "bodies": True}),
    Mode("face + iris + pose + mask, photo", None, photo={}),
    Mode("face + iris + pose + mask, tracking", None, tracker={"bodies": True}),
)


class Ours:
    """Our pipeline with one thread count: photo calls and one tracker per tracking mode."""

    def __init__(self, threads: int) -> None:
        self.perceiver = Perceiver.from_settings(MLSettings(threads=threads))
        self.trackers: dict[str, FaceTracker] = {}
        self.steps: dict[str, int] = {}
        self.stages: dict[str, list[float]] = {}

    def step(self, mode: Mode, image: np.ndarray, clip: list[np.ndarray]) -> float:
        """One timed call (ms); photo calls with every stage also record the stages."""
        if mode.photo is not None:
            start = time.perf_counter()
            analysis = self.perceiver.analyze(image, **mode.photo)
            elapsed = (time.perf_counter() - start) * 1000.0
            if not mode.photo:
                self._record(analysis)
            return elapsed
        tracker = self.trackers.get(mode.label)
        if tracker is None:
            tracker = self.trackers[mode.label] = self.perceiver.tracker(**(mode.tracker or {}))
        i = self.steps.get(mode.label, 0)
        self.steps[mode.label] = i + 1
        start = time.perf_counter()
        tracker.process(clip[i % len(clip)], i / 30)
        return (time.perf_counter() - start) * 1000.0

    def _record(self, analysis: Analysis) -> None:
        for stage in STAGES:
            if stage in analysis.timings_ms:
                self.stages.setdefault(stage, []).append(analysis.timings_ms[stage])


def jpeg_decode_ms(image: np.ndarray, repeats: int) -> list[float]:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    payload = data.tobytes()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_image(payload)
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def measure_size(
    width: int,
    height: int,
    *,
    repeats: int,
    mediapipe: MediaPipe,
    threads: tuple[int, ...],
    modes: tuple[Mode, ...],
) -> tuple[dict[tuple[str, int], list[float]], dict[int, dict[str, list[float]]], list[float]]:
    """Interleaved rounds of every mode: ours (1 and 2 threads) and MediaPipe."""
    name = f"{width}x{height}"
    image = photo(width, height)
    clip = sequence(width, height)
    with tempfile.TemporaryDirectory() as tmp:
        cv2.imwrite(str(Path(tmp) / f"{name}_photo.png"), image)
        for i, frame in enumerate(clip):
            cv2.imwrite(str(Path(tmp) / f"{name}_clip{i:03d}.png"), frame)
        mediapipe.request(op="load", dir=tmp)
    clip_names = [f"{name}_clip{i:03d}" for i in range(len(clip))]
    ours = {t: Ours(t) for t in threads}
    samples: dict[tuple[str, int], list[float]] = {}
    mp_steps: dict[str, int] = {}

    def mediapipe_turn(mode: Mode, count: int) -> list[float]:
        assert mode.mediapipe is not None
        if mode.photo is not None:
            frames = [f"{name}_photo"] * count
        else:
            start = mp_steps.get(mode.mediapipe, 0)
            mp_steps[mode.mediapipe] = start + count
            frames = [clip_names[(start + k) % len(clip_names)] for k in range(count)]
        result: list[float] = mediapipe.request(op="run", mode=mode.mediapipe, frames=frames)[
            "samples"
        ]
        return result

    for mode in modes:  # warm-up: first runs, session start, tracking locks on
        for pipeline in ours.values():
            for _ in range(3):
                pipeline.step(mode, image, clip)
        if mode.mediapipe:
            mediapipe_turn(mode, 3)
    for pipeline in ours.values():
        pipeline.stages.clear()
    for _ in range(max(1, repeats // ROUND)):
        for mode in modes:
            for count, pipeline in ours.items():
                runs = [pipeline.step(mode, image, clip) for _ in range(ROUND)]
                samples.setdefault((mode.label, count), []).extend(runs)
            if mode.mediapipe:
                samples.setdefault((mode.label, 0), []).extend(mediapipe_turn(mode, ROUND))
    stages = {t: pipeline.stages for t, pipeline in ours.items()}
    for pipeline in ours.values():
        pipeline.perceiver.close()
    return samples, stages, jpeg_decode_ms(image, repeats)


MEMORY_PROBE = """
import resource, sys
sys.path.insert(0, {root!r})
from scripts.ml.bench import photo, sequence
from ml_service.perception import Perceiver
from ml_service.settings import MLSettings
with Perceiver.from_settings(MLSettings(threads=1)) as perceiver:
    perceiver.analyze(photo(1280, 720))
    tracker = perceiver.tracker(bodies=True)
    for i, frame in enumerate(sequence(1280, 720, 10)):
        tracker.process(frame, i / 30)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_memory(mediapipe: MediaPipe) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh process doing the full work once on 1280x720 frames: ours
    (photo: face, iris, pose, mask; then tracking) and MediaPipe's (refined face mesh and
    pose with segmentation, static and tracking: the same work)."""
    probe = MEMORY_PROBE.format(root=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    ours = float(result.stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as tmp:
        cv2.imwrite(str(Path(tmp) / "photo.png"), photo(1280, 720))
        for i, frame in enumerate(sequence(1280, 720, 10)):
            cv2.imwrite(str(Path(tmp) / f"clip{i:03d}.png"), frame)
        mediapipe.request(op="load", dir=tmp)
    clip = [f"clip{i:03d}" for i in range(10)]
    for mode, frames in (
        ("face_mesh_refined_static", ["photo"]),
        ("pose_static", ["photo"]),
        ("face_mesh_refined_tracking", clip),
        ("pose_tracking", clip),
    ):
        mediapipe.request(op="run", mode=mode, frames=frames)
    return ours, float(mediapipe.request(op="rss")["peak_rss_mb"])


def ratio(mode: Mode, ours: tuple[float, float, float], mp: tuple[float, float, float]) -> str:
    """Photo: MediaPipe p50 / ours p50; tracking: ours fps / MediaPipe fps (from the means)."""
    value = mp[0] / ours[0] if mode.photo is not None else ours[2] / mp[2]
    return f"{value:.2f}x"


def fmt(p: tuple[float, float, float] | None) -> str:
    return "-" if p is None else f"{p[0]:.1f} / {p[1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30, help="runs per figure")
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--threads", default="1,2", help="ONNX Runtime thread counts")
    parser.add_argument("--modes", default="", help="only the modes whose label has this text")
    args = parser.parse_args()
    threads = tuple(int(t) for t in args.threads.split(","))
    modes = tuple(m for m in MODES if args.modes in m.label)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    settings = MLSettings()
    load_before = os.getloadavg()
    print(
        f"perception benchmark: {args.repeats} runs per figure, times in ms (p50 / p95), "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"onnxruntime {onnxruntime.__version__}, iris in tracking every "
        f"{settings.track_iris_every} frames\n"
    )
    fresh = MediaPipe()  # a process of its own for the memory figure
    ours_rss, mp_rss = peak_memory(fresh)
    fresh.close()
    mediapipe = MediaPipe()
    results = {}
    for width, height in sizes:
        results[f"{width}x{height}"] = measure_size(
            width, height, repeats=args.repeats, mediapipe=mediapipe, threads=threads, modes=modes
        )
    mediapipe.close()
    load_after = os.getloadavg()

    print("## Our stages (photo mode, every stage on), p50 / p95 ms\n")
    print("| frame | threads | JPEG decode (image_io) | " + " | ".join(STAGES) + " |")
    print("|---|---|---|" + "---|" * len(STAGES))
    for name, (_, stages, jpeg) in results.items():
        for count in threads:
            cells = " | ".join(
                fmt(stats(stages[count][s])) if stages[count].get(s) else "-" for s in STAGES
            )
            print(f"| {name} | {count} | {fmt(stats(jpeg))} | {cells} |")

    print("\n## Against MediaPipe 0.10.21 (same frames, same run, interleaved)\n")
    columns = [f"ours {t} thr | fps" for t in threads] + ["MediaPipe | fps"]
    columns += [f"ratio {t} thr" for t in threads]
    print("| frame | mode | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * (3 * len(threads) + 2))
    for name, (samples, _, _) in results.items():
        for mode in modes:
            ours_stats = [stats(samples[(mode.label, t)]) for t in threads]
            mp = stats(samples[(mode.label, 0)]) if mode.mediapipe else None
            cells = [f"{fmt(o)} | {o[2]:.0f}" for o in ours_stats]
            cells.append("- | -" if mp is None else f"{fmt(mp)} | {mp[2]:.0f}")
            cells += ["-" if mp is None else ratio(mode, o, mp) for o in ours_stats]
            print(f"| {name} | {mode.label} | " + " | ".join(cells) + " |")
    print(
        f"\npeak memory (max RSS of a fresh process doing the photo and tracking work once at "
        f"1280x720): ours {ours_rss:.0f} MiB, MediaPipe {mp_rss:.0f} MiB"
    )
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{v:.1f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.1f}" for v in load_after)
    )
    print("ratio (above 1: ours is faster) = MediaPipe p50 / ours p50 in photo modes, ours fps /")
    print("MediaPipe fps (means) in tracking modes, where our iris model runs on some frames only")
    print("and the median would hide it. MediaPipe picks its own thread count (XNNPACK); ONNX")
    print("Runtime runs with the thread count in the column.")


if __name__ == "__main__":
    main()
