from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import PLACEHOLDER_SECRET, GatewaySettings


@pytest.mark.parametrize("env", ["test", "production"])
def test_placeholder_secret_is_refused_outside_development(env: str) -> None:
    with pytest.raises(ValidationError, match="TRYON_SECRET_KEY"):
        GatewaySettings(env=env, secret_key=PLACEHOLDER_SECRET)  # type: ignore[arg-type]


def test_short_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="32"):
        GatewaySettings(env="production", secret_key="short")  # type: ignore[arg-type]


def test_development_accepts_the_placeholder() -> None:
    settings = GatewaySettings(env="development", secret_key=PLACEHOLDER_SECRET)  # type: ignore[arg-type]
    assert settings.secret_key.get_secret_value() == PLACEHOLDER_SECRET


def test_embedded_defaults_live_under_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_DATA_DIR", "/srv/tryon")
    settings = GatewaySettings()
    assert settings.sqlalchemy_url == "sqlite:////srv/tryon/tryon.db"
    assert settings.is_embedded_db
    assert settings.redis_url is None
    assert settings.ml_url is None


def test_urls_switch_to_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_DATABASE_URL", "postgresql+psycopg://u@db/tryon")
    monkeypatch.setenv("TRYON_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("TRYON_ML_URL", "http://ml:8001")
    settings = GatewaySettings()
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@db/tryon"
    assert not settings.is_embedded_db
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.ml_url == "http://ml:8001"


def test_data_dir_default_is_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRYON_DATA_DIR")
    assert GatewaySettings().data_dir == Path("var")


@pytest.mark.parametrize(
    ("env", "public_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"TRYON_PORT": "8106"}, "http://127.0.0.1:8106"),
        ({"TRYON_HOST": "0.0.0.0", "TRYON_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"TRYON_HOST": "localhost"}, "http://localhost:8000"),
        ({"TRYON_HOST": "::1"}, "http://[::1]:8000"),
        ({"TRYON_PORT": "8106", "TRYON_PUBLIC_URL": "https://api.example"}, "https://api.example"),
    ],
)
def test_public_url_follows_the_port_unless_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], public_url: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert GatewaySettings().public_url == public_url
