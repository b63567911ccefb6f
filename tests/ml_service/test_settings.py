"""ML settings: prefix, defaults (embedded mode), validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ml_service.models import store
from ml_service.settings import MLSettings


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_CACHE_DIR", "/tmp/tryon-cache")
    settings = MLSettings()
    assert settings.backend == "onnxruntime"
    assert settings.threads == 1
    assert store.models_dir(settings) == Path("/tmp/tryon-cache/models") / store.build_key()


def test_environment_switches_to_triton(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_ML_BACKEND", "triton")
    monkeypatch.setenv("TRYON_ML_TRITON_URL", "triton:8001")
    monkeypatch.setenv("TRYON_ML_TRITON_PROTOCOL", "grpc")
    monkeypatch.setenv("TRYON_ML_MODELS_DIR", "/srv/models")
    settings = MLSettings()
    assert (settings.backend, settings.triton_url, settings.triton_protocol) == (
        "triton",
        "triton:8001",
        "grpc",
    )
    assert store.models_dir(settings) == Path("/srv/models")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRYON_ML_BACKEND", "tensorflow"),
        ("TRYON_ML_THREADS", "0"),
        ("TRYON_ML_TRITON_PROTOCOL", "ftp"),
        ("TRYON_ML_TRITON_TIMEOUT_S", "-1"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        MLSettings()
