"""Where the running server is: ``tryon serve`` notes its public URL in the data dir, so that
the commands run next to it (``tryon dashboard link``, ``tryon demo seed``, ``make
demo-smoke``) print links to and call the port it really listens on, even when
``TRYON_PORT`` was given only to ``make demo``'s terminal."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from gateway.settings import GatewaySettings

FILE = "server.json"


def note(settings: GatewaySettings) -> Path:
    """Record this process as the server of ``settings.data_dir``; returns the file."""
    path = Path(settings.data_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"public_url": settings.public_url, "pid": os.getpid()}))
    return path


def forget(path: Path) -> None:
    """Remove the note when this process wrote it (not a newer server's)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _listening(url: str, timeout_s: float = 0.5) -> bool:
    """Whether something accepts connections where ``url`` points (the note outlives a
    server killed by a signal, and its pid may be reused: the port is what counts)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def public_url(settings: GatewaySettings, environ: dict[str, str] | None = None) -> str:
    """The URL browsers reach the server on: what the environment says when it names a port
    or URL, else what a server of this data dir noted if it still listens there, else the
    settings' default."""
    env = os.environ if environ is None else environ
    if env.get("TRYON_PUBLIC_URL") or env.get("TRYON_PORT"):
        return settings.public_url
    try:
        noted = json.loads((Path(settings.data_dir) / FILE).read_text())
    except (OSError, ValueError):
        return settings.public_url
    url = noted.get("public_url") if isinstance(noted, dict) else None
    if isinstance(url, str) and url.startswith(("http://", "https://")) and _listening(url):
        return url
    return settings.public_url
