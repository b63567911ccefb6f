"""A real tritonserver (PyTriton, in its own venv) serving the built models, for tests and demos.

PyTriton pins numpy<2, so it runs from the pinned 'pytriton' environment as a subprocess
(``triton_server.py`` beside this module). Its python-backend stub links libpython3.11: when
the venv's interpreter is not the system build (pyenv), its LIBDIR must come first on
LD_LIBRARY_PATH or model loading fails with
"'_thread.RLock' object has no attribute '_recursion_count'".

Start-up without races: the server's output goes to a log file, never to a pipe we parse;
it is ready when Triton says so over HTTP (``/v2/health/ready``, then each model's ready
endpoint), its metrics endpoint answers and its gRPC endpoint reports ready. tritonserver
cannot bind port 0 and report the ports it got, so the least racy choice is: the OS picks three
free ports (held together, so none repeats), they are released just before tritonserver starts,
and when one was taken in between tritonserver exits ("already in use", ``exit_on_error``) and
we start again on new ports, up to ``START_ATTEMPTS`` times.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from ml_service.errors import BackendUnavailable
from ml_service.models import catalog, venvs
from ml_service.ports import log_tail, reserve_ports

SCRIPT = Path(__file__).with_name("triton_server.py")
START_ATTEMPTS = 3
POLL_S = 0.1
PORT_TAKEN = ("already in use", "address in use")


@dataclass(frozen=True, slots=True)
class TritonServer:
    http_url: str
    grpc_url: str
    metrics_url: str
    log_path: Path


class _PortTaken(Exception):
    """tritonserver exited because another process bound one of its ports first."""


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


def _grpc_ready(url: str) -> bool:
    import tritonclient.grpc as grpcclient  # noqa: PLC0415 - heavy, only when serving
    from tritonclient.utils import InferenceServerException  # noqa: PLC0415

    client = grpcclient.InferenceServerClient(url)
    try:
        return bool(client.is_server_ready(client_timeout=2.0))
    except InferenceServerException:  # unreachable or not ready yet
        return False
    finally:
        client.close()


def _is_ready(server: TritonServer, models: tuple[catalog.ModelSpec, ...]) -> bool:
    base = f"http://{server.http_url}"
    paths = ["/v2/health/ready", *(f"/v2/models/{spec.name}/ready" for spec in models)]
    try:
        with httpx.Client(base_url=base, timeout=2.0) as client:
            if any(client.get(path).status_code != 200 for path in paths):
                return False
        if httpx.get(server.metrics_url, timeout=2.0).status_code != 200:
            return False
    except httpx.HTTPError:
        return False
    return _grpc_ready(server.grpc_url)


def _wait_ready(
    process: subprocess.Popen[bytes],
    server: TritonServer,
    models: tuple[catalog.ModelSpec, ...],
    *,
    deadline: float,
    log_offset: int,
) -> None:
    """Poll Triton until it is ready; raise when it exits or the deadline passes."""
    while not _is_ready(server, models):
        if process.poll() is not None:
            with server.log_path.open(errors="replace") as log:
                log.seek(log_offset)
                output = log.read().lower()
            if any(marker in output for marker in PORT_TAKEN):
                raise _PortTaken
            raise BackendUnavailable(
                f"tritonserver exited with status {process.returncode} before it was ready "
                f"(log: {server.log_path}):\n{log_tail(server.log_path)}",
                model="*",
                backend="triton",
            )
        if time.monotonic() >= deadline:
            raise BackendUnavailable(
                f"tritonserver was not ready before the deadline (log: {server.log_path}):\n"
                f"{log_tail(server.log_path)}",
                model="*",
                backend="triton",
            )
        time.sleep(POLL_S)


@contextlib.contextmanager
def serve(
    *,
    models_dir: Path,
    cache_dir: Path,
    models: tuple[catalog.ModelSpec, ...] = tuple(catalog.MODELS.values()),
    start_timeout_s: float = 180.0,
    log_path: Path | None = None,
) -> Iterator[TritonServer]:
    """Start tritonserver on ephemeral loopback ports; stop it (and its children) on exit.

    Its output goes to ``log_path`` (a new temporary file when not given); every error names
    that file and shows its tail.
    """
    python = venvs.python_of(venvs.ensure_venv(name="pytriton", cache_dir=cache_dir))
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (_libdir(python), env.get("LD_LIBRARY_PATH", "")) if p
    )
    deadline = time.monotonic() + start_timeout_s
    for attempt in range(1, START_ATTEMPTS + 1):
        ports = reserve_ports(3)
        server = TritonServer(
            http_url=f"127.0.0.1:{ports[0]}",
            grpc_url=f"127.0.0.1:{ports[1]}",
            metrics_url=f"http://127.0.0.1:{ports[2]}/metrics",
            log_path=log_path,
        )
        with log_path.open("ab") as log:
            log.write(f"--- attempt {attempt}: ports {ports}\n".encode())
            log.flush()
            offset = log.tell()
            process = subprocess.Popen(  # noqa: S603 - argv we build, no shell
                [str(python), "-I", str(SCRIPT), str(models_dir), *(str(p) for p in ports)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: tritonserver and stubs die too
            )
        try:
            if process.stdin is None:  # pragma: no cover - PIPE given
                raise BackendUnavailable("no pipe to tritonserver", model="*", backend="triton")
            process.stdin.write(specs_json(models).encode())
            process.stdin.close()
            _wait_ready(process, server, models, deadline=deadline, log_offset=offset)
        except _PortTaken:
            _stop(process)
            if attempt == START_ATTEMPTS:
                raise BackendUnavailable(
                    f"tritonserver found a port taken {attempt} times (log: {log_path})",
                    model="*",
                    backend="triton",
                ) from None
            continue
        except BaseException:
            _stop(process)
            raise
        try:
            yield server
        finally:
            _stop(process)
        return


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
