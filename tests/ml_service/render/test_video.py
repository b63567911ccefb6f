"""Video: the tracker + renderer per frame (steadiness, following motion), video files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from ml_service.assets import prepare_asset
from ml_service.render import VideoRenderer, render, render_video
from ml_service.render.errors import TryOnInputError
from testkit import images

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
WARM_UP = 5  # frames for the filters to settle


@pytest.fixture(scope="module")
def glasses():
    return prepare_asset((DEMO / "glasses-round-black.png").read_bytes(), "eyewear")


def _lenses(geometry: dict) -> np.ndarray:
    return np.array(geometry["faces"][0]["lens_centres"], np.float64)


def _steps(track: np.ndarray) -> np.ndarray:
    """Per frame, the larger of the two lens centres' movement since the previous frame."""
    return np.linalg.norm(np.diff(track, axis=0), axis=2).max(axis=1)


def test_a_still_face_with_sensor_noise_holds_still(perceiver, glasses) -> None:
    photo = images.load_bgr("astronaut")
    rng = np.random.default_rng(7)
    live = VideoRenderer(glasses, perceiver.tracker(max_faces=1))
    tracked, single, widths = [], [], []
    for i in range(40):
        noisy = np.clip(photo + rng.normal(0.0, 4.0, photo.shape), 0, 255).astype(np.uint8)
        geometry = live.process(noisy, i / 30).geometry
        tracked.append(_lenses(geometry))
        widths.append(geometry["faces"][0]["frame_width_px"])
        # The same frame as a photo: no memory of the previous frames.
        single.append(
            _lenses(render(noisy, perceiver.analyze(noisy, bodies=False), glasses).geometry)
        )
    live_steps = _steps(np.array(tracked))[WARM_UP:]
    photo_steps = _steps(np.array(single))[WARM_UP:]
    # The geometry is rounded to 0.1 px: a steady frame moves by at most that.
    assert live_steps.max() <= 0.3
    assert live_steps.mean() < 0.3 * photo_steps.mean()
    assert np.std(widths[WARM_UP:]) < 0.003 * np.mean(widths)


def _pan_zoom(photo: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``i`` of a slow camera move: 1 px/frame right, 0.5 down, zooming in 0.3 %/frame."""
    h, w = photo.shape[:2]
    s = 1.0 + 0.003 * i
    m = np.array([[s, 0, i - (s - 1) * w / 2], [0, s, 0.5 * i - (s - 1) * h / 2]], np.float64)
    return cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_REFLECT), m


def test_a_moving_face_is_followed_smoothly(perceiver, glasses) -> None:
    photo = images.load_bgr("astronaut")
    live = VideoRenderer(glasses, perceiver.tracker(max_faces=1))
    tracked, moves = [], []
    for i in range(45):
        frame, move = _pan_zoom(photo, i)
        tracked.append(_lenses(live.process(frame, i / 30).geometry))
        moves.append(move)
    track = np.array(tracked)
    # Where the first frame's lens centres go under the camera's move.
    first = np.linalg.inv(np.vstack([moves[0], [0, 0, 1]]))[:2]
    start = track[0] @ first[:, :2].T + first[:, 2]
    expected = np.array([start @ m[:, :2].T + m[:, 2] for m in moves])
    error = np.linalg.norm(track - expected, axis=2).max(axis=1)
    steps = _steps(track)
    acceleration = np.linalg.norm(np.diff(track, 2, axis=0), axis=2).max(axis=1)
    assert steps[WARM_UP:].mean() > 0.9  # it moves with the face (1.1 px per frame here)...
    assert error.max() < 2.0  # ...staying on it (the smoothing lags by under 2 frames)...
    assert acceleration[WARM_UP:].max() < 0.5  # ...without jerks


def test_frames_without_a_face_come_back_unchanged(perceiver, glasses) -> None:
    photo = images.load_bgr("astronaut")
    live = VideoRenderer(glasses, perceiver.tracker(max_faces=1))
    first = live.process(photo, 0.0)
    assert "faces" in first.geometry
    assert (first.image != photo).any()
    empty = np.full_like(photo, 128)
    gone = live.process(empty, 1 / 30)
    assert gone.geometry == {"category": "eyewear", "skipped": "no-face"}
    assert (gone.image == empty).all()
    back = live.process(photo, 2 / 30)
    assert "faces" in back.geometry
    jpeg, result = live.process_jpeg(photo, 3 / 30, quality=85)
    assert jpeg[:3] == b"\xff\xd8\xff"
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == photo.shape
    assert float(np.abs(decoded.astype(int) - result.image).mean()) < 3.0
    assert set(result.timings_ms) == {"track", "render"}


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def _read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 frames of a slow pan over the astronaut, with a blank frame in the middle."""
    photo = images.load_bgr("astronaut")
    frames = [_pan_zoom(photo, i)[0] for i in range(12)]
    frames[6] = np.full_like(photo, 90)
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    _write_video(path, frames)
    return path


def test_render_video_writes_every_frame(perceiver, glasses, clip: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "tryon.mp4"
    seen: list[int] = []
    summary = render_video(clip, target, glasses, perceiver.tracker(), progress=seen.append)
    assert summary.frames == 12
    assert summary.rendered == 11  # the blank frame has nobody to wear the glasses
    assert seen == list(range(1, 13))
    assert [p.name for p in target.parent.iterdir()] == ["tryon.mp4"]  # no partial file left
    source, out = _read_video(clip), _read_video(target)
    assert len(out) == 12
    assert out[0].shape == source[0].shape
    capture = cv2.VideoCapture(str(target))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0)
    capture.release()
    # The frames carry the glasses where the eyes are (and only there), not a re-encode of
    # the input: compare the eye region with the rest of the frame.
    eyes = (slice(80, 125), slice(180, 270))
    diff = np.abs(out[0].astype(int) - source[0]).mean(axis=2)
    assert diff[eyes].mean() > 4 * diff.mean()
    # The blank frame stays blank (up to the codec's colours).
    assert out[6].reshape(-1, 3).std(axis=0).max() < 1.5
    limited = render_video(clip, tmp_path / "short.mp4", glasses, perceiver.tracker(), max_frames=3)
    assert limited.frames == 3
    assert len(_read_video(tmp_path / "short.mp4")) == 3


def test_bad_videos_are_refused_and_leave_nothing(
    perceiver, glasses, clip: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cases = [
        (dict(source=junk), "unreadable-video"),
        (dict(source=empty), "unreadable-video"),
        (dict(source=tmp_path / "missing.mp4"), "unreadable-video"),
        (dict(source=tmp_path), "unreadable-video"),  # a folder
        (dict(max_pixels=320 * 240), "video-too-large"),
        (dict(max_bytes=1000), "video-too-large"),
        (dict(target=tmp_path / "out.png"), "unwritable-video"),
        (dict(target=junk / "out.mp4"), "unwritable-video"),  # a file as the folder
    ]
    for overrides, reason in cases:
        args = {"source": clip, "target": tmp_path / "out.mp4", **overrides}
        with pytest.raises(TryOnInputError) as info:
            render_video(
                args.pop("source"), args.pop("target"), glasses, perceiver.tracker(), **args
            )
        assert info.value.reason == reason, overrides
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mp4", "junk.mp4"]


def test_cli_renders_a_video(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    result = CliRunner().invoke(
        app,
        [
            "render",
            "--video",
            str(clip),
            "--product-image",
            str(DEMO / "sunglasses-aviator.png"),
            "--category",
            "eyewear",
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["frames"] == 12
    assert data["rendered"] == 11
    assert data["output"] == str(out)
    assert len(_read_video(out)) == 12


@pytest.mark.parametrize(
    ("video", "message"),
    [("missing.mp4", "no such video"), ("junk.mp4", "cannot read the video")],
)
def test_cli_video_errors_are_one_line(tmp_path: Path, video: str, message: str) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    result = CliRunner().invoke(
        app,
        [
            "render",
            "--video",
            str(tmp_path / video),
            "--product-image",
            str(DEMO / "glasses-round-black.png"),
            "--category",
            "eyewear",
            "-o",
            str(tmp_path / "o.mp4"),
        ],
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.mp4").exists()
