"""Run ``tryon serve`` as a child process (the real server: uvicorn's own options, its own
memory), with a database and a merchant of its own. Its log goes to a file that is printed
when the server does not come up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ml_service import ports

ORIGIN = "https://shop.example"
START_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class GatewayProcess:
    url: str
    pid: int
    publishable_key: str
    secret_key: str
    log: Path


def _tryon() -> str:
    return str(Path(sys.executable).with_name("tryon"))


def _run(args: list[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(
        [_tryon(), *args], env=dict(env), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@contextmanager
def gateway_process(
    workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[GatewayProcess]:
    """Serve the gateway on a loopback port with an embedded database in ``workdir``; yield
    it once ``/healthz`` answers; stop it afterwards. ``env`` adds ``TRYON_*`` settings."""
    workdir.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "TRYON_DATA_DIR": str(workdir / "var"),
        "TRYON_LOG_JSON": "true",
        "TRYON_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    _run(["db", "upgrade"], full_env)
    created = json.loads(
        _run(["merchant", "create", "--name", "Shop", "--origin", ORIGIN, "--json"], full_env)
    )
    with ports.start(
        [_tryon(), "serve", "--no-migrate"],
        log_path=workdir / "server.log",
        env=full_env,
        timeout_s=START_TIMEOUT_S,
    ) as server:
        yield GatewayProcess(
            url=server.url,
            pid=server.process.pid,
            publishable_key=created["publishable_key"],
            secret_key=created["secret_key"],
            log=server.log_path,
        )


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def rss_bytes(pid: int) -> int:
    """The process's resident memory now."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident memory since ``reset_peak_rss`` (or its start)."""
    return _status_kib(pid, "VmHWM") * 1024


def reset_peak_rss(pid: int) -> None:
    """Start measuring the peak from the current resident memory (Linux ``clear_refs``)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
