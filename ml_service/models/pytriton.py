"""A real tritonserver (PyTriton, in its own venv) serving the built models, for tests and demos.

PyTriton pins numpy<2, so it runs from the pinned 'pytriton' environment as a subprocess.
Its python-backend stub links libpython3.11: when the venv's interpreter is not the system
build (pyenv), its LIBDIR must come first on LD_LIBRARY_PATH or model loading fails with
"'_thread.RLock' object has no attribute '_recursion_count'".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ml_service.errors import BackendUnavailable
from ml_service.models import catalog, venvs

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ml" / "pytriton_server.py"


@dataclass(frozen=True, slots=True)
class TritonServer:
    http_url: str
    grpc_url: str
    metrics_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def specs_json(models: tuple[catalog.ModelSpec, ...]) -> str:
    return json.dumps([asdict(spec) for spec in models])


def _libdir(python: Path) -> str:
    result = subprocess.run(  # noqa: S603 - argv we build, no shell
        [str(python), "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@contextlib.contextmanager
def serve(
    *,
    models_dir: Path,
    cache_dir: Path,
    models: tuple[catalog.ModelSpec, ...] = tuple(catalog.MODELS.values()),
    start_timeout_s: float = 240.0,
) -> Iterator[TritonServer]:
    """Start tritonserver on ephemeral loopback ports; stop it (and its children) on exit."""
    python = venvs.python_of(venvs.ensure_venv(name="pytriton", cache_dir=cache_dir))
    ports = [free_port() for _ in range(3)]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (_libdir(python), env.get("LD_LIBRARY_PATH", "")) if p
    )
    process = subprocess.Popen(  # noqa: S603 - argv we build, no shell
        [str(python), str(SCRIPT), str(models_dir), *(str(p) for p in ports)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: tritonserver and stubs die with it
    )
    try:
        if process.stdin is None or process.stdout is None:  # pragma: no cover - PIPE given
            raise BackendUnavailable("no pipes to tritonserver", model="*", backend="triton")
        process.stdin.write(specs_json(models))
        process.stdin.close()
        deadline = time.monotonic() + start_timeout_s
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip() == "READY":
                break
        else:
            line = ""
        if not lines or lines[-1].strip() != "READY":
            tail = "".join(lines[-15:])
            raise BackendUnavailable(
                f"tritonserver did not start:\n{tail}", model="*", backend="triton"
            )
        yield TritonServer(
            http_url=f"127.0.0.1:{ports[0]}",
            grpc_url=f"127.0.0.1:{ports[1]}",
            metrics_url=f"http://127.0.0.1:{ports[2]}/metrics",
        )
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()
