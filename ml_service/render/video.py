"""Video: the photo renderers on tracked frames, per connection or over a file.

Steadiness comes from the tracker (perception smooths landmarks and iris centres over time)
and from :class:`~ml_service.render.steady.ScaleSteadier`, which holds each face's pupil
distance steady (perception measures the iris size afresh every frame). The renderer keeps
the asset's reduced copies between frames so each frame only warps and blends a small region.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.api import ProductRenderer
from ml_service.render.errors import CannotRender, TryOnInputError
from ml_service.render.options import RenderOptions, RenderResult
from ml_service.render.steady import ScaleSteadier
from ml_service.types import Analysis

MAX_VIDEO_FRAMES = 3000
MAX_VIDEO_PIXELS = 1920 * 1080
MAX_VIDEO_BYTES = 512 * 1024 * 1024
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov"})  # containers that take MPEG-4 video


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
        self._steady = ScaleSteadier()

    def process(
        self, frame_bgr: NDArray[np.uint8], timestamp_s: float | None = None
    ) -> RenderResult:
        started = time.perf_counter()
        analysis = self.tracker.process(frame_bgr, timestamp_s)
        analysis = replace(analysis, faces=self._steady(analysis.faces))
        tracked = time.perf_counter()
        try:
            result = self.renderer.render(
                frame_bgr, analysis, self.options, timestamp_s=timestamp_s
            )
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
    max_pixels: int = MAX_VIDEO_PIXELS,
    max_bytes: int = MAX_VIDEO_BYTES,
    progress: Callable[[int], None] | None = None,
) -> VideoSummary:
    """Render every frame of ``source`` (up to ``max_frames``) into ``target`` (MP4, same size
    and rate). The result appears at ``target`` only when complete: frames go to a hidden
    partial file that replaces ``target`` at the end and is removed on any error."""
    # A plain file only: OpenCV would also open URLs, devices and image sequences.
    if not source.is_file():
        raise TryOnInputError(f"no such video file: {source.name}", reason="unreadable-video")
    size = source.stat().st_size
    if size > max_bytes:
        raise TryOnInputError(
            f"the video is {size} bytes, over the {max_bytes} byte limit", reason="video-too-large"
        )
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise TryOnInputError(f"cannot read the video {source.name}", reason="unreadable-video")
    partial = target.with_name(f".{target.stem}.partial{target.suffix}")
    writer: cv2.VideoWriter | None = None
    renderer = VideoRenderer(asset, tracker, options=options)
    frames = rendered = 0
    spent = 0.0
    done = False
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        fps = fps if 1.0 <= fps <= 120.0 else 25.0
        while frames < max_frames:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise TryOnInputError(
                    "the video's frames are not 8-bit colour", reason="unreadable-video"
                )
            image = np.asarray(frame, np.uint8)  # no copy: the type is checked above
            h, w = image.shape[:2]
            if w * h > max_pixels:
                raise TryOnInputError(
                    f"video frames of {w}x{h} are over the {max_pixels} pixel limit",
                    reason="video-too-large",
                )
            if writer is None:
                writer = _writer(partial, fps, (w, h), name=target.name)
            t0 = time.perf_counter()
            result = renderer.process(image, frames / fps)
            spent += time.perf_counter() - t0
            rendered += int("skipped" not in result.geometry)
            writer.write(result.image)
            frames += 1
            if progress is not None:
                progress(frames)
        if frames == 0:
            raise TryOnInputError(
                f"the video {source.name} has no readable frames", reason="unreadable-video"
            )
        done = True
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if done:
            partial.replace(target)
        else:
            with contextlib.suppress(OSError):  # there may be no folder to hold it
                partial.unlink(missing_ok=True)
    ms = 1000.0 * spent / frames
    return VideoSummary(
        frames=frames,
        rendered=rendered,
        fps=round(1000.0 / max(ms, 1e-6), 1),
        ms_per_frame=round(ms, 2),
    )


def _writer(path: Path, fps: float, size: tuple[int, int], *, name: str) -> cv2.VideoWriter:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        # OpenCV would pick another writer by the name (a .png name writes images).
        raise TryOnInputError(
            f"cannot write the video {name}: use a name ending in "
            + ", ".join(sorted(VIDEO_SUFFIXES)),
            reason="unwritable-video",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TryOnInputError(
            f"cannot write the video {name}: {exc.strerror or exc}", reason="unwritable-video"
        ) from None
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise TryOnInputError(
            f"cannot write the video {name} (use a .mp4 name in a writable folder)",
            reason="unwritable-video",
        )
    return writer
