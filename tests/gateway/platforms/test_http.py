"""PlatformClient: retries, backoff, Retry-After, GraphQL throttling, errors, logs, base URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from gateway import logging as gateway_logging
from gateway.errors import (
    FetchFailed,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    ServiceUnavailable,
    UnsafeURL,
)
from gateway.platforms.http import PlatformClient, platform_url
from gateway.problems import from_error
from gateway.settings import GatewaySettings
from testkit.fakes.shopify import FakeShopify

SHOP = "some-shop.myshopify.com"
GRAPHQL = f"https://{SHOP}/admin/api/2025-10/graphql.json"
TOKEN = "shpat_" + "a1" * 16
SECRET = "shpss_" + "b2" * 16


class Clock:
    """A fake monotonic clock that the recording ``sleep`` advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A MockTransport handler answering from a script, and the requests it saw."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def client_for(handler: Handler, clock: Clock, **kwargs: Any) -> PlatformClient:
    return PlatformClient(
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.5,
        **kwargs,
    )


def test_retries_429_waiting_what_retry_after_says() -> None:
    clock = Clock()
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "2.0"}),
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json={"ok": True}),
    )
    with client_for(handler, clock, max_attempts=4) as client:
        response = client.request("GET", f"https://{SHOP}/admin/shop.json")
    assert response.json() == {"ok": True}
    assert clock.waits == [2.0, 7.0]
    assert len(seen) == 3


def test_retry_after_as_an_http_date_is_honoured() -> None:
    clock = Clock()
    handler, _ = scripted(
        httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(200),
    )
    with client_for(handler, clock) as client:
        client.request("GET", f"https://{SHOP}/x")
    assert clock.waits == [0.0]  # a date in the past: go again now


def test_retry_after_beyond_the_cap_gives_up_at_once_with_the_hint() -> None:
    clock = Clock()
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    with (
        client_for(handler, clock, max_retry_after_s=60) as client,
        pytest.raises(PlatformUnavailable) as caught,
    ):
        client.request("GET", f"https://{SHOP}/x")
    assert caught.value.headers["Retry-After"] == "3600"
    assert len(seen) == 1
    assert clock.waits == []


def test_the_waits_of_one_call_are_capped_together() -> None:
    clock = Clock()
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "40"}),
        httpx.Response(429, headers={"Retry-After": "40"}),
        httpx.Response(429, headers={"Retry-After": "40"}),
        httpx.Response(200),
    )
    with (
        client_for(handler, clock, max_attempts=4, max_wait_s=100) as client,
        pytest.raises(PlatformUnavailable, match="no time left"),
    ):
        client.request("GET", f"https://{SHOP}/x")
    assert clock.waits == [40.0, 40.0]
    assert len(seen) == 3


def test_5xx_backs_off_exponentially_with_jitter_then_gives_up() -> None:
    clock = Clock()
    handler, seen = scripted(*[httpx.Response(502) for _ in range(4)])
    with (
        client_for(handler, clock, max_attempts=4, backoff_base_s=1.0, backoff_cap_s=3.0) as c,
        pytest.raises(PlatformUnavailable) as caught,
    ):
        c.request("GET", f"https://{SHOP}/x")
    assert len(seen) == 4
    # equal jitter with jitter()=0.5: 3/4 of min(cap, base * 2^(n-1))
    assert clock.waits == [0.75, 1.5, 2.25]
    assert caught.value.status == 503
    assert "4 attempts" in caught.value.detail


def test_backoff_jitter_stays_within_its_bounds() -> None:
    for value in (0.0, 0.999):
        clock = Clock()
        handler, _ = scripted(httpx.Response(500), httpx.Response(500), httpx.Response(200))
        client = PlatformClient(
            transport=httpx.MockTransport(handler),
            sleep=clock.sleep,
            jitter=lambda v=value: v,  # type: ignore[misc]
            backoff_base_s=2.0,
        )
        client.request("GET", f"https://{SHOP}/x")
        assert 1.0 <= clock.waits[0] <= 2.0
        assert 2.0 <= clock.waits[1] <= 4.0


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_are_not_retried(status: int) -> None:
    clock = Clock()
    handler, seen = scripted(httpx.Response(status, json={"errors": "no"}))
    with client_for(handler, clock) as client, pytest.raises(PlatformRejected) as caught:
        client.request("POST", f"https://{SHOP}/x", json={})
    assert len(seen) == 1
    assert clock.waits == []
    assert caught.value.platform_status == status
    assert not isinstance(caught.value, PlatformAuthFailed)
    assert '"errors"' in caught.value.response_body


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_mean_the_token_is_dead(status: int) -> None:
    handler, seen = scripted(httpx.Response(status))
    with client_for(handler, Clock()) as client, pytest.raises(PlatformAuthFailed) as caught:
        client.request("GET", f"https://{SHOP}/x")
    assert caught.value.platform_status == status
    assert len(seen) == 1


def test_connection_failures_are_retried() -> None:
    clock = Clock()
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200))
    with client_for(handler, clock) as client:
        assert client.request("POST", f"https://{SHOP}/x").status_code == 200
    assert len(seen) == 2
    assert len(clock.waits) == 1


def test_read_timeouts_retry_idempotent_calls_only() -> None:
    clock = Clock()
    handler, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    with client_for(handler, clock) as client:
        assert client.request("GET", f"https://{SHOP}/x").status_code == 200
    assert len(seen) == 2

    handler, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    with client_for(handler, Clock()) as client, pytest.raises(PlatformUnavailable):
        client.request("POST", f"https://{SHOP}/admin/oauth/access_token", data={"code": "x"})
    assert len(seen) == 1  # the code may have been spent: never sent twice


def test_an_undecodable_answer_is_unavailable_not_a_crash() -> None:
    handler, _ = scripted(
        httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )
    )
    with client_for(handler, Clock()) as client, pytest.raises(PlatformUnavailable):
        client.request("POST", f"https://{SHOP}/x", json={})


def test_a_real_timeout_against_a_server_that_never_answers() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections into the backlog, never answers
    port = listener.getsockname()[1]
    clock = Clock()
    try:
        client = PlatformClient(
            timeout_s=0.2, max_attempts=2, base_url=f"http://127.0.0.1:{port}", sleep=clock.sleep
        )
        with pytest.raises(PlatformUnavailable) as caught:
            client.request("GET", f"https://{SHOP}/admin/shop.json")
        client.close()
    finally:
        listener.close()
    assert "ReadTimeout" in caught.value.detail
    assert len(clock.waits) == 1


def test_graphql_raises_on_errors() -> None:
    handler, _ = scripted(
        httpx.Response(
            200,
            json={
                "errors": [{"message": "Field 'nope' doesn't exist on type 'Product'"}],
                "extensions": {"cost": {"requestedQueryCost": 1}},
            },
        )
    )
    with (
        client_for(handler, Clock()) as client,
        pytest.raises(PlatformRejected, match="doesn't exist") as caught,
    ):
        client.graphql(GRAPHQL, query="{ nope }", headers={"X-Shopify-Access-Token": TOKEN})
    assert caught.value.platform_status == 200


def test_graphql_throttled_waits_by_restore_rate_then_succeeds() -> None:
    clock = Clock()
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 502,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": 102,
                    "restoreRate": 50.0,
                },
            }
        },
    }
    handler, seen = scripted(
        httpx.Response(200, json=throttled), httpx.Response(200, json={"data": {"shop": {}}})
    )
    with client_for(handler, clock) as client:
        assert client.graphql(GRAPHQL, query="{ shop { name } }", headers={}) == {"shop": {}}
    assert clock.waits == [8.02]  # (502 - 102 + 1) / 50
    assert len(seen) == 2
    body = json.loads(seen[0].content)
    assert body == {"query": "{ shop { name } }"}


def test_graphql_gives_up_when_throttled_too_often() -> None:
    throttled = httpx.Response(
        200, json={"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    )
    handler, seen = scripted(*[throttled] * 3)
    with (
        client_for(handler, Clock(), max_throttle_waits=2) as client,
        pytest.raises(PlatformUnavailable, match="throttled"),
    ):
        client.graphql(GRAPHQL, query="{ shop { name } }", headers={})
    assert len(seen) == 3


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify("app-key", SECRET) as shopify:
        shopify.add_shop(SHOP)
        yield shopify


PRODUCTS = (
    "query($after: String) { products(first: 50, after: $after) "
    "{ nodes { id title } pageInfo { hasNextPage endCursor } } }"
)


def test_graphql_waits_for_the_fakes_bucket_before_asking_again(fake: FakeShopify) -> None:
    clock = Clock()
    fake.clock = clock
    for n in range(3):
        fake.add_product(SHOP, title=f"Shirt {n}")
    token = fake.issue_token(SHOP)
    fake.set_bucket(SHOP, maximum=200, available=200, restore_rate=10)
    client = PlatformClient(base_url=fake.base_url, sleep=clock.sleep, clock=clock)
    headers = {"X-Shopify-Access-Token": token}
    first = client.graphql(GRAPHQL, query=PRODUCTS, headers=headers)
    assert [p["title"] for p in first["products"]["nodes"]] == ["Shirt 0", "Shirt 1", "Shirt 2"]
    cost = fake.requests[-1]  # the fake computed 2 + 50 x 1 = 52 per call
    assert cost.path.endswith("graphql.json")
    # 200 -> 148 -> 96 -> 44: the fourth call would be throttled; the client waits instead
    for _ in range(3):
        client.graphql(GRAPHQL, query=PRODUCTS, headers=headers)
    assert clock.waits == [pytest.approx(0.9)]  # (52 - 44 + 1) / 10
    graphql_calls = [r for r in fake.requests if r.path.endswith("graphql.json")]
    assert len(graphql_calls) == 4  # never throttled, never asked twice
    client.close()


def test_graphql_throttled_by_the_fake_recovers_at_its_restore_rate(fake: FakeShopify) -> None:
    clock = Clock()
    fake.clock = clock
    token = fake.issue_token(SHOP)
    fake.set_bucket(SHOP, maximum=1000, available=2, restore_rate=25)
    client = PlatformClient(base_url=fake.base_url, sleep=clock.sleep, clock=clock)
    data = client.graphql(GRAPHQL, query=PRODUCTS, headers={"X-Shopify-Access-Token": token})
    assert data["products"]["nodes"] == []
    assert clock.waits == [pytest.approx(2.04)]  # (52 - 2 + 1) / 25
    client.close()


def test_injected_graphql_errors_raise(fake: FakeShopify) -> None:
    token = fake.issue_token(SHOP)
    fake.inject_graphql_errors([{"message": "Internal error", "extensions": {"code": "INTERNAL"}}])
    client = PlatformClient(base_url=fake.base_url, sleep=lambda _: None)
    with pytest.raises(PlatformRejected) as caught:
        client.graphql(GRAPHQL, query=PRODUCTS, headers={"X-Shopify-Access-Token": token})
    assert caught.value.extensions["codes"] == ["INTERNAL"]
    client.close()


def test_a_revoked_token_raises_auth_failed_against_the_fake(fake: FakeShopify) -> None:
    token = fake.issue_token(SHOP)
    fake.revoke_tokens(SHOP)
    client = PlatformClient(base_url=fake.base_url, sleep=lambda _: None)
    with pytest.raises(PlatformAuthFailed) as caught:
        client.graphql(GRAPHQL, query=PRODUCTS, headers={"X-Shopify-Access-Token": token})
    assert caught.value.platform_status == 401
    client.close()


def test_injected_5xx_and_429_from_the_fake_are_retried(fake: FakeShopify) -> None:
    clock = Clock()
    token = fake.issue_token(SHOP)
    fake.inject("graphql.json", status=503, times=1)
    fake.inject("graphql.json", status=429, headers={"Retry-After": "1.5"}, times=1)
    client = PlatformClient(base_url=fake.base_url, sleep=clock.sleep, jitter=lambda: 0.0)
    client.graphql(GRAPHQL, query=PRODUCTS, headers={"X-Shopify-Access-Token": token})
    assert clock.waits == [0.25, 1.5]
    client.close()


def test_tokens_and_secrets_never_reach_the_logs(
    fake: FakeShopify, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    gateway_logging.configure(level="INFO", json=True)
    code_params = {"client_id": "app-key", "client_secret": SECRET, "code": "nope"}
    client = PlatformClient(base_url=fake.base_url, sleep=lambda _: None)
    token = fake.issue_token(SHOP)
    client.graphql(GRAPHQL, query=PRODUCTS, headers={"X-Shopify-Access-Token": token})
    with pytest.raises(PlatformRejected):
        client.request("POST", f"https://{SHOP}/admin/oauth/access_token", data=code_params)
    with pytest.raises(PlatformRejected):
        client.request("GET", f"https://{SHOP}/admin/api/2025-10/graphql.json?access_token={TOKEN}")
    client.close()
    logged = capsys.readouterr().err + "\n".join(str(r.msg) for r in caplog.records)
    assert "platform.request" in logged
    assert "/admin/oauth/access_token" in logged  # the path is logged ...
    assert SHOP in logged
    for secret in (token, TOKEN, SECRET, "access_token=", "client_secret"):
        assert secret not in logged  # ... never a token, a secret or a query string


def test_the_base_url_rewrites_every_call_to_the_fake(fake: FakeShopify) -> None:
    client = PlatformClient(base_url=fake.base_url + "/", sleep=lambda _: None)
    with pytest.raises(PlatformRejected):
        client.request("POST", f"https://{SHOP}/admin/oauth/access_token?x=1", data={})
    client.close()
    assert fake.requests[-1].path == f"/{SHOP}/admin/oauth/access_token"
    assert fake.requests[-1].query == {"x": "1"}


def test_platform_url(make_settings: Callable[..., GatewaySettings]) -> None:
    url = f"https://{SHOP}/admin/oauth/authorize?client_id=k&scope=a%2Cb"
    assert platform_url(make_settings(), url) == url
    local = make_settings(platform_api_base_url="http://127.0.0.1:9999/")
    assert (
        platform_url(local, url)
        == f"http://127.0.0.1:9999/{SHOP}/admin/oauth/authorize?client_id=k&scope=a%2Cb"
    )
    with pytest.raises(ValueError, match="absolute"):
        platform_url(local, "/relative")


def test_the_base_url_is_refused_in_production(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    with pytest.raises(ValidationError, match="refused when TRYON_ENV=production"):
        make_settings(env="production", platform_api_base_url="http://127.0.0.1:9999")
    built = make_settings(env="production")
    built.platform_api_base_url = "http://127.0.0.1:9999"  # slipped past validation by hand
    with pytest.raises(ValueError, match="production"):
        PlatformClient.from_settings(built)


@pytest.mark.parametrize("value", ["ftp://x", "127.0.0.1:9999", "http://h/?q=1"])
def test_the_base_url_must_be_an_http_url(
    make_settings: Callable[..., GatewaySettings], value: str
) -> None:
    with pytest.raises(ValidationError):
        make_settings(platform_api_base_url=value)


def test_from_settings_reads_timeout_attempts_and_base(
    make_settings: Callable[..., GatewaySettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_PLATFORM_TIMEOUT_S", "2.5")
    monkeypatch.setenv("TRYON_PLATFORM_MAX_ATTEMPTS", "6")
    monkeypatch.setenv("TRYON_PLATFORM_API_BASE_URL", "http://127.0.0.1:8271")
    client = PlatformClient.from_settings(GatewaySettings())
    assert (client.timeout_s, client.max_attempts, client.base_url) == (
        2.5,
        6,
        "http://127.0.0.1:8271",
    )
    client.close()


def test_platform_errors_map_to_problems() -> None:
    rejected = PlatformRejected("GraphQL errors", platform="shopify", platform_status=422)
    problem = json.loads(bytes(from_error(rejected).body))
    assert problem["type"] == "/problems/platform-rejected"
    assert problem["status"] == 502
    assert problem["platform_status"] == 422
    unavailable = from_error(PlatformUnavailable("down", platform="shopify", retry_after=7))
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "7"
    assert issubclass(PlatformAuthFailed, PlatformRejected)
    assert issubclass(PlatformError, ServiceUnavailable)


# -- calls to a host a merchant chose (untrusted_host) ---------------------------------------

HOSTILE_STORE_URLS = (
    "https://127.0.0.1/",
    "https://localhost/x",
    "https://[::1]/",
    "https://10.1.2.3/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:10.0.0.1]/",
    "https://0x7f.1/",
    "https://2130706433/",
    "http://shop.example:0/",
    "https://user:pass@shop.example/",
    "ftp://shop.example/",
)
"""Refused whatever DNS says: literal inside addresses in every spelling, this machine by
name, credentials, no port, another scheme."""


def _recording(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    return httpx.MockTransport(handle)


def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} looked up")


@pytest.mark.parametrize("url", HOSTILE_STORE_URLS)
@pytest.mark.parametrize("base_url", [None, "http://127.0.0.1:9"])
def test_a_hostile_store_url_is_never_called(url: str, base_url: str | None) -> None:
    seen: list[httpx.Request] = []
    with (
        PlatformClient(
            transport=_recording(seen), base_url=base_url, resolver=_no_dns, max_attempts=1
        ) as client,
        pytest.raises(UnsafeURL),
    ):
        client.request("GET", url, untrusted_host=True)
    assert seen == []


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "fd00::1", "::ffff:10.0.0.1"]
)
def test_a_store_name_that_resolves_inside_is_never_called(address: str) -> None:
    seen: list[httpx.Request] = []
    with (
        PlatformClient(
            transport=_recording(seen), resolver=lambda h, p: [address], max_attempts=1
        ) as client,
        pytest.raises(UnsafeURL),
    ):
        client.request("GET", "https://shop.example/rest/V1/products", untrusted_host=True)
    assert seen == []


def test_a_store_name_with_one_inside_address_among_public_ones_is_refused() -> None:
    seen: list[httpx.Request] = []
    resolver = lambda h, p: ["93.184.215.14", "10.0.0.1"]  # noqa: E731
    with (
        PlatformClient(transport=_recording(seen), resolver=resolver, max_attempts=1) as client,
        pytest.raises(UnsafeURL),
    ):
        client.request("GET", "https://shop.example/wp-json/wc/v3/products", untrusted_host=True)
    assert seen == []


def test_a_public_store_is_called_at_its_vetted_address_with_its_name() -> None:
    seen: list[httpx.Request] = []
    resolver = lambda h, p: ["93.184.215.14"]  # noqa: E731
    with PlatformClient(transport=_recording(seen), resolver=resolver, max_attempts=1) as client:
        client.request("GET", "https://shop.example/rest/V1/products?a=1", untrusted_host=True)
        client.request("GET", "https://shop.example/rest/V1/products")  # a platform's own host
    pinned, unpinned = seen
    assert str(pinned.url) == "https://93.184.215.14/rest/V1/products?a=1"
    assert pinned.headers["host"] == "shop.example"
    assert pinned.extensions["sni_hostname"] == "shop.example"
    assert str(unpinned.url) == "https://shop.example/rest/V1/products"


def test_under_the_test_base_url_the_store_name_is_checked_without_dns() -> None:
    seen: list[httpx.Request] = []
    with PlatformClient(
        transport=_recording(seen), base_url="http://127.0.0.1:9", resolver=_no_dns, max_attempts=1
    ) as client:
        client.request("GET", "https://shop.example/rest/V1/orders", untrusted_host=True)
        with pytest.raises(UnsafeURL):
            client.request("GET", "https://shop..example/", untrusted_host=True)
    assert [str(r.url) for r in seen] == ["http://127.0.0.1:9/shop.example/rest/V1/orders"]


def test_a_store_name_that_does_not_resolve_fails_without_a_call() -> None:
    seen: list[httpx.Request] = []

    def failing(host: str, port: int) -> list[str]:
        raise OSError("NXDOMAIN")

    with (
        PlatformClient(transport=_recording(seen), resolver=failing, max_attempts=1) as client,
        pytest.raises(FetchFailed),
    ):
        client.request("GET", "https://gone.example/", untrusted_host=True)
    assert seen == []


# -- the platform a call is for ----------------------------------------------------------------


def test_each_platform_is_named_in_its_logs_and_errors(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    gateway_logging.configure(level="INFO", json=True)
    handler, seen = scripted(httpx.Response(200), httpx.Response(404), httpx.Response(200))
    shared = client_for(handler, Clock())
    woo = shared.for_platform("woocommerce")
    woo.request("GET", "https://shop.example/wp-json/wc/v3/products")
    with pytest.raises(PlatformRejected) as rejected:
        shared.for_platform("magento").request("GET", "https://m.example/rest/V1/products")
    assert rejected.value.platform == "magento"
    with PlatformClient.from_settings(
        GatewaySettings(env="test"), transport=httpx.MockTransport(handler), platform="shopify"
    ) as own:
        own.request("GET", f"https://{SHOP}/admin/oauth/access_scopes.json")
    assert shared.platform is None
    assert woo._http is shared._http  # one pool for all
    shared.close()
    logged = [
        json.loads(line)
        for line in (capsys.readouterr().err + capsys.readouterr().out).splitlines()
        if '"platform.request"' in line
    ]
    assert [(e["platform"], e["host"]) for e in logged] == [
        ("woocommerce", "shop.example"),
        ("magento", "m.example"),
        ("shopify", SHOP),
    ]
    assert len(seen) == 3
