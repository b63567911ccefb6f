"""Render benchmark: p50/p95 per category at 640x480, and live eyewear FPS (track + render +
JPEG encode) on one core, with the tracker alone as the reference measured in the same run."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

from ml_service.assets import prepare_asset
from ml_service.perception import Perceiver
from ml_service.render import ProductRenderer, VideoRenderer
from tests.support import images

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = {
    "eyewear": "sunglasses-aviator",
    "hat": "hat-fedora",
    "earrings": "earrings-drop",
    "necklace": "necklace-pendant",
    "top": "tshirt-navy",
}


def pct(xs: list[float]) -> str:
    a = np.array(xs)
    return f"p50 {np.percentile(a, 50):7.2f} ms  p95 {np.percentile(a, 95):7.2f} ms"


def main() -> None:
    cv2.setNumThreads(1)
    photo = images.load_bgr("astronaut")
    frame = cv2.resize(np.pad(photo, ((0, 0), (96, 96), (0, 0)), mode="edge"), (640, 480))
    with Perceiver.from_settings() as perceiver:
        analysis = perceiver.analyze(frame)
        found = f"faces {len(analysis.faces)}, bodies {len(analysis.bodies)}"
        print(f"render at 640x480 on one core ({found})")
        for category, name in PRODUCTS.items():
            asset = prepare_asset(
                (ROOT / "ml_service/demo_assets" / f"{name}.png").read_bytes(), category
            )
            renderer = ProductRenderer(asset)
            times = []
            for _ in range(60):
                t0 = time.perf_counter()
                renderer.render(frame, analysis)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"  {category:9s} {pct(times[5:])}")
        asset = prepare_asset(
            (ROOT / "ml_service/demo_assets/sunglasses-aviator.png").read_bytes(), "eyewear"
        )
        # A moving face: the frame drifts a few pixels per frame.
        frames = [
            np.roll(frame, (int(6 * np.sin(i / 7)), int(8 * np.sin(i / 5))), axis=(0, 1))
            for i in range(150)
        ]
        tracker = perceiver.tracker(max_faces=1)
        track_only = []
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            tracker.process(f, i / 30)
            track_only.append((time.perf_counter() - t0) * 1000)
        live = VideoRenderer(asset, perceiver.tracker(max_faces=1))
        total = []
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            live.process_jpeg(f, i / 30)
            total.append((time.perf_counter() - t0) * 1000)
        t, r = np.median(track_only[10:]), np.median(total[10:])
        print(f"live eyewear (track + render + JPEG): {pct(total[10:])}  -> {1000 / r:5.1f} FPS")
        print(
            f"reference, tracking alone:            {pct(track_only[10:])}  -> {1000 / t:5.1f} FPS"
        )
        print(f"ratio live / tracking-only time: {r / t:4.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
