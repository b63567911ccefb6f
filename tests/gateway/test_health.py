from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from gateway.main import create_app
from gateway.settings import GatewaySettings

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


def test_healthz_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_working_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["database"]["ok"] is True


def test_readyz_fails_properly_when_postgres_is_unreachable(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(database_url=UNREACHABLE_PG, readiness_timeout_s=2.0)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["type"] == "/problems/not-ready"
    assert body["status"] == 503
    assert body["checks"]["database"]["ok"] is False
    assert "database" in body["detail"]
    assert elapsed < 10  # bounded by the probe timeout, not a hang


def test_readyz_checks_redis_when_configured(
    make_settings: Callable[..., GatewaySettings], redis_url: str, tmp_path: object
) -> None:
    settings = make_settings(redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
    assert body["checks"]["redis"]["ok"] is True


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("redis_url", "redis://127.0.0.1:1/0", "redis"),
        ("ml_url", "http://127.0.0.1:1", "ml"),
    ],
)
def test_readyz_reports_each_unreachable_dependency(
    make_settings: Callable[..., GatewaySettings], field: str, value: str, check: str
) -> None:
    settings = make_settings(**{field: value})
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"][check]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_readyz_checks_the_broker_when_configured(
    make_settings: Callable[..., GatewaySettings], amqp_url: str
) -> None:
    with TestClient(create_app(make_settings(amqp_url=amqp_url))) as client:
        body = client.get("/readyz").json()
    assert body["checks"]["broker"]["ok"] is True
    with TestClient(
        create_app(make_settings(amqp_url="amqp://guest:guest@127.0.0.1:1/"))
    ) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_readyz_refuses_a_server_that_is_not_a_broker(
    make_settings: Callable[..., GatewaySettings], redis_url: str
) -> None:
    # Redis listens, but does not speak AMQP: the probe must notice.
    port = redis_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0]
    settings = make_settings(amqp_url=f"amqp://127.0.0.1:{port}/", readiness_timeout_s=1.0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["checks"]["broker"]["ok"] is False
