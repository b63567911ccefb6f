"""Web origins: parsing and comparison (scheme, host, port; nothing else)."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; ``ValueError`` if not one."""
    parts = urlsplit(value.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not a web origin: {value!r} (expected https://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin has no path, query or credentials: {value!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in origin: {value!r}") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    suffix = "" if port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"
