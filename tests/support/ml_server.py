"""Run ``tryon ml serve``'s app on an ephemeral loopback port, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ml_service import ports
from ml_service.engine import LocalEngine, TryOnEngine
from ml_service.service import create_service


@contextmanager
def ml_server(engine: TryOnEngine | None = None) -> Iterator[str]:
    """Serve the ML facade over HTTP; yields its base URL once /healthz answers; stops it."""
    sock = ports.listen()  # bound and listening before the server thread starts: no race
    url = f"http://127.0.0.1:{ports.port_of(sock)}"
    config = uvicorn.Config(
        create_service(engine or LocalEngine()),
        host="127.0.0.1",
        port=ports.port_of(sock),
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        ports.wait_http_ok(url + "/healthz", deadline=time.monotonic() + 60)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
