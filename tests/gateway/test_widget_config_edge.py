"""The widget configuration at the edge (``gateway.widget.config``): validators, caching
headers, the rendered bytes per product and their invalidation by the merchant's generation
(any write to what the merchant owns, whatever table or column), in both modes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.cache import MemoryCache
from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.merchants.models import Merchant
from gateway.metrics import Metrics
from gateway.readcache import (
    ReadCache,
    generation_keys,
    invalidate_on_commit,
    merchant_key,
    models_key,
    product_key,
    quota_key,
)
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from gateway.usage import service as usage
from gateway.widget.config import CACHE_CONTROL
from tests.gateway.conftest import ORIGIN, assert_problem, auth, merchant_in, running, widget
from tests.gateway.test_widget_cache import (
    OTHER_ORIGIN,
    cache_counts,
    config,
    new_product,
    settle,
    short_hold,
    statements,
)


def etag_of(client: TestClient, pk: str, product: str = "round") -> str:
    response = config(client, pk, product)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def test_validators_and_caching_headers(client: TestClient) -> None:
    m = merchant_in(client)
    new_product(client, m.secret_key)
    first = config(client, m.publishable_key)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert first.headers["cache-control"] == CACHE_CONTROL
    assert "public" in CACHE_CONTROL
    assert "max-age=30" in CACHE_CONTROL
    vary = {v.strip().lower() for v in first.headers["vary"].split(",")}
    assert {"authorization", "origin"} <= vary
    assert first.headers["access-control-allow-origin"] == ORIGIN
    assert first.headers["content-type"] == "application/json"
    again = config(client, m.publishable_key)
    assert again.content == first.content
    assert again.headers["etag"] == etag

    for sent in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        cached = client.get(
            "/v1/widget/config",
            params={"product": "round"},
            headers={**widget(m.publishable_key), "If-None-Match": sent},
        )
        assert cached.status_code == 304, sent
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == CACHE_CONTROL
        assert cached.headers["access-control-allow-origin"] == ORIGIN
    for sent in ('"other"', "garbage", "", 'W/"x", "y"', "x" * 4000):
        fresh = client.get(
            "/v1/widget/config",
            params={"product": "round"},
            headers={**widget(m.publishable_key), "If-None-Match": sent},
        )
        assert fresh.status_code == 200, sent
        assert fresh.content == first.content


def test_a_matching_etag_is_no_way_around_the_key_and_origin_checks(client: TestClient) -> None:
    m = merchant_in(client)
    new_product(client, m.secret_key)
    etag = etag_of(client, m.publishable_key)
    other = client.get(
        "/v1/widget/config",
        params={"product": "round"},
        headers={**widget(m.publishable_key, OTHER_ORIGIN), "If-None-Match": etag},
    )
    assert_problem(other, 403, "origin-not-allowed")
    assert "access-control-allow-origin" not in other.headers
    forged = client.get(
        "/v1/widget/config",
        params={"product": "round"},
        headers={**widget("pk_" + "x" * 32), "If-None-Match": etag},
    )
    assert forged.status_code == 401
    secret = client.get(
        "/v1/widget/config",
        params={"product": "round"},
        headers={**widget(m.secret_key), "If-None-Match": etag},
    )
    assert secret.status_code == 403
    unknown = client.get(
        "/v1/widget/config",
        params={"product": "nope"},
        headers={**widget(m.publishable_key), "If-None-Match": etag},
    )
    assert_problem(unknown, 404, "not-found")
    long_ref = config(client, m.publishable_key, "x" * 500)
    assert long_ref.status_code == 422


def test_every_input_changes_the_bytes_at_once(client: TestClient) -> None:
    short_hold(client)
    m = merchant_in(client)
    made = new_product(client, m.secret_key)
    settle()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    seen = {etag_of(client, m.publishable_key)}
    assert etag_of(client, m.publishable_key) in seen  # served again, unchanged

    def changed() -> str:
        settle()
        etag = etag_of(client, m.publishable_key)
        assert etag not in seen
        seen.add(etag)
        assert etag_of(client, m.publishable_key) == etag  # and cached again
        return etag

    patched = client.patch(
        f"/v1/products/{made['id']}", json={"title": "Renamed"}, headers=auth(m.secret_key)
    )
    assert patched.status_code == 200, patched.text
    changed()
    assert config(client, m.publishable_key).json()["product"]["title"] == "Renamed"

    with session_scope(engine) as session:
        merchant = session.get(Merchant, m.merchant.id)
        assert merchant is not None
        merchant.monthly_tryon_quota = 7
    changed()
    assert config(client, m.publishable_key).json()["quota"]["remaining"] == 7

    with session_scope(engine) as session:  # a SQL statement, not a flush
        usage.record(
            session=session,
            merchant_id=m.merchant.id,
            metric=usage.Metric.TRYON_PHOTO,
            now=datetime.now(UTC),
        )
    changed()
    assert config(client, m.publishable_key).json()["quota"]["remaining"] == 6


def test_a_write_to_anything_the_merchant_owns_renders_again(client: TestClient) -> None:
    """Generic invalidation: a table the configuration does not show today (a store
    connection) still bumps the merchant's generation, so a field added to the configuration
    later from such a table is never served stale."""
    short_hold(client)
    m = merchant_in(client)
    new_product(client, m.secret_key)
    settle()
    etag = etag_of(client, m.publishable_key)
    etag_of(client, m.publishable_key)
    misses = cache_counts(client)[("widget_config", "miss")]
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.add(
            Store(
                merchant_id=m.merchant.id,
                platform=Platform.SHOPIFY,
                shop_domain="edge-test.myshopify.com",
            )
        )
    settle()
    assert etag_of(client, m.publishable_key) == etag  # same content, rendered again
    assert cache_counts(client)[("widget_config", "miss")] == misses + 1


def test_tenants_and_keys_never_share_rendered_bytes(client: TestClient) -> None:
    a = merchant_in(client, "A")
    b = merchant_in(client, "B")
    new_product(client, a.secret_key, title="Shop A's")
    new_product(client, b.secret_key, title="Shop B's")
    assert config(client, a.publishable_key).json()["product"]["title"] == "Shop A's"
    assert config(client, b.publishable_key).json()["product"]["title"] == "Shop B's"
    assert config(client, a.publishable_key).json()["product"]["title"] == "Shop A's"


def test_generation_keys_follow_tenant_keys() -> None:
    m = uuid.uuid4()
    day = datetime.now(UTC).date()
    for key in (product_key(m, external_id="x"), models_key(m), quota_key(m, day)):
        assert generation_keys([key]) == {merchant_key(m)}
    assert generation_keys(["w1:key:abc", merchant_key(m), "other"]) == set()


def test_a_stale_render_is_never_served() -> None:
    reads = ReadCache(MemoryCache(), ttl_s=60, metrics=Metrics())
    m = uuid.uuid4()
    token, held = reads.rendered("c", m, "w1:config:k")
    assert token is not None
    assert held == b""
    reads.invalidate([models_key(m)])  # a write lands while the old data is being rendered
    reads.store_rendered("c", "w1:config:k", token, b"old")
    new_token, held = reads.rendered("c", m, "w1:config:k")
    assert new_token != token
    assert held == b""
    reads.store_rendered("c", "w1:config:k", new_token or "", b"new")
    assert reads.rendered("c", m, "w1:config:k") == (new_token, b"new")


def test_statement_writers_bump_the_generation(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    m = uuid.uuid4()
    with session_scope(engine) as session:
        invalidate_on_commit(session, [quota_key(m, datetime.now(UTC).date())])
        assert merchant_key(m) in session.info["readcache.pending"]


@pytest.fixture
def redis_settings(
    make_settings: Callable[..., GatewaySettings],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> GatewaySettings:
    migrate.upgrade(postgres_url)
    return make_settings(database_url=postgres_url, redis_url=redis_url, redis_prefix=redis_prefix)


def test_replicas_share_the_rendered_bytes_and_their_invalidation(
    redis_settings: GatewaySettings,
) -> None:
    with running(redis_settings) as one, running(redis_settings) as two:
        short_hold(one)
        short_hold(two)
        m = merchant_in(one, "Replicated")
        made = new_product(one, m.secret_key)
        settle()
        etag = etag_of(one, m.publishable_key)
        with statements(two) as seen:
            assert etag_of(two, m.publishable_key) == etag
        assert not [s for s in seen if s.startswith("SELECT")]  # rendered by the other
        patched = one.patch(
            f"/v1/products/{made['id']}", json={"title": "Renamed"}, headers=auth(m.secret_key)
        )
        assert patched.status_code == 200
        body: Any = config(two, m.publishable_key).json()
        assert body["product"]["title"] == "Renamed"


def test_the_fast_path_counts_and_refuses_like_the_route(
    sqlite_settings: GatewaySettings,
) -> None:
    """Over the key's limit, a cached configuration (answered before routing) is refused
    as the route refuses it: problem+json 429 with Retry-After and CORS, after as many
    answers as the route gives for another widget call under the same limit."""
    limited = sqlite_settings.model_copy(update={"rate_limit_per_key": 5})
    allowed = {}
    for path in ("/v1/widget/config", "/v1/widget/models"):
        with running(limited) as client:
            m = merchant_in(client)
            new_product(client, m.secret_key)
            statuses = []
            for _ in range(9):
                got = client.get(
                    path, params={"product": "round"}, headers=widget(m.publishable_key)
                )
                statuses.append(got.status_code)
                if got.status_code == 429:
                    assert_problem(got, 429, "rate-limited")
                    assert int(got.headers["retry-after"]) >= 1
                    assert got.headers["access-control-allow-origin"] == ORIGIN
            assert set(statuses) == {200, 429}
            assert statuses == sorted(statuses)  # answered, then refused
            allowed[path] = statuses.count(200)
    assert allowed["/v1/widget/config"] == allowed["/v1/widget/models"]
