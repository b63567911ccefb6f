"""Reach the real services (PostgreSQL, Redis, RabbitMQ) the tests run against.

A test needing one calls ``require``: on a laptop without it the test skips; with ``CI=true``
it fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

POSTGRES_ADMIN_URL = os.environ.get(
    "TRYON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TRYON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("TRYON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def require(service: str, problem: str | None) -> None:
    """Skip (or, under CI, fail) when ``problem`` says the service is not usable."""
    if problem is None:
        return
    message = f"{service} is not reachable: {problem}"
    if CI:
        pytest.fail(f"{message} (CI=true: tests may not skip for a missing service)")
    pytest.skip(message)


def tcp_problem(host: str, port: int, timeout: float = 1.0) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def postgres_database(prefix: str = "tryon_test") -> Iterator[str]:
    """Create a fresh database, yield its SQLAlchemy URL, drop it afterwards (skipped on a
    laptop without PostgreSQL, a failure under CI)."""
    from sqlalchemy.engine import make_url

    from testkit.postgres import throwaway_database

    admin_url = make_url(POSTGRES_ADMIN_URL)
    require("PostgreSQL", tcp_problem(admin_url.host or "127.0.0.1", admin_url.port or 5432))
    with throwaway_database(prefix, admin_url=POSTGRES_ADMIN_URL) as url:
        yield url
