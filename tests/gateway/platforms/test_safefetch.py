"""The SSRF-safe image fetcher: what it refuses, and that it fetches what it may.

A local HTTP server on loopback plays the image hosts. Loopback itself is forbidden, so the
tests reach it in two ways: an injected resolver gives a public address for a made-up host and
a transport carries the connection to the local server (recording which address and Host
header the fetcher asked for), or the test base URL override names the server's exact origin.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from gateway.errors import FetchFailed, UnsafeURL
from gateway.platforms import safefetch
from gateway.platforms.safefetch import FORBIDDEN_NETWORKS, fetch, is_forbidden_address

PUBLIC_IP = "93.184.216.34"
OTHER_PUBLIC_IP = "151.101.1.69"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


class _Images(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.seen.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        if parts.path == "/img.png":
            self._send(200, "image/png", PNG)
        elif parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path.startswith("/chain/"):
            left = int(parts.path.rsplit("/", 1)[1])
            self.send_response(301)
            self.send_header("Location", f"/chain/{left - 1}" if left > 0 else "/img.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/big":
            self._send(200, "image/png", PNG + b"\0" * 20_000)
        elif parts.path == "/big-unannounced":
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(PNG)
            for _ in range(200):
                self.wfile.write(b"\0" * 1000)
        elif parts.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            try:
                for index in range(len(PNG)):
                    self.wfile.write(PNG[index : index + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the fetcher hung up: what the test wants
        elif parts.path == "/html":
            self._send(200, "text/html", b"<html></html>")
        elif parts.path == "/not-a-png":
            self._send(200, "image/png", b"<svg onload=alert(1)></svg>")
        elif parts.path == "/missing":
            self._send(404, "text/plain", b"nope")
        else:
            self._send(500, "text/plain", b"?")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the fetcher may hang up early
            self.wfile.write(body)


class Server:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def seen(self) -> list[tuple[str, str | None]]:
        seen: list[tuple[str, str | None]] = self.httpd.seen  # type: ignore[attr-defined]
        return seen

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


class ToLocal(httpx.BaseTransport):
    """Carries every connection to the local server; records the URL the fetcher asked for."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.asked: list[tuple[str, str]] = []
        self.sni: list[str | None] = []
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append((str(request.url), request.headers["host"]))
        self.sni.append(request.extensions.get("sni_hostname"))
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.server.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def public_resolver(mapping: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return mapping[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def get(url: str, **kwargs: Any) -> safefetch.FetchedImage:
    kwargs.setdefault("max_bytes", 10_000)
    kwargs.setdefault("timeout_s", 10)
    return fetch(url, **kwargs)


# -- what it fetches ---------------------------------------------------------------------------


def test_fetches_through_the_vetted_address_keeping_the_host_name(server: Server) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    image = get("http://cdn.example.com/img.png", resolver=resolver, transport=transport)
    assert image.content == PNG
    assert image.content_type == "image/png"
    assert image.final_url == "http://cdn.example.com/img.png"
    assert transport.asked == [(f"http://{PUBLIC_IP}/img.png", "cdn.example.com")]


def test_https_connects_to_the_address_with_the_name_for_sni_and_certificate(
    server: Server,
) -> None:
    # The transport here speaks plain HTTP to the local server; what matters is what the
    # fetcher asked for: the vetted address, the Host header and the TLS server name.
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": ["2606:4700::6810:84e5"]})
    get("https://cdn.example.com/img.png?v=1", resolver=resolver, transport=transport)
    assert transport.asked == [("https://[2606:4700::6810:84e5]/img.png?v=1", "cdn.example.com")]
    assert transport.sni == ["cdn.example.com"]


def test_international_names_are_resolved_in_their_ascii_form(server: Server) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"xn--exmple-cua.com": [PUBLIC_IP]})
    get("http://ex\u00e4mple.com/img.png", resolver=resolver, transport=transport)
    assert resolver.calls == ["xn--exmple-cua.com"]
    assert transport.asked[0][1] == "xn--exmple-cua.com"


def test_one_dns_answer_per_hop_so_a_rebinding_answer_is_never_used(server: Server) -> None:
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    transport = ToLocal(server)
    get("http://cdn.example.com/img.png", resolver=rebinding, transport=transport)
    assert calls == ["cdn.example.com"]
    assert transport.asked[0][0].startswith(f"http://{PUBLIC_IP}/")


def test_follows_up_to_three_redirects_vetting_each(server: Server) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    image = get("http://cdn.example.com/chain/2", resolver=resolver, transport=transport)
    assert image.final_url == "http://cdn.example.com/img.png"
    assert len(resolver.calls) == 4  # every hop resolved and checked again
    with pytest.raises(FetchFailed) as caught:
        get("http://cdn.example.com/chain/3", resolver=resolver, transport=transport)
    assert caught.value.reason == "redirects"


def test_the_base_url_override_allows_exactly_its_origin(server: Server) -> None:
    image = get(f"{server.origin}/img.png", base_url_override=server.origin)
    assert image.content == PNG
    # Without the override the same URL is loopback: refused before any connection.
    before = len(server.seen)
    with pytest.raises(UnsafeURL):
        get(f"{server.origin}/img.png")
    assert len(server.seen) == before
    # Another port on loopback, or the metadata address, stay refused with the override set.
    for url in (
        f"http://127.0.0.1:{server.port + 1}/img.png",
        f"https://127.0.0.1:{server.port}/img.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/img.png",
    ):
        with pytest.raises(UnsafeURL):
            get(url, base_url_override=server.origin)


def test_redirects_from_the_override_origin_are_vetted(server: Server) -> None:
    for target in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:1/x"):
        with pytest.raises(UnsafeURL):
            get(f"{server.origin}/redirect?to={target}", base_url_override=server.origin)


def test_the_override_must_be_loopback(server: Server) -> None:
    with pytest.raises(ValueError, match="loopback"):
        get("http://cdn.example.com/img.png", base_url_override="http://10.0.0.5:8080")
    named = f"http://localhost:{server.port}"
    assert get(f"{named}/img.png", base_url_override=named).content == PNG


def test_base_url_override_for_follows_the_environment(make_settings: Any) -> None:
    assert safefetch.base_url_override_for(make_settings()) is None
    local = make_settings(platform_api_base_url="http://127.0.0.1:8270")
    assert safefetch.base_url_override_for(local) == "http://127.0.0.1:8270"


# -- what it refuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "ftp://example.com/img.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "//cdn.example.com/img.png",
        "http:///img.png",
        "http://user:pw@cdn.example.com/img.png",
        "http://127.0.0.1/img.png",
        "http://127.0.0.1:8270/img.png",
        "http://localhost/img.png",
        "http://LOCALHOST./img.png",
        "http://app.localhost/img.png",
        "http://[::1]/img.png",
        "http://0.0.0.0/img.png",
        "http://0/img.png",
        "http://10.1.2.3/img.png",
        "http://172.16.0.1/img.png",
        "http://172.31.255.254/img.png",
        "http://192.168.1.1/img.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/img.png",
        "http://[fc00::1]/img.png",
        "http://[fd12:3456::1]/img.png",
        "http://[fe80::1]/img.png",
        "http://[::ffff:127.0.0.1]/img.png",
        "http://[::ffff:7f00:1]/img.png",
        "http://[::ffff:169.254.169.254]/img.png",
        "http://[2002:7f00:1::]/img.png",
        "http://[64:ff9b::7f00:1]/img.png",
        "http://[64:ff9b::a9fe:a9fe]/img.png",
        "http://[::]/img.png",
        "http://[ff02::1]/img.png",
        "http://224.0.0.1/img.png",
        "http://255.255.255.255/img.png",
        "http://2130706433/img.png",
        "http://0x7f.1/img.png",
        "http://0x7f000001/img.png",
        "http://017700000001/img.png",
        "http://0177.0.0.1/img.png",
        "http://127.1/img.png",
        "http://2852039166/latest/meta-data/",  # 169.254.169.254
        "http://999.1.1.1/img.png",
        "http://cdn.example.com:99999/img.png",
        "http://cdn.example.com:0/img.png",
        "http://127.0.0.1./img.png",
        "http://[fe80::1%25eth0]/img.png",
        "http://[::ffff:0.0.0.0]/img.png",
        "http://[::1/img.png",
        "http://exa mple.com/img.png",
        "http://%31%32%37.0.0.1/img.png",
        "http://cdn.example.com/img.png\r\nX-Injected: 1",
        "http://cdn.example.com/\x00.png",
        "http://" + "a" * 300 + ".com/img.png",
        "http://127.0.0.1\\@cdn.example.com/img.png",
    ],
)
def test_refuses_before_connecting(url: str) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {host}: a literal or a refused name must not be")

    def no_connection(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"connected to {request.url}")

    with pytest.raises(UnsafeURL):
        get(url, resolver=no_dns, transport=httpx.MockTransport(no_connection))


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["::1"], ["10.0.0.7"], [PUBLIC_IP, "192.168.0.10"], ["169.254.169.254"]],
)
def test_refuses_a_name_that_resolves_inside(addresses: list[str]) -> None:
    def no_connection(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"connected to {request.url}")

    resolver = public_resolver({"evil.example.com": addresses})
    with pytest.raises(UnsafeURL):
        get(
            "http://evil.example.com/img.png",
            resolver=resolver,
            transport=httpx.MockTransport(no_connection),
        )


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/img.png",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[::ffff:127.0.0.1]/",
        "http://inside.example.com/img.png",
        "file:///etc/passwd",
    ],
)
def test_refuses_a_redirect_from_an_allowed_host_to_inside(server: Server, target: str) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP], "inside.example.com": ["10.0.0.1"]})
    with pytest.raises(UnsafeURL):
        get(f"http://cdn.example.com/redirect?to={target}", resolver=resolver, transport=transport)
    assert len(transport.asked) == 1  # the redirect itself, nothing after it


def test_oversized_bodies_are_cut_off(server: Server) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    for path in ("/big", "/big-unannounced"):
        with pytest.raises(FetchFailed) as caught:
            get(f"http://cdn.example.com{path}", resolver=resolver, transport=transport)
        assert caught.value.reason == "too-large"
    assert get("http://cdn.example.com/img.png", resolver=resolver, transport=transport)


def test_a_slow_drip_hits_the_total_time_cap(server: Server) -> None:
    # The whole body would arrive in len(PNG) x 50 ms (seconds); the cap is far below.
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    with pytest.raises(FetchFailed) as caught:
        get("http://cdn.example.com/drip", resolver=resolver, transport=transport, timeout_s=0.3)
    assert caught.value.reason == "timeout"


def test_the_time_cap_spans_the_whole_fetch_on_an_injected_clock(server: Server) -> None:
    # Each look at the clock costs a second: 3 s is spent before the body is read.
    ticks = iter(range(0, 1000))
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    with pytest.raises(FetchFailed) as caught:
        get(
            "http://cdn.example.com/chain/2",
            resolver=resolver,
            transport=transport,
            timeout_s=3,
            clock=lambda: float(next(ticks)),
        )
    assert caught.value.reason == "timeout"


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/html", "content-type"), ("/not-a-png", "content-type"), ("/missing", "status")],
)
def test_refuses_what_is_not_an_allowed_image(server: Server, path: str, reason: str) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    with pytest.raises(FetchFailed) as caught:
        get(f"http://cdn.example.com{path}", resolver=resolver, transport=transport)
    assert caught.value.reason == reason


def test_only_the_allowed_types(server: Server) -> None:
    transport = ToLocal(server)
    resolver = public_resolver({"cdn.example.com": [PUBLIC_IP]})
    with pytest.raises(FetchFailed):
        get(
            "http://cdn.example.com/img.png",
            resolver=resolver,
            transport=transport,
            allowed_types=("image/jpeg",),
        )


def test_a_resolver_failure_is_a_fetch_failure() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(FetchFailed) as caught:
        get("http://nowhere.example.com/img.png", resolver=failing)
    assert caught.value.reason == "network"


# -- the address rule --------------------------------------------------------------------------


@st.composite
def forbidden_addresses(draw: st.DrawFn) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    network = draw(st.sampled_from(FORBIDDEN_NETWORKS))
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    return network.network_address + offset


@settings(max_examples=300, deadline=None)
@given(address=forbidden_addresses())
def test_any_address_in_a_forbidden_network_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert is_forbidden_address(address)
    literal = f"[{address}]" if address.version == 6 else str(address)
    with pytest.raises(UnsafeURL):
        get(f"http://{literal}/img.png", resolver=lambda h, p: [])
    with pytest.raises(UnsafeURL):
        get("http://cdn.example.com/img.png", resolver=lambda h, p: [str(address)])


@settings(max_examples=200, deadline=None)
@given(v4=st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_inside_any_ipv6_wrapper_is_judged_like_the_ipv4(v4: int) -> None:
    inner = ipaddress.IPv4Address(v4)
    if is_forbidden_address(inner):
        for wrapped in (
            ipaddress.IPv6Address(f"::ffff:{inner}"),
            ipaddress.IPv6Address((0x2002 << 112) | (v4 << 80)),
            ipaddress.IPv6Address((0x64FF9B << 96) | v4),
        ):
            assert is_forbidden_address(wrapped)


@pytest.mark.parametrize("address", [PUBLIC_IP, OTHER_PUBLIC_IP, "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))
