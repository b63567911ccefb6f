"""The lifecycle the fake platforms share: a threaded HTTP server on ``127.0.0.1:0`` whose
handler class reaches the fake as ``owner``; a context manager; ``base_url`` once started."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LoopbackFake:
    """Subclasses set ``handler`` (a ``BaseHTTPRequestHandler`` with an ``owner`` attribute)."""

    handler: type[BaseHTTPRequestHandler]
    base_url = ""
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Serve on a port the system picks (bound to 0, reported in ``base_url``)."""
        bound: dict[str, Any] = {"owner": self}
        handler = type(self.handler.__name__, (self.handler,), bound)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
