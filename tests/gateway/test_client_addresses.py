"""Client addresses cannot be forged: X-Forwarded-For only from trusted proxies (none by
default, in uvicorn too), live sessions capped per key as well as per address, and refused
keys rate limited per address (issue 11, item 4)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketDenialResponse

from gateway.clients import is_trusted, resolve
from gateway.db import migrate
from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.gateway.conftest import ORIGIN, assert_problem, merchant_in, widget
from tests.gateway.tryon_support import eyewear_shop
from tests.support.gateway_server import gateway_process

LB = [ipaddress.ip_network("10.0.0.0/8")]


# --- the address, from the peer and the header (pure) -----------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # An untrusted peer is the client, whatever it writes.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("127.0.0.1", ["198.51.100.1"], "127.0.0.1"),
        # A trusted proxy: the first untrusted address from the right.
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # 6.6.6.6: the client's own
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # two header lines
        # Every hop trusted: the farthest one.
        ("10.0.0.2", ["10.9.9.9, 10.1.1.1"], "10.9.9.9"),
        # Nothing usable: the proxy itself, or the last hop before the garbage.
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["1.1.1.1, not-an-address"], "10.0.0.2"),
        ("10.0.0.2", ["nonsense, 10.1.1.1"], "10.1.1.1"),
        # Ports and brackets are not part of the address.
        ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        # Not an address at all (a test client, a Unix socket): never trusted.
        ("testclient", ["198.51.100.1"], "testclient"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_the_client_is_the_first_untrusted_hop(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert resolve(peer, forwarded, LB) == client


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert resolve("10.0.0.2", ["198.51.100.1"], []) == "10.0.0.2"


def test_ipv4_mapped_peers_match_ipv4_networks() -> None:
    assert is_trusted("::ffff:10.0.0.2", LB)
    assert not is_trusted("::ffff:11.0.0.2", LB)
    assert not is_trusted("2001:db8::1", LB)


def test_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().trusted_proxies == []
    monkeypatch.setenv("TRYON_TRUSTED_PROXIES", " 10.40.200.0/24, 2001:db8::/32 ,")
    assert [str(n) for n in GatewaySettings().trusted_proxies] == [
        "10.40.200.0/24",
        "2001:db8::/32",
    ]
    for bad in ("10.0.0.1/8", "everyone", "10.0.0.0/33"):
        monkeypatch.setenv("TRYON_TRUSTED_PROXIES", bad)
        with pytest.raises(ValidationError):
            GatewaySettings()


# --- through the app ------------------------------------------------------------------------


@contextmanager
def app_from(settings: GatewaySettings, peer: str = "127.0.0.1") -> Iterator[TestClient]:
    """The app, called from ``peer`` (TestClient's own default is not an address)."""
    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False, client=(peer, 50000)) as client:
            yield client
    finally:
        app.state.engine.dispose()


@pytest.fixture
def limited(make_settings: Callable[..., GatewaySettings], tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    migrate.upgrade(url)

    def build(**overrides: Any) -> GatewaySettings:
        return make_settings(database_url=url, **{"rate_limit_per_ip": 3, **overrides})

    return build


def _config(client: TestClient, key: str, forwarded: str | None = None) -> int:
    headers = widget(key)
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    response = client.get("/v1/widget/config", params={"product": "nothing"}, headers=headers)
    return response.status_code


def test_a_forged_forwarded_for_changes_nothing_by_default(limited: Any) -> None:
    with app_from(limited()) as client:
        pk = merchant_in(client).publishable_key
        codes = [_config(client, pk, f"198.51.100.{i}") for i in range(5)]
    assert codes == [404] * 3 + [429] * 2


def test_a_trusted_proxy_names_the_client(limited: Any) -> None:
    with app_from(limited(trusted_proxies="127.0.0.0/8")) as client:
        pk = merchant_in(client).publishable_key
        # Each client behind the proxy is counted on its own ...
        assert [_config(client, pk, f"198.51.100.{i}") for i in range(5)] == [404] * 5
        # ... and what a client writes before the proxy's own entry is not believed.
        codes = [_config(client, pk, f"6.6.6.{i}, 203.0.113.7") for i in range(5)]
    assert codes == [404] * 3 + [429] * 2


@pytest.mark.parametrize("kind", ["publishable", "secret", "missing"])
def test_refused_keys_are_rate_limited_per_address(limited: Any, kind: str) -> None:
    with app_from(limited(rate_limit_auth_failures_per_ip=3, trusted_proxies="127.0.0.1")) as c:
        good = merchant_in(c)

        def attempt(address: str) -> Any:
            forwarded = {"X-Forwarded-For": address}
            if kind == "secret":
                return c.get(
                    "/v1/products", headers={"Authorization": "Bearer sk_nope", **forwarded}
                )
            key = {"Authorization": "Bearer pk_nope"} if kind == "publishable" else {}
            return c.get(
                "/v1/widget/config",
                params={"product": "nothing"},
                headers={"Origin": ORIGIN, **key, **forwarded},
            )

        answers = [attempt("198.51.100.1") for _ in range(5)]
        assert [a.status_code for a in answers] == [401] * 3 + [429] * 2
        body = assert_problem(answers[-1], 429, "rate-limited")
        assert "refused keys" in body["detail"]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        # Another address is not affected, and neither are good keys from this one.
        assert attempt("198.51.100.2").status_code == 401
        assert _config(c, good.publishable_key, "198.51.100.1") == 404


def test_live_handshakes_with_refused_keys_are_rate_limited(limited: Any) -> None:
    with app_from(limited(rate_limit_auth_failures_per_ip=2)) as client:
        statuses = []
        for _ in range(3):
            with pytest.raises(WebSocketDenialResponse) as denied:
                client.websocket_connect(
                    "/v1/widget/live?key=pk_nope&product=x", headers={"origin": ORIGIN}
                ).__enter__()
            statuses.append(denied.value.status_code)
    assert statuses == [401, 401, 429]


def test_live_sessions_per_key_are_capped(limited: Any) -> None:
    with app_from(limited(ws_max_per_key=2, ws_max_per_ip=10, rate_limit_per_ip=100)) as client:
        shop = eyewear_shop(client)
        other = eyewear_shop(client, name="Other")

        def url(key: str) -> str:
            return f"/v1/widget/live?key={key}&product=round-black"

        pk = shop.merchant.publishable_key
        with (
            client.websocket_connect(url(pk), headers={"origin": ORIGIN}) as first,
            client.websocket_connect(url(pk), headers={"origin": ORIGIN}) as second,
        ):
            assert first.receive_json()["type"] == "hello"
            assert second.receive_json()["type"] == "hello"
            with pytest.raises(WebSocketDenialResponse) as denied:
                client.websocket_connect(url(pk), headers={"origin": ORIGIN}).__enter__()
            assert denied.value.status_code == 429
            assert b"per key" in denied.value.content
            # Another merchant's key from the same address is welcome.
            with client.websocket_connect(
                url(other.merchant.publishable_key), headers={"origin": ORIGIN}
            ) as third:
                assert third.receive_json()["type"] == "hello"
        # Closed sessions give their places back.
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while runtime.live_by_key and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.live_by_key == {}
        with client.websocket_connect(url(pk), headers={"origin": ORIGIN}) as again:
            assert again.receive_json()["type"] == "hello"


# --- tryon serve (uvicorn's own proxy handling) -------------------------------------------------


def _rotating(url: str, key: str, count: int, forwarded: Callable[[int], str]) -> list[int]:
    headers = {"Authorization": f"Bearer {key}", "Origin": ORIGIN}
    return [
        httpx.get(
            f"{url}/v1/widget/config",
            params={"product": "nothing"},
            headers={**headers, "X-Forwarded-For": forwarded(i)},
            timeout=30,
        ).status_code
        for i in range(count)
    ]


def test_tryon_serve_believes_no_forwarded_for_by_default(tmp_path: Path) -> None:
    """The reported defect: uvicorn trusted X-Forwarded-For from 127.0.0.1 by default, so a
    caller on the host (or behind a local proxy) could rotate the header past every limit."""
    with gateway_process(tmp_path, {"TRYON_RATE_LIMIT_PER_IP": "5"}) as gw:
        codes = _rotating(gw.url, gw.publishable_key, 8, lambda i: f"198.51.100.{i}")
    assert codes == [404] * 5 + [429] * 3


def test_tryon_serve_believes_its_trusted_proxies(tmp_path: Path) -> None:
    env = {"TRYON_RATE_LIMIT_PER_IP": "5", "TRYON_TRUSTED_PROXIES": "127.0.0.1/32"}
    with gateway_process(tmp_path, env) as gw:
        rotating = _rotating(gw.url, gw.publishable_key, 8, lambda i: f"198.51.100.{i}")
        same = _rotating(gw.url, gw.publishable_key, 8, lambda i: f"6.6.6.{i}, 203.0.113.7")
    assert rotating == [404] * 8
    assert same == [404] * 5 + [429] * 3
