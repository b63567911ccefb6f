"""Fetch a merchant's image URL without letting it reach inside our network (SSRF).

Catalog images come from URLs a merchant (or whoever controls their store) chose. Before each
connection the host is resolved once and every address checked against ``FORBIDDEN_NETWORKS``
(private, loopback, link-local with the cloud metadata address 169.254.169.254, CGNAT, ULA,
multicast, unspecified, reserved, and the IPv6 forms that carry an IPv4 address: mapped,
compatible, 6to4, NAT64, Teredo); the connection then goes to that vetted address (the Host
header and TLS SNI keep the name), so a second DNS answer cannot swap in another (DNS
rebinding). Redirects are followed by hand, at most ``MAX_REDIRECTS``, each target vetted the
same way. The body is streamed with a byte cap, the whole fetch has one deadline, and the
answer must be an allowed image type whose first bytes match it.

IP literals in the forms ``inet_aton`` accepts (``2130706433``, ``0x7f.1``,
``017700000001``) are read as the addresses they denote, as browsers and resolvers do.

The test base URL (``TRYON_PLATFORM_API_BASE_URL``, development and test only) may point at a
fake platform on loopback: ``base_url_override`` allows exactly that origin (scheme, host and
port) and nothing else; it must itself be a loopback address.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx
import structlog

from gateway.errors import FetchFailed, UnsafeURL

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` as strings; the default asks the system (getaddrinfo)."""

MAX_REDIRECTS = 3
DEFAULT_TYPES = ("image/jpeg", "image/png", "image/webp")

FORBIDDEN_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        # IPv4 (RFC 6890 special-purpose registry)
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches loopback on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT shared address space
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        # IPv6
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/32",  # Teredo
        "2001:db8::/32",
        "2002::/16",  # 6to4
        "fc00::/7",  # ULA
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)
_DNS_NAME = re.compile(
    r"(?=[a-z0-9._-]{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
    r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?"
)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class FetchedImage(NamedTuple):
    """An image fetched through the guard: its bytes, declared type and the URL it came from."""

    content: bytes
    content_type: str
    final_url: str


def is_forbidden_address(address: IPAddress) -> bool:
    """Whether connecting to ``address`` could reach something that is not the public web."""
    if any(address in network for network in FORBIDDEN_NETWORKS):
        return True
    return not address.is_global or address.is_multicast or address.is_reserved


def base_url_override_for(settings: GatewaySettings) -> str | None:
    """The override ``fetch`` may honour: the test base URL in development and test only."""
    if settings.env in {"development", "test"}:
        return settings.platform_api_base_url
    return None


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allowed_types: Iterable[str] = DEFAULT_TYPES,
    resolver: Resolver | None = None,
    base_url_override: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.BaseTransport | None = None,
) -> FetchedImage:
    """GET an image from an untrusted URL; ``FetchedImage`` or an error.

    Raises ``UnsafeURL`` (422) for a URL or redirect target it will not connect to, and
    ``FetchFailed`` (``reason``: ``status``, ``too-large``, ``timeout``, ``content-type``,
    ``redirects``, ``network``) when the host did not give an acceptable image in
    ``timeout_s`` seconds and ``max_bytes`` bytes. ``resolver``, ``clock`` and ``transport``
    are for tests.
    """
    allowed = {t.lower() for t in allowed_types}
    resolve = resolver or _system_resolver
    override = _override_origin(base_url_override)
    deadline = clock() + timeout_s
    # The first target is vetted before a client (and its TLS context) is even built.
    target = _vet(url, resolve=resolve, override=override, deadline=deadline, clock=clock)
    with httpx.Client(
        transport=transport, trust_env=False, follow_redirects=False, verify=True
    ) as client:
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                target = _vet(
                    current, resolve=resolve, override=override, deadline=deadline, clock=clock
                )
            result = _get(client, target, max_bytes=max_bytes, deadline=deadline, clock=clock)
            if isinstance(result, str):
                if hop == MAX_REDIRECTS:
                    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", reason="redirects")
                current = urljoin(current, result)
                continue
            content_type, content = result
            if content_type not in allowed:
                raise FetchFailed(
                    f"the answer is {content_type or 'untyped'}, not an allowed image type",
                    reason="content-type",
                )
            if not _magic_matches(content_type, content):
                raise FetchFailed(f"the body is not {content_type}", reason="content-type")
            return FetchedImage(content, content_type, current)
    raise AssertionError("unreachable")  # pragma: no cover


class PinnedTarget(NamedTuple):
    """Where a vetted call connects: ``url`` names the vetted address in place of the host
    (or, without DNS, the host as given); send ``host_header`` as ``Host`` and ``sni`` (when
    set) as httpx's ``sni_hostname``, so the name travels while the address stays pinned."""

    url: str
    host_header: str
    sni: str | None


def _override_origin(base_url: str | None) -> tuple[str, str, int] | None:
    if not base_url:
        return None
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or not host:
        raise ValueError("base_url_override must be an http(s) URL")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host in _LOOPBACK_NAMES
    if not loopback:
        raise ValueError("base_url_override must be a loopback address (a local fake platform)")
    return parts.scheme, host, parts.port or _default_port(parts.scheme)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _literal_address(host: str) -> IPAddress | None:
    """The address an IP literal denotes, in any form a resolver would accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise UnsafeURL("The host is a malformed IP address", url=_safe(host)) from None
    return None


def vet_url(
    url: str,
    *,
    resolver: Resolver | None = None,
    resolve: bool = True,
    base_url_override: str | None = None,
    timeout_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> PinnedTarget:
    """The checks ``fetch`` makes before each hop, for other calls to a host a merchant chose
    (a WooCommerce or Magento store's own URL): ``UnsafeURL`` when ``url`` could reach inside
    our network, ``FetchFailed`` when its name does not resolve in time; else where to
    connect. ``resolve=False`` checks everything but DNS (literal addresses, names): the call
    goes to the test base URL's fake instead, so the name is never looked up.
    ``base_url_override`` as for ``fetch``; ``resolver`` and ``clock`` are for tests."""
    return _vet(
        url,
        resolve=(resolver or _system_resolver) if resolve else None,
        override=_override_origin(base_url_override),
        deadline=clock() + timeout_s,
        clock=clock,
    )


def _vet(
    url: str,
    *,
    resolve: Resolver | None,
    override: tuple[str, str, int] | None,
    deadline: float,
    clock: Callable[[], float],
) -> PinnedTarget:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeURL("The URL has control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("The URL cannot be parsed") from None
    if port == 0:
        raise UnsafeURL("The URL has no usable port")
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnsafeURL(f"Only http and https URLs are fetched, not {scheme or 'none'}:")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("URLs with credentials are not fetched")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL has no host")
    port = port or _default_port(scheme)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    if override is not None and (scheme, host, port) == override:
        # The test fake on loopback, exactly this origin: connect as given.
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return PinnedTarget(f"{scheme}://{netloc}{path}{query}", netloc, None)
    bare = host.rstrip(".")
    if bare in _LOOPBACK_NAMES or bare.endswith(".localhost"):
        raise UnsafeURL("The URL points at this machine", url=_safe(url))
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        host = _dns_name(host)
        if resolve is None:  # checked as far as possible without asking DNS
            netloc = host if port == _default_port(scheme) else f"{host}:{port}"
            return PinnedTarget(f"{scheme}://{netloc}{path}{query}", netloc, None)
        addresses = _resolve(resolve, host, port, deadline=deadline, clock=clock)
    for address in addresses:
        if is_forbidden_address(address):
            raise UnsafeURL(
                "The URL resolves to an address that is not on the public internet",
                url=_safe(url),
            )
    chosen = addresses[0]
    ip = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    default = port == _default_port(scheme)
    host_header = f"[{host}]" if ":" in host else host
    if not default:
        host_header = f"{host_header}:{port}"
    return PinnedTarget(
        f"{scheme}://{ip}:{port}{path}{query}",
        host_header,
        host if scheme == "https" and literal is None else None,
    )


def _dns_name(host: str) -> str:
    """``host`` as the ASCII name DNS is asked for (IDNA), or ``UnsafeURL``."""
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURL("The host name is not valid") from None
    if not _DNS_NAME.fullmatch(name):
        raise UnsafeURL("The host name is not valid")
    return name


def _resolve(
    resolve: Resolver, host: str, port: int, *, deadline: float, clock: Callable[[], float]
) -> list[IPAddress]:
    remaining = deadline - clock()
    if remaining <= 0:
        raise FetchFailed("the time for this fetch ran out", reason="timeout")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        found = pool.submit(resolve, host, port).result(timeout=remaining)
    except concurrent.futures.TimeoutError:
        raise FetchFailed(f"resolving {host} took too long", reason="timeout") from None
    except OSError:
        raise FetchFailed(f"{host} does not resolve", reason="network") from None
    finally:
        pool.shutdown(wait=False)
    addresses: list[IPAddress] = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            raise UnsafeURL("The host resolves to something that is not an address") from None
    if not addresses:
        raise FetchFailed(f"{host} does not resolve", reason="network")
    return addresses


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _get(
    client: httpx.Client,
    target: PinnedTarget,
    *,
    max_bytes: int,
    deadline: float,
    clock: Callable[[], float],
) -> str | tuple[str, bytes]:
    """One GET: the redirect's ``Location``, or ``(content type, body)`` of a 2xx."""
    remaining = deadline - clock()
    if remaining <= 0:
        raise FetchFailed("the time for this fetch ran out", reason="timeout")
    extensions: dict[str, object] = {}
    if target.sni:
        extensions["sni_hostname"] = target.sni
    try:
        request = client.build_request(
            "GET",
            target.url,
            headers={
                "Host": target.host_header,
                "Accept": "image/*",
                "Accept-Encoding": "identity",
            },
            timeout=httpx.Timeout(remaining),
            extensions=extensions,
        )
        response = client.send(request, stream=True)
    except (httpx.InvalidURL, UnicodeError):
        raise UnsafeURL("The URL cannot be fetched as written") from None
    except httpx.TimeoutException:
        raise FetchFailed("the image host did not answer in time", reason="timeout") from None
    except httpx.TransportError as exc:
        raise FetchFailed(
            f"the image host failed: {type(exc).__name__}", reason="network"
        ) from None
    try:
        status = response.status_code
        if status in {301, 302, 303, 307, 308}:
            location: str | None = response.headers.get("location")
            if not location:
                raise FetchFailed("a redirect without a Location", reason="status", status=status)
            return location
        if not 200 <= status < 300:
            raise FetchFailed(f"the image host answered {status}", reason="status", status=status)
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailed(f"the image is over {max_bytes} bytes", reason="too-large")
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchFailed(f"the image is over {max_bytes} bytes", reason="too-large")
                if clock() > deadline:
                    raise FetchFailed("the image took too long to arrive", reason="timeout")
        except httpx.TimeoutException:
            raise FetchFailed("the image took too long to arrive", reason="timeout") from None
        except httpx.TransportError as exc:
            raise FetchFailed(
                f"the image host failed: {type(exc).__name__}", reason="network"
            ) from None
        return content_type, bytes(body)
    finally:
        response.close()


def _magic_matches(content_type: str, content: bytes) -> bool:
    if content_type == "image/jpeg":
        return content.startswith(b"\xff\xd8\xff")
    if content_type == "image/png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/webp":
        return content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    return True


def _safe(url: str) -> str:
    """A URL for a problem body or a log: no credentials, query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable>"
    host = parts.hostname or url
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else host
