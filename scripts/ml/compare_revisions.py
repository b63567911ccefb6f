"""Before / after: another revision's perception against this checkout's, and MediaPipe's.

`python scripts/ml/compare_revisions.py REV [--repeats N]` (or `make bench-ml-compare
REV=...`) exports REV's ``ml_service`` with ``git archive`` into a temporary directory, builds
its models if its build key has none, and times both revisions (``timing_server.py``, one
ONNX Runtime thread each) and MediaPipe 0.10.21 in interleaved rounds on the benchmark's
frames (bench.py: the photo and the moving clip, 640x480 and 1280x720), so all three see the
same machine load. Prints p50 / p95, the speed-up and each revision's ratio to MediaPipe
(from the p50 in photo modes, from the mean frame time in tracking modes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.ml.bench import MediaPipe, photo, sequence  # noqa: E402

SERVER = ROOT / "scripts" / "ml" / "timing_server.py"
MODES = (  # (timing server mode, MediaPipe mode, label)
    ("photo_mesh", "face_mesh_static", "face mesh, photo"),
    ("photo_face", "face_mesh_refined_static", "face mesh + iris, photo"),
    ("track_face", "face_mesh_refined_tracking", "face mesh + iris, tracking"),
    ("track_face_every_frame", "face_mesh_refined_tracking", "... iris every frame"),
    ("photo_body", "pose_static", "pose + mask, photo"),
    ("photo_all", None, "face + iris + pose + mask, photo"),
)
ROUND = 3


class Revision:
    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER)],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def request(self, **payload: Any) -> dict[str, Any]:
        if self.process.stdin is None or self.process.stdout is None:
            raise RuntimeError("no pipes to the timing server")
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the timing server stopped")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def export(rev: str, target: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", rev, "ml_service", "tests/__init__.py", "tests/support"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    build = "from ml_service.models import build; from ml_service.settings import MLSettings; "
    build += "build.build(cache_dir=MLSettings().resolved_cache_dir, progress=False)"
    subprocess.run([sys.executable, "-c", build], cwd=target, check=True)


def _frame_names(positions: dict[str, int], clip_len: int) -> Any:
    """Names of the next frames for one pipeline and mode: the photo, or the clip in order."""

    def frames(who: str, mode: str, count: int) -> list[str]:
        if mode.startswith("photo"):
            return ["photo"] * count
        start = positions.get(who + mode, 0)
        positions[who + mode] = start + count
        return [f"clip{(start + k) % clip_len:03d}" for k in range(count)]

    return frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rev", help="the 'before' revision (git)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        export(args.rev, Path(tmp) / "before")
        pipelines = {"before": Revision(Path(tmp) / "before"), "after": Revision(ROOT)}
        mediapipe = MediaPipe()
        samples: dict[tuple[str, str, str], list[float]] = {}
        for width, height in ((640, 480), (1280, 720)):
            size = f"{width}x{height}"
            clip = sequence(width, height)
            frames_dir = Path(tmp) / size
            frames_dir.mkdir()
            cv2.imwrite(str(frames_dir / "photo.png"), photo(width, height))
            for i, frame in enumerate(clip):
                cv2.imwrite(str(frames_dir / f"clip{i:03d}.png"), frame)
            for pipeline in pipelines.values():
                pipeline.request(op="load", dir=str(frames_dir))
            mediapipe.request(op="load", dir=str(frames_dir))
            positions: dict[str, int] = {}
            frames = _frame_names(positions, len(clip))

            for rounds, record in ((1, False), (max(1, args.repeats // ROUND), True)):
                for _ in range(rounds):  # the first pass warms up
                    for mode, mp_mode, _ in MODES:
                        for tag, pipeline in pipelines.items():
                            runs = pipeline.request(
                                op="run", mode=mode, size=size, frames=frames(tag, mode, ROUND)
                            )["samples"]
                            if record:
                                samples.setdefault((size, mode, tag), []).extend(runs)
                        if mp_mode:
                            runs = mediapipe.request(
                                op="run", mode=mp_mode, frames=frames("mp", mode, ROUND)
                            )["samples"]
                            if record:
                                samples.setdefault((size, mode, "mp"), []).extend(runs)
        for pipeline in pipelines.values():
            pipeline.close()
        mediapipe.close()
    load_after = os.getloadavg()
    print(
        f"{args.rev} (before) against this checkout (after), {args.repeats} runs each, one "
        f"ONNX Runtime thread, p50 / p95 ms; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n"
    )
    print("| frame | mode | before | after | MediaPipe | speed-up | ratio before | ratio after |")
    print("|---|---|---|---|---|---|---|---|")
    p50 = lambda s: float(np.percentile(s, 50))  # noqa: E731
    cell = lambda s: f"{p50(s):.1f} / {float(np.percentile(s, 95)):.1f}"  # noqa: E731
    for size in ("640x480", "1280x720"):
        for mode, _, label in MODES:
            before, after = samples[(size, mode, "before")], samples[(size, mode, "after")]
            mp = samples.get((size, mode, "mp"))
            # tracking: mean frame times (our iris model runs on some frames only)
            typical = p50 if mode.startswith("photo") else (lambda s: float(np.mean(s)))
            ratios = (
                ["-", "-"]
                if mp is None
                else [f"{typical(mp) / typical(s):.2f}x" for s in (before, after)]
            )
            print(
                f"| {size} | {label} | {cell(before)} | {cell(after)} | "
                f"{'-' if mp is None else cell(mp)} | {typical(before) / typical(after):.2f}x | "
                + " | ".join(ratios)
                + " |"
            )


if __name__ == "__main__":
    main()
