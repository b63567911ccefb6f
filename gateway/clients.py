"""Who is calling: the client address that per-address limits count against.

The peer of the TCP connection, unless that peer is a proxy we trust
(``TRYON_TRUSTED_PROXIES``, none by default): then ``X-Forwarded-For`` is read from the right,
past every trusted hop, and the first address not trusted is the client. Anything before it
in the header was written by the client itself and is ignored, so a caller cannot pick the
address it is counted as. ``tryon serve`` gives uvicorn the same list, so the address seen
here and in uvicorn's own logs agree (applying it twice gives the same answer).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted(value: str, trusted: Sequence[IPNetwork]) -> bool:
    """Whether ``value`` is an address inside one of the ``trusted`` networks (pure)."""
    address = _address(value)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in trusted)


def resolve(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address from the connection's ``peer`` and the ``X-Forwarded-For``
    header values, in order (pure; see the module docstring)."""
    if not peer:
        return UNKNOWN
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        if _address(hop) is None:
            break  # garbage: the hops before it cannot be trusted either
        client = str(_address(hop))
        if not is_trusted(hop, trusted):
            break
    return client


def client_address(connection: HTTPConnection, trusted: Sequence[IPNetwork]) -> str:
    """The client address of an HTTP request or a WebSocket (see ``resolve``)."""
    peer = connection.client.host if connection.client else None
    return resolve(peer, connection.headers.getlist("x-forwarded-for"), trusted)
