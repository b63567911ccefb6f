"""Start servers on ports the OS chooses, and know when they are ready, without races.

A port found free and then released can be taken by anyone before the server binds it, so
nothing here picks a port for someone else. The server binds port 0 itself (``listen``), keeps
that socket, and reports the port it got in a file (``write_port_file``): ``tryon serve`` and
``tryon ml serve`` do this with ``--port 0 --port-file PATH``. Whoever started it reads the
file (``read_port_file``) and then polls an HTTP endpoint (``wait_http_ok``) until the server
answers 200; ``start`` does both for a child process whose output goes to a log file, and every
failure says why and shows that log's tail. Readiness never comes from parsing a child's
output.

Servers that cannot bind port 0 and report it (tritonserver, a RabbitMQ node) get ports from
``reserve_ports``: the least racy choice left, as long as the caller starts again on new ports
when the server says a port was taken.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from ml_service.errors import StartupFailed

POLL_S = 0.05


def listen(host: str = "127.0.0.1", port: int = 0, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host``; port 0 lets the OS choose a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def reserve_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the OS found free (held open together so none repeats).

    Only for servers that cannot bind port 0 themselves: the ports are free when this
    returns, not necessarily when the server binds them; retry on "already in use".
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [port_of(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def write_port_file(path: Path, port: int) -> None:
    """Write ``port`` to ``path`` atomically: a reader sees no file or the whole number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{port}\n")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def log_tail(log_path: Path | None, lines: int = 40) -> str:
    if log_path is None:
        return ""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return f"(no log at {log_path})"
    return "\n".join(text.splitlines()[-lines:])


def _fail(what: str, log_path: Path | None) -> StartupFailed:
    tail = log_tail(log_path)
    where = f" (log: {log_path})" if log_path is not None else ""
    return StartupFailed(f"{what}{where}" + (f"\n{tail}" if tail else ""), log_path=log_path)


def _check_alive(process: subprocess.Popen[bytes] | None, what: str, log: Path | None) -> None:
    if process is not None and process.poll() is not None:
        raise _fail(f"{what}: the process exited with status {process.returncode}", log)


def read_port_file(
    path: Path,
    *,
    deadline: float,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Wait until ``path`` holds a port; fail when ``process`` exits or ``deadline`` passes."""
    while True:
        with contextlib.suppress(FileNotFoundError):
            text = path.read_text().strip()
            if text:
                return int(text)
        _check_alive(process, "no port reported", log_path)
        if clock() >= deadline:
            raise _fail(f"no port reported in {path} before the deadline", log_path)
        time.sleep(POLL_S)


def wait_http_ok(
    url: str,
    *,
    deadline: float,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll ``url`` until it answers 200; fail when ``process`` exits or ``deadline`` passes."""
    last = "no answer"
    while True:
        try:
            response = httpx.get(url, timeout=max(0.5, min(5.0, deadline - clock())))
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        _check_alive(process, f"{url} never answered 200", log_path)
        if clock() >= deadline:
            raise _fail(f"{url} did not answer 200 before the deadline (last: {last})", log_path)
        time.sleep(POLL_S)


@dataclass(frozen=True, slots=True)
class Started:
    """A child server that answered its readiness check."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path


def stop(process: subprocess.Popen[bytes], *, timeout_s: float = 30.0) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it outlives ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)


@contextlib.contextmanager
def start(
    command: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/healthz",
    host: str = "127.0.0.1",
    timeout_s: float = 90.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Started]:
    """Run ``command --port 0 --port-file F``; yield once ``ready_path`` answers 200; stop it.

    The child's stdout and stderr go to ``log_path``; errors carry its tail.
    """
    deadline = clock() + timeout_s
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tryon-port-") as tmp:
        port_file = Path(tmp) / "port"
        argv = [*command, "--host", host, "--port", "0", "--port-file", str(port_file)]
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - argv from our callers, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        try:
            port = read_port_file(
                port_file, deadline=deadline, process=process, log_path=log_path, clock=clock
            )
            url = f"http://{host}:{port}"
            wait_http_ok(
                url + ready_path,
                deadline=deadline,
                process=process,
                log_path=log_path,
                clock=clock,
            )
            yield Started(url=url, port=port, process=process, log_path=log_path)
        finally:
            stop(process)


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port that refuses connections while held: bound (nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        yield port_of(sock)
