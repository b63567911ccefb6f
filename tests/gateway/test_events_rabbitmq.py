"""The gateway in RabbitMQ mode: readiness follows the broker, events accepted while it is
down are buffered (bounded, then 503), spooled at shutdown and delivered after restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics.dead_letters import AmqpDeadLetters
from analytics.processing import BatchProcessor
from analytics.settings import AnalyticsSettings
from analytics.transport.amqp_consumer import AmqpConsumer
from analytics.warehouse import migrate as warehouse_migrate
from analytics.warehouse.engine import make_engine
from analytics.warehouse.writer import Warehouse
from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.keys import service as merchants
from gateway.main import create_app
from tests.analytics import amqp
from tests.analytics.factories import event_json
from tests.gateway.conftest import auth

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]

ORIGIN = "https://shop.example"
UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/%2F"


def use(monkeypatch: pytest.MonkeyPatch, settings: AnalyticsSettings) -> None:
    for name, value in amqp.env_for(settings).items():
        if name.startswith("TRYON_ANALYTICS_"):
            monkeypatch.setenv(name, value)


def post(client: TestClient, key: str, n: int) -> Any:
    return client.post(
        "/v1/events",
        content=json.dumps({"events": [event_json("impression") for _ in range(n)]}),
        headers={**auth(key), "origin": ORIGIN, "content-type": "application/json"},
    )


def test_broker_down_then_back(
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    amqp_url: str,
    fresh_postgres_url: str,
) -> None:
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate.upgrade(gateway_db)
    warehouse_migrate.upgrade(fresh_postgres_url)
    live = amqp.unique_settings(amqp_url, fresh_postgres_url, buffer_max_events=25)
    down = live.model_copy(update={"amqp_url": UNREACHABLE, "shutdown_timeout_s": 0.5})

    # 1. The broker cannot be reached: not ready; accepted until the buffer is full, then 503.
    use(monkeypatch, down)
    app = create_app(make_settings(database_url=gateway_db))
    with TestClient(app) as client:
        with session_scope(app.state.engine) as session:
            shop = merchants.create_merchant(session=session, name="Shop", allowed_origins=[ORIGIN])
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"]["ok"] is False
        accepted = 0
        for _ in range(3):
            response = post(client, shop.publishable_key, 10)
            if response.status_code == 202:
                accepted += response.json()["accepted"]
            else:
                assert response.status_code == 503
                assert response.headers["retry-after"]
                assert response.headers["content-type"] == "application/problem+json"
        assert accepted == 20  # 10 + 10 buffered; the third batch would overflow 25
    spooled = list((tmp_path / "var" / "analytics-spool").glob("*.jsonl"))
    assert sum(len(p.read_bytes().splitlines()) for p in spooled) == 20

    # 2. The broker is back: the next start replays the spool; a consumer stores it all.
    use(monkeypatch, live)
    app = create_app(make_settings(database_url=gateway_db))
    engine = make_engine(live)
    consumer = AmqpConsumer(
        live, BatchProcessor(warehouse=Warehouse(engine), dead_letters=AmqpDeadLetters(live))
    )
    worker = threading.Thread(target=consumer.run)
    try:
        with TestClient(app) as client:
            amqp.wait_until(lambda: client.get("/readyz").status_code == 200, 20, "ready")
            assert client.get("/readyz").json()["checks"]["broker"]["ok"] is True
            assert list((tmp_path / "var" / "analytics-spool").glob("*.jsonl")) == []
            assert post(client, shop.publishable_key, 5).status_code == 202
            assert app.state.analytics.wait_idle(20)
        worker.start()
        amqp.wait_until(
            lambda: amqp.count(fresh_postgres_url, shop.merchant.id).facts >= 25, 30, "stored"
        )
    finally:
        consumer.stop()
        worker.join(20)
        engine.dispose()
        amqp.delete_topology(live)
    counts = amqp.count(fresh_postgres_url, shop.merchant.id)
    assert counts == amqp.Counts(facts=25, distinct_facts=25, seen=25, rollup_sum=25)
