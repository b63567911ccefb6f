"""Redis and database outages: 503 with Retry-After, readiness false, recovery without restart.

Widget calls need Redis for their rate limits, which fail closed; the widget read cache in the
same Redis is only an optimisation and falls back to the database
(``test_widget_cache.test_a_failing_cache_sends_reads_to_the_database``).

The shared servers keep running: the gateway reaches them through a proxy that the test cuts
and restores (tests/support/proxy.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import make_url

from gateway.db import migrate
from gateway.settings import GatewaySettings
from tests.gateway.conftest import assert_problem, auth, merchant_in, running, widget
from tests.support.proxy import TcpProxy


def test_redis_outage_is_503_and_recovers(
    make_settings: Callable[..., GatewaySettings],
    redis_proxy: TcpProxy,
    redis_prefix: str,
    tmp_path: object,
) -> None:
    url = f"sqlite:///{tmp_path}/o.db"
    migrate.upgrade(url)
    settings = make_settings(
        database_url=url,
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        redis_prefix=redis_prefix,
        readiness_timeout_s=1.0,
    )
    with running(settings) as client:
        m = merchant_in(client)

        def call() -> object:
            return client.get(
                "/v1/widget/models", params={"product": "x"}, headers=widget(m.publishable_key)
            )

        assert call().status_code == 404  # authenticated and limited through Redis
        assert client.get("/readyz").status_code == 200

        redis_proxy.stop()
        started = time.monotonic()
        response = call()
        assert time.monotonic() - started < 5  # a bounded wait, never a hang
        body = assert_problem(response, 503, "dependency-unavailable")
        assert body["dependency"] == "redis"
        assert "Rate limiting" in body["detail"]  # the cache's failure only cost a DB read
        assert response.headers["retry-after"]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"]["ok"] is False
        # Endpoints that do not need Redis keep working.
        assert client.get("/v1/products", headers=auth(m.secret_key)).status_code == 200

        redis_proxy.start()
        assert _eventually(lambda: call().status_code == 404)  # type: ignore[attr-defined]
        assert client.get("/readyz").status_code == 200


@pytest.fixture
def pg_proxy(fresh_postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    url = make_url(fresh_postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    migrate.upgrade(fresh_postgres_url)
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    proxy.stop()


def test_database_outage_is_503_and_recovers(
    make_settings: Callable[..., GatewaySettings], pg_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = pg_proxy
    settings = make_settings(database_url=url, readiness_timeout_s=2.0, db_connect_timeout_s=1)
    with running(settings) as client:
        m = merchant_in(client)
        assert client.get("/v1/products", headers=auth(m.secret_key)).status_code == 200

        proxy.stop()
        started = time.monotonic()
        response = client.get("/v1/products", headers=auth(m.secret_key))
        assert time.monotonic() - started < 10
        assert_problem(response, 503, "unavailable")
        assert response.headers["retry-after"]
        widget_call = client.get(
            "/v1/widget/config", params={"product": "x"}, headers=widget(m.publishable_key)
        )
        assert_problem(widget_call, 503, "unavailable")
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # alive, just not ready

        proxy.start()
        assert _eventually(
            lambda: client.get("/v1/products", headers=auth(m.secret_key)).status_code == 200
        )
        assert client.get("/readyz").status_code == 200


def _eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
