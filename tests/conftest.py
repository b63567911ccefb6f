"""Fixtures shared by every test: settings, apps and the real services."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import services

TEST_SECRET = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's TRYON_* variables or writes into ./var."""
    import os

    for name in list(os.environ):
        keep = name.startswith("TRYON_TEST_") or name in {"TRYON_CACHE_DIR", "TRYON_MODELS_DIR"}
        if name.startswith("TRYON_") and not keep:
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRYON_ENV", "test")
    monkeypatch.setenv("TRYON_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("TRYON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TRYON_LOG_JSON", "true")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test run and dropped after it."""
    with services.postgres_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own for one test (migrations, outages)."""
    with services.postgres_database("tryon_fresh") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis

    try:
        Redis.from_url(services.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except Exception as exc:
        services.require("Redis", f"{type(exc).__name__}: {exc}")
    return services.REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    from redis import Redis

    prefix = services.unique_name("tryon_test") + ":"
    yield prefix
    client = Redis.from_url(redis_url)
    for key in client.scan_iter(match=prefix + "*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    import pika

    try:
        pika.BlockingConnection(
            pika.URLParameters(services.AMQP_URL + "?socket_timeout=2&connection_attempts=1")
        ).close()
    except Exception as exc:
        services.require("RabbitMQ", f"{type(exc).__name__}: {exc}")
    return services.AMQP_URL


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Any]:
    """Build gateway settings for a test; keyword arguments override fields."""
    from gateway.settings import GatewaySettings

    def build(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "env": "test",
            "secret_key": TEST_SECRET,
            "data_dir": tmp_path / "var",
            "log_json": True,
        }
        values.update(overrides)
        return GatewaySettings(**values)

    return build
