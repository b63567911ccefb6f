"""Rate limits per key and per IP (Redis and in-process), quota, and body size caps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.errors import QuotaExceeded
from gateway.limits import quota
from gateway.limits.ratelimit import (
    Hit,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    gcra,
)
from gateway.merchants.models import Merchant
from gateway.settings import GatewaySettings
from gateway.usage import service as usage
from tests.gateway.conftest import ORIGIN, assert_problem, auth, merchant_in, running, widget


def test_gcra_allows_a_burst_then_spaces_requests() -> None:
    tat, now = 0.0, 100.0
    for _ in range(5):
        decision, tat = gcra(tat, now, limit=5, window_s=10)
        assert decision.allowed
    decision, tat = gcra(tat, now, limit=5, window_s=10)
    assert not decision.allowed
    assert decision.retry_after_s == pytest.approx(2.0)
    decision, _ = gcra(tat, now + 2.0, limit=5, window_s=10)
    assert decision.allowed


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(url)
    yield RedisRateLimiter(client, prefix)
    client.close()


def test_both_backends_limit_the_same_way(limiter: RateLimiter) -> None:
    results = [limiter.hit("k", limit=3, window_s=60).allowed for _ in range(5)]
    assert results == [True, True, True, False, False]
    refused = limiter.hit("k", limit=3, window_s=60)
    assert 15 <= refused.retry_after_s <= 20  # one slot frees every 20 s
    assert limiter.hit("other", limit=3, window_s=60).allowed


def test_several_limits_count_in_order_and_stop_at_a_refusal(limiter: RateLimiter) -> None:
    per_key = [Hit("key:a", 2, 60), Hit("ip:x", 3, 60)]
    assert limiter.hit_all(per_key) is None
    assert limiter.hit_all(per_key) is None
    refused = limiter.hit_all(per_key)  # the key's third: refused, the address not counted
    assert refused is not None
    assert refused.index == 0
    assert not refused.decision.allowed
    assert 25 <= refused.decision.retry_after_s <= 30  # one slot frees every 30 s
    other_key = [Hit("key:b", 10, 60), Hit("ip:x", 3, 60)]
    assert limiter.hit_all(other_key) is None  # the address's third
    refused = limiter.hit_all(other_key)
    assert refused is not None
    assert refused.index == 1


def test_memory_limiter_stays_bounded() -> None:
    limiter = MemoryRateLimiter(max_keys=10)
    for i in range(100):
        limiter.hit(f"ip:{i}", limit=1, window_s=60)
    assert len(limiter._tats) == 10


@pytest.fixture(params=["memory", "redis"])
def limited(
    request: pytest.FixtureRequest, make_settings: Callable[..., GatewaySettings], tmp_path: object
) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/limits.db"
    migrate.upgrade(url)
    extra = {}
    if request.param == "redis":
        extra = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    settings = make_settings(database_url=url, rate_limit_per_key=3, rate_limit_per_ip=5, **extra)
    with running(settings) as client:
        yield client


def test_per_key_limit_answers_429_with_retry_after(limited: TestClient) -> None:
    m = merchant_in(limited)
    statuses = [
        limited.get(
            "/v1/widget/models", params={"product": "x"}, headers=widget(m.publishable_key)
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [404, 404, 404]
    response = limited.get(
        "/v1/widget/models", params={"product": "x"}, headers=widget(m.publishable_key)
    )
    body = assert_problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1
    assert body["retry_after"] == int(response.headers["retry-after"])
    # The widget can read the refusal: CORS headers are on it.
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Retry-After" in response.headers["access-control-expose-headers"].title()


def test_per_ip_limit_spans_keys(limited: TestClient) -> None:
    merchants = [merchant_in(limited, f"M{i}") for i in range(3)]
    codes = []
    for m in merchants:
        for _ in range(2):
            codes.append(
                limited.get(
                    "/v1/widget/models", params={"product": "x"}, headers=widget(m.publishable_key)
                ).status_code
            )
    # Five requests per IP are allowed, whatever the keys; the sixth is refused.
    assert codes == [404] * 5 + [429]


def test_quota_is_checked_and_reported(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    engine = embedded.app.state.engine  # type: ignore[attr-defined]
    now = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        session.get(Merchant, m.merchant.id).monthly_tryon_quota = 2  # type: ignore[union-attr]
        usage.record(
            session=session, merchant_id=m.merchant.id, metric=usage.Metric.TRYON_PHOTO, now=now
        )
        usage.record(
            session=session, merchant_id=m.merchant.id, metric=usage.Metric.ANALYZE, now=now
        )
        state = quota.check(session=session, merchant_id=m.merchant.id, limit=2, now=now)
        assert (state.used, state.remaining) == (1, 1)
        usage.record(
            session=session, merchant_id=m.merchant.id, metric=usage.Metric.TRYON_LIVE, now=now
        )
        with pytest.raises(QuotaExceeded) as refused:
            quota.check(session=session, merchant_id=m.merchant.id, limit=2, now=now)
        assert refused.value.headers["Retry-After"] == "3600"  # until 1 December 00:00 UTC
        # A new month starts from zero.
        december = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
        assert (
            quota.check(session=session, merchant_id=m.merchant.id, limit=2, now=december).used == 0
        )


def test_usage_endpoint_reports_the_month(client: TestClient) -> None:
    a, b = merchant_in(client, "A"), merchant_in(client, "B")
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        for metric, n in ((usage.Metric.TRYON_PHOTO, 3), (usage.Metric.LIVE_FRAMES, 250)):
            usage.record(
                session=session,
                merchant_id=a.merchant.id,
                metric=metric,
                now=datetime.now(UTC),
                count=n,
            )
    body = client.get("/v1/usage", headers=auth(a.secret_key)).json()
    assert body["totals"] == {"tryon_photo": 3, "live_frames": 250}
    assert body["quota"] == {"limit": 10_000, "used": 3, "remaining": 9_997, "exhausted": False}
    assert len(body["days"]) == 1
    # B sees none of A's usage.
    assert client.get("/v1/usage", headers=auth(b.secret_key)).json()["totals"] == {}
    assert (
        client.get("/v1/usage", params={"month": "2001-01"}, headers=auth(a.secret_key)).json()[
            "totals"
        ]
        == {}
    )
    for bad in ("2026-13", "26-01", "next"):
        assert_problem(
            client.get("/v1/usage", params={"month": bad}, headers=auth(a.secret_key)),
            422,
            "invalid-input",
        )


def test_json_body_cap_by_content_length(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    big = b'{"title": "' + b"x" * 300_000 + b'"}'
    response = embedded.post(
        "/v1/products",
        content=big,
        headers={**auth(m.secret_key), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")


def test_json_body_cap_when_streamed_without_length(embedded: TestClient) -> None:
    m = merchant_in(embedded)

    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    response = embedded.post(
        "/v1/products",
        content=chunks(),
        headers={**auth(m.secret_key), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")
