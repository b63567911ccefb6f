"""The widget read cache (``gateway.readcache``, ``gateway.widget.reads``): repeated reads skip
the database; every write path shows at once, in this process and, through Redis, in every
other; entries expire after the TTL; a stale reader cannot put back what a write replaced; a
cache that fails sends reads to the database; tenants never share an entry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import create_engine, event, text

from gateway.cache import ByteCache, MemoryCache, RedisCache
from gateway.db import migrate
from gateway.db.session import session_factory, session_scope
from gateway.keys import service as keys
from gateway.merchants.models import Merchant, MerchantStatus
from gateway.metrics import Metrics
from gateway.products.models import Product
from gateway.readcache import (
    TOMBSTONE,
    Codec,
    Read,
    ReadCache,
    key_record_key,
    product_key,
)
from gateway.settings import GatewaySettings
from gateway.usage import service as usage
from tests.gateway.conftest import (
    ORIGIN,
    assert_problem,
    auth,
    merchant_in,
    running,
    widget,
)
from tests.gateway.tryon_support import demo_product_image, selfie_jpeg
from tests.support.proxy import TcpProxy

OTHER_ORIGIN = "https://other-shop.example"


def reads_of(client: TestClient) -> ReadCache:
    reads: ReadCache = client.app.state.runtime.reads  # type: ignore[attr-defined]
    return reads


def short_hold(client: TestClient) -> None:
    """Tombstones for 1 ms instead of seconds, so that a test's reads are cached again right
    after its writes (what the hold protects against is tested on its own below). Call it
    before the writes, and ``settle`` before a read that must be stored."""
    reads_of(client).hold_s = 0.001


def settle() -> None:
    time.sleep(0.01)  # past the 1 ms hold of the writes before


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block, but the platform job
    worker's polls (a background thread of every gateway process, once a second: on a slow
    machine a request's window catches one)."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM platform_jobs" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def new_product(client: TestClient, sk: str, external_id: str = "round", **extra: Any) -> Any:
    body = {
        "external_id": external_id,
        "title": "Round",
        "category": "eyewear",
        "variants": [{"external_id": "m", "title": "M", "size": "M"}],
        **extra,
    }
    made = client.post("/v1/products", json=body, headers=auth(sk))
    assert made.status_code == 201, made.text
    return made.json()


def config(client: TestClient, pk: str, product: str = "round", origin: str = ORIGIN) -> Any:
    return client.get("/v1/widget/config", params={"product": product}, headers=widget(pk, origin))


def ok_config(client: TestClient, pk: str, product: str = "round") -> dict[str, Any]:
    response = config(client, pk, product)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cache_counts(client: TestClient) -> dict[tuple[str, str], float]:
    counts = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("tryon_cache_requests_total{"):
            labels, _, value = line.partition("} ")
            pairs = dict(p.split("=") for p in labels.split("{", 1)[1].split(","))
            counts[(pairs["cache"].strip('"'), pairs["result"].strip('"'))] = float(value)
    return counts


# --- hits ----------------------------------------------------------------------------------------


def test_repeated_widget_reads_skip_the_database(client: TestClient) -> None:
    short_hold(client)
    m = merchant_in(client)
    new_product(client, m.secret_key)
    settle()
    with statements(client) as first:
        ok_config(client, m.publishable_key)
    assert any("api_keys" in s for s in first)
    assert any("UPDATE api_keys" in s for s in first)  # last use, recorded once a minute
    with statements(client) as again:
        body = ok_config(client, m.publishable_key)
        models = client.get(
            "/v1/widget/models", params={"product": "round"}, headers=widget(m.publishable_key)
        )
    assert models.status_code == 200
    assert again == []  # key, product, variants, assets, models and quota use all cached
    assert body["product"]["title"] == "Round"
    assert body["quota"] == {"exhausted": False, "remaining": 10_000}
    counts = cache_counts(client)
    for name in ("widget_key", "widget_product", "widget_models", "widget_quota"):
        assert counts[(name, "miss")] == 1
    # The second configuration is the rendered bytes (gateway.widget.config): its inputs are
    # not read again; the models call reads the key, the product and the models.
    for name in ("widget_key", "widget_product", "widget_models", "widget_config"):
        assert counts[(name, "hit")] >= 1
    assert counts[("widget_config", "miss")] == 1
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        used = session.execute(
            text("SELECT last_used_at FROM api_keys WHERE key_hash = :h"),
            {"h": keys.hash_key(m.publishable_key)},
        ).scalar_one()
    assert used is not None


def test_a_ttl_of_zero_turns_the_cache_off(sqlite_settings: GatewaySettings) -> None:
    with running(sqlite_settings.model_copy(update={"widget_cache_ttl_s": 0})) as client:
        m = merchant_in(client)
        new_product(client, m.secret_key)
        ok_config(client, m.publishable_key)
        with statements(client) as again:
            ok_config(client, m.publishable_key)
        assert any("products" in s for s in again)
        assert not any(name == "widget_product" for name, _ in cache_counts(client))


# --- invalidation on every write path ------------------------------------------------------------


def test_product_writes_show_at_once(client: TestClient) -> None:
    short_hold(client)
    m = merchant_in(client)
    made = new_product(client, m.secret_key, images=["https://cdn.example/round.png"])
    settle()
    by_id, by_external_id = made["id"], "round"
    for ref in (by_id, by_external_id, by_id, by_external_id):  # cached under both refs
        assert ok_config(client, m.publishable_key, ref)["product"]["title"] == "Round"

    patched = client.patch(
        f"/v1/products/{by_id}",
        json={
            "title": "Round, gold",
            "images": ["https://cdn.example/gold.png"],
            "variants": [
                {"external_id": "m", "title": "Medium", "size": "M"},
                {"external_id": "l", "title": "Large", "size": "L"},
            ],
        },
        headers=auth(m.secret_key),
    )
    assert patched.status_code == 200, patched.text
    for ref in (by_id, by_external_id):
        product = ok_config(client, m.publishable_key, ref)["product"]
        assert product["title"] == "Round, gold"
        assert product["image"] == "https://cdn.example/gold.png"
        assert [v["title"] for v in product["variants"]] == ["Medium", "Large"]

    client.patch(
        f"/v1/products/{by_id}",
        json={"variants": [{"external_id": "l", "title": "Large", "size": "L"}]},
        headers=auth(m.secret_key),
    )
    assert [
        v["external_id"] for v in ok_config(client, m.publishable_key)["product"]["variants"]
    ] == ["l"]
    assert_problem(
        client.get(
            "/v1/widget/config",
            params={"product": "round", "variant": "m"},
            headers=widget(m.publishable_key),
        ),
        404,
        "not-found",
    )

    assert client.delete(f"/v1/products/{by_id}", headers=auth(m.secret_key)).status_code == 204
    for ref in (by_id, by_external_id):
        assert_problem(config(client, m.publishable_key, ref), 404, "not-found")


def test_key_writes_apply_at_once(client: TestClient) -> None:
    short_hold(client)
    m = merchant_in(client)
    new_product(client, m.secret_key)
    settle()
    listed = client.get("/v1/keys", headers=auth(m.secret_key)).json()["data"]
    pk_id = next(k["id"] for k in listed if k["kind"] == "publishable")
    ok_config(client, m.publishable_key)
    ok_config(client, m.publishable_key)  # cached

    # Allowed origins replaced: the old origin is refused on the next call.
    patched = client.patch(
        f"/v1/keys/{pk_id}", json={"allowed_origins": [OTHER_ORIGIN]}, headers=auth(m.secret_key)
    )
    assert patched.status_code == 200, patched.text
    assert_problem(config(client, m.publishable_key), 403, "origin-not-allowed")
    assert config(client, m.publishable_key, origin=OTHER_ORIGIN).status_code == 200
    assert config(client, m.publishable_key, origin=OTHER_ORIGIN).status_code == 200

    # Revoked: refused on the next call.
    assert client.delete(f"/v1/keys/{pk_id}", headers=auth(m.secret_key)).status_code == 204
    assert_problem(config(client, m.publishable_key, origin=OTHER_ORIGIN), 401, "invalid-api-key")

    # Rotated without grace: the old key stops, the new one works.
    made = client.post(
        "/v1/keys",
        json={"kind": "publishable", "allowed_origins": [ORIGIN]},
        headers=auth(m.secret_key),
    ).json()
    settle()
    ok_config(client, made["key"])
    ok_config(client, made["key"])
    rotated = client.post(
        f"/v1/keys/{made['id']}/rotate", json={"grace_period_s": 0}, headers=auth(m.secret_key)
    )
    assert rotated.status_code == 201, rotated.text
    assert_problem(config(client, made["key"]), 401, "invalid-api-key")
    assert config(client, rotated.json()["new"]["key"]).status_code == 200


def test_merchant_changes_apply_at_once(client: TestClient) -> None:
    short_hold(client)
    m = merchant_in(client)
    new_product(client, m.secret_key)
    settle()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert ok_config(client, m.publishable_key)["quota"]["remaining"] == 10_000
    ok_config(client, m.publishable_key)

    with session_scope(engine) as session:
        merchant = session.get(Merchant, m.merchant.id)
        assert merchant is not None
        merchant.monthly_tryon_quota = 3
    assert ok_config(client, m.publishable_key)["quota"] == {"exhausted": False, "remaining": 3}

    # A try-on counted against the quota shows in the next configuration.
    with session_scope(engine) as session:
        usage.record(
            session=session,
            merchant_id=m.merchant.id,
            metric=usage.Metric.TRYON_PHOTO,
            now=datetime.now(UTC),
            count=2,
        )
    assert ok_config(client, m.publishable_key)["quota"] == {"exhausted": False, "remaining": 1}

    with session_scope(engine) as session:
        merchant = session.get(Merchant, m.merchant.id)
        assert merchant is not None
        merchant.status = MerchantStatus.SUSPENDED
    assert_problem(config(client, m.publishable_key), 401, "invalid-api-key")


def test_assets_models_and_try_ons_show_at_once(embedded: TestClient) -> None:
    client = embedded
    short_hold(client)
    m = merchant_in(client)
    made = new_product(client, m.secret_key)
    settle()
    assert ok_config(client, m.publishable_key)["modes"] == []
    assert ok_config(client, m.publishable_key)["modes"] == []

    asset = client.post(
        f"/v1/products/{made['id']}/assets",
        params={"width_mm": 132},
        content=demo_product_image(),
        headers={**auth(m.secret_key), "content-type": "image/png"},
    )
    assert asset.status_code == 201, asset.text
    body = ok_config(client, m.publishable_key)
    assert body["modes"] == ["live", "photo"]
    assert body["product"]["has_asset"] is True

    model = client.post(
        "/v1/models",
        params={"name": "Alex", "kind": "face"},
        content=selfie_jpeg(),
        headers={**auth(m.secret_key), "content-type": "image/jpeg"},
    )
    assert model.status_code == 201, model.text
    body = ok_config(client, m.publishable_key)
    assert body["modes"] == ["live", "photo", "model"]
    assert [x["name"] for x in body["models"]] == ["Alex"]

    # A photo try-on counts against the quota: the configuration shows it at once.
    remaining = body["quota"]["remaining"]
    tried = client.post(
        "/v1/widget/tryon",
        params={"product": "round"},
        content=selfie_jpeg(),
        headers={**widget(m.publishable_key), "content-type": "image/jpeg"},
    )
    assert tried.status_code == 200, tried.text
    assert ok_config(client, m.publishable_key)["quota"]["remaining"] == remaining - 1

    deleted = client.delete(f"/v1/models/{model.json()['id']}", headers=auth(m.secret_key))
    assert deleted.status_code == 204
    body = ok_config(client, m.publishable_key)
    assert body["models"] == []
    assert body["modes"] == ["live", "photo"]

    deleted = client.delete(f"/v1/assets/{asset.json()['id']}", headers=auth(m.secret_key))
    assert deleted.status_code == 204
    assert ok_config(client, m.publishable_key)["modes"] == []
    assert_problem(
        client.post(
            "/v1/widget/tryon",
            params={"product": "round"},
            content=selfie_jpeg(),
            headers={**widget(m.publishable_key), "content-type": "image/jpeg"},
        ),
        404,
        "not-found",
    )


def test_only_committed_writes_invalidate(embedded: TestClient) -> None:
    client = embedded
    short_hold(client)
    m = merchant_in(client)
    made = new_product(client, m.secret_key)
    settle()
    ok_config(client, m.publishable_key)
    backend = reads_of(client).backend
    key = product_key(m.merchant.id, external_id="round")
    cached = backend.get(key)
    assert cached not in (None, TOMBSTONE)
    engine = client.app.state.engine  # type: ignore[attr-defined]

    # Flushed, then rolled back: the entry is still right, and stays.
    with session_factory(engine)() as session:
        product = session.get(Product, uuid.UUID(made["id"]))
        assert product is not None
        product.title = "Never"
        session.flush()
        assert backend.get(key) == cached
        session.rollback()
    assert backend.get(key) == cached

    # A savepoint released inside a transaction that rolls back changes nothing either.
    with session_factory(engine)() as session:
        with session.begin_nested():
            product = session.get(Product, uuid.UUID(made["id"]))
            assert product is not None
            product.title = "Never either"
        assert backend.get(key) == cached
        session.rollback()
    assert backend.get(key) == cached
    assert ok_config(client, m.publishable_key)["product"]["title"] == "Round"

    # Committed: invalidated after the commit.
    reads_of(client).hold_s = 30
    with session_scope(engine) as session:
        product = session.get(Product, uuid.UUID(made["id"]))
        assert product is not None
        product.title = "Committed"
        session.flush()
        assert backend.get(key) == cached
    assert backend.get(key) == TOMBSTONE
    assert ok_config(client, m.publishable_key)["product"]["title"] == "Committed"


# --- the cache on its own: hold, TTL, unreadable entries -----------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    value: str


CODEC = Codec(Record)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[ByteCache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(url)
    yield RedisCache(client, prefix)
    client.close()


def test_a_stale_reader_cannot_put_back_what_a_write_replaced(backend: ByteCache) -> None:
    reads = ReadCache(backend, ttl_s=30, metrics=Metrics(), hold_s=60)
    key = f"test:{uuid.uuid4().hex}"
    truth = {"value": "old"}

    def slow_reader() -> Record:
        seen = Record(truth["value"])  # read from the database...
        truth["value"] = "new"  # ...then a write commits and invalidates...
        reads.invalidate([key])
        return seen  # ...before this reader stores what it read

    assert reads.read(Read("t", key, CODEC, slow_reader)) == Record("old")
    assert backend.get(key) == TOMBSTONE
    # Later readers read the database while the tombstone holds, and nothing stale returns.
    assert reads.read(Read("t", key, CODEC, lambda: Record(truth["value"]))) == Record("new")
    assert reads.read(Read("t", key, CODEC, lambda: Record(truth["value"]))) == Record("new")
    assert backend.get(key) == TOMBSTONE


def test_entries_expire_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("gateway.cache.time.monotonic", lambda: now[0])
    backend = MemoryCache()
    reads = ReadCache(backend, ttl_s=30, metrics=Metrics())
    truth = {"value": "first"}

    def load() -> Record:
        return Record(truth["value"])

    assert reads.read(Read("t", "k", CODEC, load)) == Record("first")
    truth["value"] = "second"  # changed where no invalidation sees it (another process)
    now[0] += 29
    assert reads.read(Read("t", "k", CODEC, load)) == Record("first")  # within the bound
    now[0] += 2
    assert reads.read(Read("t", "k", CODEC, load)) == Record("second")  # past it


def test_redis_entries_carry_the_ttl(redis_url: str, redis_prefix: str) -> None:
    client = Redis.from_url(redis_url)
    reads = ReadCache(RedisCache(client, redis_prefix), ttl_s=30, metrics=Metrics())
    reads.read(Read("t", "k", CODEC, lambda: Record("x")))
    assert 0 < client.pttl(redis_prefix + "cache:k") <= 30_000
    reads.invalidate(["k"])
    assert 0 < client.pttl(redis_prefix + "cache:k") <= 5_000  # the tombstone's hold
    client.close()


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.round_trips = 0

    def get(self, key: str) -> bytes | None:
        self.round_trips += 1
        return super().get(key)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        self.round_trips += 1
        return super().get_many(keys)


def test_several_reads_take_one_round_trip() -> None:
    backend = CountingCache()
    reads = ReadCache(backend, ttl_s=30, metrics=Metrics())
    loads: list[str] = []

    def spec(key: str) -> Read[Record]:
        return Read("t", key, CODEC, lambda: loads.append(key) or Record(key))

    assert reads.read_many(spec("a"), spec("b"), spec("c")) == (
        Record("a"),
        Record("b"),
        Record("c"),
    )
    assert (backend.round_trips, loads) == (1, ["a", "b", "c"])
    assert reads.read_many(spec("a"), spec("b"), spec("c")) == (
        Record("a"),
        Record("b"),
        Record("c"),
    )
    assert (backend.round_trips, loads) == (2, ["a", "b", "c"])  # all three were hits


def test_unreadable_entries_are_misses(backend: ByteCache) -> None:
    reads = ReadCache(backend, ttl_s=30, metrics=Metrics())
    backend.set("k", b'{"not": "a record"}', ttl_s=30)
    assert reads.read(Read("t", "k", CODEC, lambda: Record("from the database"))) == Record(
        "from the database"
    )


# --- Redis: shared by every replica; its outage --------------------------------------------------


@pytest.fixture
def redis_settings(
    make_settings: Callable[..., GatewaySettings],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> GatewaySettings:
    migrate.upgrade(postgres_url)
    return make_settings(database_url=postgres_url, redis_url=redis_url, redis_prefix=redis_prefix)


def test_redis_invalidation_reaches_every_replica(redis_settings: GatewaySettings) -> None:
    with running(redis_settings) as one, running(redis_settings) as two:
        short_hold(one)
        short_hold(two)
        m = merchant_in(one, "Replicated")
        new_product(one, m.secret_key)
        settle()
        ok_config(one, m.publishable_key)  # loads and stores in the shared Redis
        with statements(two) as seen:
            assert ok_config(two, m.publishable_key)["product"]["title"] == "Round"
        # The other replica's entries answer: the only statement is this process recording
        # the key's last use.
        assert [s.split(" SET ")[0] for s in seen] == ["UPDATE api_keys"]

        products = one.get("/v1/products", headers=auth(m.secret_key)).json()["data"]
        patched = one.patch(
            f"/v1/products/{products[0]['id']}",
            json={"title": "Renamed"},
            headers=auth(m.secret_key),
        )
        assert patched.status_code == 200
        assert ok_config(two, m.publishable_key)["product"]["title"] == "Renamed"

        pk_id = next(
            k["id"]
            for k in one.get("/v1/keys", headers=auth(m.secret_key)).json()["data"]
            if k["kind"] == "publishable"
        )
        ok_config(two, m.publishable_key)
        assert one.delete(f"/v1/keys/{pk_id}", headers=auth(m.secret_key)).status_code == 204
        assert_problem(config(two, m.publishable_key), 401, "invalid-api-key")


def test_a_failing_cache_sends_reads_to_the_database(
    embedded: TestClient, redis_proxy: TcpProxy, redis_url: str, redis_prefix: str
) -> None:
    """Rate limits need Redis and fail closed (``test_outages``); the cache does not: with
    limits in-process and the cache in Redis, a Redis outage only costs database reads."""
    client = embedded
    reads = reads_of(client)
    redis = Redis.from_url(
        f"redis://127.0.0.1:{redis_proxy.port}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    reads.backend = RedisCache(redis, redis_prefix)
    reads.hold_s = 0.001
    reads.retry_after_s = 30.0
    now = [1000.0]  # the retry interval runs on this clock: no request is "too slow"
    reads.clock = lambda: now[0]
    m = merchant_in(client)
    new_product(client, m.secret_key)
    settle()
    ok_config(client, m.publishable_key)
    with statements(client) as seen:
        ok_config(client, m.publishable_key)
    assert seen == []  # served from Redis

    redis_proxy.stop()
    with statements(client) as seen:
        assert ok_config(client, m.publishable_key)["product"]["title"] == "Round"
        assert ok_config(client, m.publishable_key)["product"]["title"] == "Round"
    assert any("products" in s for s in seen)  # from the database
    counts = cache_counts(client)
    assert counts[("widget_key", "error")] == 1  # one failed call, then left alone
    assert counts[("widget_key", "skipped")] >= 1

    # Revoked while Redis is away: refused now (database), and the entry Redis still holds is
    # invalidated before Redis answers anything again.
    # The tombstone must outlive the next read however slow the machine: with the 1 ms hold,
    # a read after it expired stores the (revoked) record again and the check below flaked.
    reads.hold_s = 60
    listed = client.get("/v1/keys", headers=auth(m.secret_key)).json()["data"]
    pk_id = next(k["id"] for k in listed if k["kind"] == "publishable")
    assert client.delete(f"/v1/keys/{pk_id}", headers=auth(m.secret_key)).status_code == 204
    assert_problem(config(client, m.publishable_key), 401, "invalid-api-key")
    direct = Redis.from_url(redis_url)
    entry = redis_prefix + "cache:" + key_record_key(keys.hash_key(m.publishable_key))
    assert direct.get(entry) not in (None, TOMBSTONE)  # the stale record, still there
    redis_proxy.start()
    now[0] += reads.retry_after_s + 1  # past the retry interval
    assert_problem(config(client, m.publishable_key), 401, "invalid-api-key")
    assert direct.get(entry) == TOMBSTONE  # invalidated first, and not re-added during the hold
    direct.close()
    redis.close()


# --- tenants -------------------------------------------------------------------------------------


def test_tenants_never_share_entries(embedded: TestClient) -> None:
    client = embedded
    short_hold(client)
    one = merchant_in(client, "One")
    two = merchant_in(client, "Two")
    new_product(client, one.secret_key, "same", title="One's")
    new_product(client, two.secret_key, "same", title="Two's")
    settle()
    for _ in range(2):
        assert ok_config(client, one.publishable_key, "same")["product"]["title"] == "One's"
        assert ok_config(client, two.publishable_key, "same")["product"]["title"] == "Two's"

    # Even an entry planted under the other tenant's key is not taken for its own.
    backend = reads_of(client).backend
    planted = backend.get(product_key(one.merchant.id, external_id="same"))
    assert planted is not None
    backend.set(product_key(two.merchant.id, external_id="same"), planted, ttl_s=30)
    assert ok_config(client, two.publishable_key, "same")["product"]["title"] == "Two's"

    # Another tenant's product by id is a 404, cached or not.
    theirs = client.get("/v1/products", headers=auth(one.secret_key)).json()["data"][0]["id"]
    for _ in range(2):
        assert_problem(config(client, two.publishable_key, theirs), 404, "not-found")


def test_secret_keys_are_never_cached(embedded: TestClient) -> None:
    client = embedded
    short_hold(client)
    m = merchant_in(client)
    settle()
    for _ in range(2):  # a secret key put in a page
        assert_problem(config(client, m.secret_key), 403, "key-type-not-allowed")
    backend = reads_of(client).backend
    assert backend.get(key_record_key(keys.hash_key(m.secret_key))) is None
    assert_problem(config(client, m.publishable_key), 404, "not-found")
    assert backend.get(key_record_key(keys.hash_key(m.publishable_key))) not in (None, TOMBSTONE)


def test_writes_no_invalidation_sees_show_after_the_ttl(
    make_settings: Callable[..., GatewaySettings], tmp_path: Any
) -> None:
    """A write by another process on the same SQLite file (``tryon demo seed`` next to an
    embedded server) shows once the entry expires (``TRYON_WIDGET_CACHE_TTL_S``)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(url)
    with running(make_settings(database_url=url, widget_cache_ttl_s=0.2)) as client:
        short_hold(client)
        m = merchant_in(client)
        new_product(client, m.secret_key)
        settle()
        ok_config(client, m.publishable_key)
        other_process = create_engine(url)
        with other_process.begin() as conn:
            conn.execute(text("UPDATE products SET title = 'Elsewhere'"))
        other_process.dispose()
        time.sleep(0.25)  # past the TTL
        assert ok_config(client, m.publishable_key)["product"]["title"] == "Elsewhere"
