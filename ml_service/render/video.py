"""Video: the photo renderers on tracked frames, per connection or over a file.

Steadiness comes from the tracker (perception smooths its landmarks over time); the renderer
keeps the asset's reduced copies between frames so each frame only warps and blends a small
region.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.api import ProductRenderer
from ml_service.render.errors import CannotRender, TryOnInputError
from ml_service.render.options import RenderOptions, RenderResult
from ml_service.types import Analysis

MAX_VIDEO_FRAMES = 3000
MAX_VIDEO_PIXELS = 1920 * 1080


class Tracker(Protocol):
    """What perception's video tracker offers (``Perceiver.tracker()``)."""

    def process(
        self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None
    ) -> Analysis: ...


class VideoRenderer:
    """Live try-on for one connection: track, render, and optionally encode each frame.

    Frames where nobody can wear the product come back unchanged, with the reason in the
    geometry (``{"skipped": reason}``): a live stream must not stop because a face left."""

    def __init__(
        self, asset: PreparedAsset, tracker: Tracker, *, options: RenderOptions | None = None
    ) -> None:
        self.renderer = ProductRenderer(asset)
        self.tracker = tracker
        self.options = options or RenderOptions(max_faces=1)

    def process(
        self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None
    ) -> RenderResult:
        started = time.perf_counter()
        analysis = self.tracker.process(frame_bgr, timestamp_s)
        tracked = time.perf_counter()
        try:
            result = self.renderer.render(frame_bgr, analysis, self.options)
            image, geometry = result.image, result.geometry
        except CannotRender as exc:
            image, geometry = frame_bgr, {"category": self.renderer.category, "skipped": exc.reason}
        done = time.perf_counter()
        return RenderResult(
            image=image,
            geometry=geometry,
            timings_ms={
                "track": round((tracked - started) * 1000, 2),
                "render": round((done - tracked) * 1000, 2),
            },
        )

    def process_jpeg(
        self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None, *, quality: int = 80
    ) -> tuple[bytes, RenderResult]:
        """:meth:`process` and JPEG-encode the result (what a WebSocket sends back)."""
        result = self.process(frame_bgr, timestamp_s)
        ok, buf = cv2.imencode(".jpg", result.image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:  # pragma: no cover - any BGR uint8 frame encodes
            raise RuntimeError("JPEG encoding failed")
        return bytes(buf), result


@dataclass(frozen=True)
class VideoSummary:
    frames: int
    rendered: int
    fps: float
    ms_per_frame: float


def render_video(
    source: Path,
    target: Path,
    asset: PreparedAsset,
    tracker: Tracker,
    *,
    options: RenderOptions | None = None,
    max_frames: int = MAX_VIDEO_FRAMES,
    progress: Callable[[int], None] | None = None,
) -> VideoSummary:
    """Render every frame of ``source`` into ``target`` (MP4, same size and rate)."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise TryOnInputError(f"cannot read the video {source.name}", reason="unreadable-video")
    writer: cv2.VideoWriter | None = None
    renderer = VideoRenderer(asset, tracker, options=options)
    frames = rendered = 0
    spent = 0.0
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        fps = fps if 1.0 <= fps <= 120.0 else 25.0
        while frames < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            if w * h > MAX_VIDEO_PIXELS:
                raise TryOnInputError(
                    f"video frames of {w}x{h} are over the limit", reason="video-too-large"
                )
            if writer is None:
                target.parent.mkdir(parents=True, exist_ok=True)
                writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
                if not writer.isOpened():
                    raise TryOnInputError(
                        f"cannot write the video {target.name}", reason="unwritable-video"
                    )
            t0 = time.perf_counter()
            result = renderer.process(frame, frames / fps)
            spent += time.perf_counter() - t0
            rendered += int("skipped" not in result.geometry)
            writer.write(result.image)
            frames += 1
            if progress is not None:
                progress(frames)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        raise TryOnInputError(f"the video {source.name} has no frames", reason="unreadable-video")
    ms = 1000.0 * spent / frames
    return VideoSummary(
        frames=frames,
        rendered=rendered,
        fps=round(1000.0 / max(ms, 1e-6), 1),
        ms_per_frame=round(ms, 2),
    )
