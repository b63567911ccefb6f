"""Run ``tryon ml serve``'s app on an ephemeral loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from ml_service.engine import LocalEngine, TryOnEngine
from ml_service.service import create_service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ml_server(engine: TryOnEngine | None = None) -> Iterator[str]:
    """Serve the ML facade over HTTP; yields its base URL; stops it afterwards."""
    port = free_port()
    config = uvicorn.Config(
        create_service(engine or LocalEngine()),
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the ML service did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
