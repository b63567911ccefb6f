from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


def test_request_id_is_generated_and_echoed(client: TestClient) -> None:
    response = client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 32


def test_well_formed_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123_DEF.456"})
    assert response.headers["x-request-id"] == "abc-123_DEF.456"


@pytest.mark.parametrize("bad", ["short", "x" * 65, "has space here", "evil\u00e9injected"])
def test_hostile_request_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad.encode("utf-8")})  # type: ignore[dict-item]
    assert response.headers["x-request-id"] != bad


def test_problem_carries_the_request_id(client: TestClient) -> None:
    response = client.get("/v1/products", headers={"X-Request-ID": "req-00000001"})
    assert response.json()["request_id"] == "req-00000001"


def test_logs_are_json_lines_with_the_request_id(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    client.get("/healthz?api_key=sk_secret", headers={"X-Request-ID": "req-logged-1"})
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [
        l for l in lines if l.get("event") == "request" and l.get("request_id") == "req-logged-1"
    ]
    assert access, lines
    assert access[0]["path"] == "/healthz"
    assert access[0]["status"] == 200
    assert "sk_secret" not in json.dumps(lines)
