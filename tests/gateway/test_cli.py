from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from ml_service import ports

runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tryon`` entry point like a user would."""
    tryon = Path(sys.executable).with_name("tryon")
    return subprocess.run(
        [str(tryon), *args], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


def test_merchant_create_prints_keys_that_work(tmp_path: Path) -> None:
    assert run("db", "upgrade").returncode == 0
    result = run("merchant", "create", "--name", "Demo")
    assert result.returncode == 0, result.stderr
    assert "pk_" in result.stdout
    assert "sk_" in result.stdout
    assert "cannot be shown again" in result.stderr

    from fastapi.testclient import TestClient

    from gateway.main import create_app

    sk = next(w for w in result.stdout.split() if w.startswith("sk_"))
    with TestClient(create_app()) as client:
        response = client.get("/v1/products", headers={"Authorization": f"Bearer {sk}"})
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_merchant_create_json() -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app,
        ["merchant", "create", "--name", "Shop", "--origin", "HTTPS://Shop.Example:443", "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["publishable_key"].startswith("pk_")
    assert out["secret_key"].startswith("sk_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["merchant", "create", "--name", "   "], "--name"),
        (["merchant", "create", "--name", "x" * 201], "--name"),
        (["merchant", "create", "--name", "A", "--origin", "ftp://x"], "not a web origin"),
        (["merchant", "create", "--name", "A", "--origin", "https://x/path"], "no path"),
    ],
)
def test_merchant_create_rejects_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_merchant_create_without_database_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    from gateway.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["merchant", "create", "--name", "A"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot use the database" in result.output
    assert "Traceback" not in result.output


def test_bad_configuration_is_reported_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_ENV", "production")
    monkeypatch.setenv("TRYON_SECRET_KEY", "changethis")
    result = run("db", "upgrade")
    assert result.returncode == 2
    assert "TRYON_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["merchant"],
        ["merchant", "create"],
        ["storage"],
        ["storage", "sweep"],
    ],
)
def test_help_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_serve_port_becomes_the_public_url(tmp_path: Path) -> None:
    """``tryon serve --port 0`` without TRYON_PUBLIC_URL: the app's public URL follows the
    port the OS chose, so a page the gateway serves itself is recognised as calling from its
    own origin (same-origin GETs carry no Origin header; ``make demo`` with TRYON_PORT relies
    on it)."""
    assert run("db", "upgrade").returncode == 0
    tryon = Path(sys.executable).with_name("tryon")
    with ports.start(
        [str(tryon), "serve", "--no-migrate"],
        log_path=tmp_path / "serve.log",
        env=os.environ,
        ready_path="/healthz",
    ) as server:
        created = run("merchant", "create", "--name", "Here", "--origin", server.url, "--json")
        pk = json.loads(created.stdout)["publishable_key"]
        response = httpx.get(
            f"{server.url}/v1/widget/config",
            params={"product": "nothing-here"},
            headers={"Authorization": f"Bearer {pk}", "Sec-Fetch-Site": "same-origin"},
        )
        # Past the key and origin checks: only the product is unknown.
        assert response.status_code == 404, response.text


def test_serve_on_a_taken_port_fails_clearly(tmp_path: Path) -> None:
    with ports.listen() as taken:
        result = run("serve", "--port", str(ports.port_of(taken)), "--no-migrate")
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr
