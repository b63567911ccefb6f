"""`tryon analyze` and `tryon models ...` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from ml_service.models import store
from testkit.images import load_bgr, test_image

runner = CliRunner()


@pytest.mark.usefixtures("built_models")
def test_analyze_json_has_the_documented_schema() -> None:
    astronaut, bus = test_image("astronaut"), test_image("bus")
    result = runner.invoke(app, ["analyze", str(astronaut), str(bus), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(astronaut), str(bus)]
    first = lines[0]
    assert (first["width"], first["height"]) == (512, 512)
    face = first["faces"][0]
    assert set(face) == {
        "box",
        "score",
        "landmarks",
        "iris",
        "head_pose",
        "ipd_mm",
        "eye_openness",
        "glasses",
    }
    assert set(face["glasses"]) == {"present", "score", "dark"}
    assert first["rejected"] == []
    assert len(face["landmarks"]) == 468
    assert all(len(p) == 3 for p in face["landmarks"])
    assert set(face["iris"]) == {"left", "right"}
    assert len(face["iris"]["left"]) == 2
    assert set(face["head_pose"]) == {"yaw", "pitch", "roll"}
    body = lines[1]["bodies"][0]
    assert len(body["landmarks"]) == 33
    assert all(len(p) == 4 for p in body["landmarks"])
    assert "total" in first["timings_ms"]


@pytest.mark.usefixtures("built_models")
def test_analyze_can_skip_the_body() -> None:
    result = runner.invoke(app, ["analyze", str(test_image("astronaut")), "--json", "--no-body"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["bodies"] == []


@pytest.mark.usefixtures("built_models")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello, not an image", "not a JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "cannot decode"),
        (b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024), "exceeds the cap"),
    ],
)
def test_unreadable_images_fail_clearly_without_traceback(
    tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    result = runner.invoke(app, ["analyze", str(bad), "--json"])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""


@pytest.mark.usefixtures("built_models")
def test_good_images_still_print_when_another_fails(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jpg"
    result = runner.invoke(app, ["analyze", str(missing), str(test_image("astronaut")), "--json"])
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_missing_models_are_reported_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_ML_MODELS_DIR", str(tmp_path / "nothing"))
    result = runner.invoke(app, ["analyze", str(test_image("astronaut"))])
    assert result.exit_code == 1
    assert "tryon models build" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_ml_configuration_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_ML_THREADS", "zero")
    result = runner.invoke(app, ["models", "path"])
    assert result.exit_code == 2
    assert "threads" in result.stderr


def test_models_path_points_into_the_cache_by_content_key() -> None:
    result = runner.invoke(app, ["models", "path"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith(store.build_key())


@pytest.mark.usefixtures("built_models")
def test_models_build_is_a_cache_hit_when_built() -> None:
    result = runner.invoke(app, ["models", "build", "--no-progress"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith(store.build_key())


def test_models_build_failure_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no uv anywhere
    result = runner.invoke(app, ["models", "build", "--no-progress"])
    assert result.exit_code == 1
    assert "uv not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("built_models")
def test_a_large_photo_is_reported_in_its_own_pixels(tmp_path: Path) -> None:
    small = load_bgr("astronaut")
    big = cv2.resize(small, (2560, 2560), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    result = runner.invoke(app, ["analyze", str(path), "--json", "--no-body"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["width"], out["height"]) == (2560, 2560)  # decoded at 1280, reported at 2560
    reference = runner.invoke(app, ["analyze", str(test_image("astronaut")), "--json"])
    face = json.loads(reference.stdout)["faces"][0]
    box = out["faces"][0]["box"]
    assert abs(box[0] - 5 * face["box"][0]) < 40
    assert abs(box[3] - 5 * face["box"][3]) < 40
