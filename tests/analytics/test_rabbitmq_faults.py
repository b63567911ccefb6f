"""At-least-once end to end on the real RabbitMQ and PostgreSQL: kill the consumer in the
middle of a batch, restart the broker in the middle of a stream, then count.

Each test has queues and exchanges of its own (deleted afterwards) and leaves the shared
broker running; the broker restart happens on a private node the test starts and shuts down
(``amqp.private_broker``), so the shared broker is never stopped.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika.exceptions
import pytest
from sqlalchemy import create_engine, text

from analytics.processing import MAX_MESSAGE_BYTES
from analytics.schema import EventRecord
from analytics.settings import AnalyticsSettings
from analytics.transport.amqp_publisher import AmqpPublisher
from analytics.warehouse import migrate
from tests.analytics import amqp
from tests.analytics.factories import record

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

TYPES = ("impression", "open", "tryon_started", "tryon_rendered", "add_to_cart")


@pytest.fixture
def warehouse_db(fresh_postgres_url: str) -> str:
    migrate.upgrade(fresh_postgres_url)
    return fresh_postgres_url


@pytest.fixture
def settings(amqp_url: str, warehouse_db: str) -> Iterator[AnalyticsSettings]:
    s = amqp.unique_settings(amqp_url, warehouse_db, batch_size=100, prefetch=200)
    yield s
    amqp.ensure_broker_running(amqp_url)
    amqp.delete_topology(s)


def make_records(merchant: uuid.UUID, n: int) -> list[EventRecord]:
    # Spread over three days so several daily partitions are involved.
    start = datetime.now(UTC) - timedelta(days=2)
    return [
        record(
            merchant,
            TYPES[i % len(TYPES)],
            occurred_at=start + timedelta(seconds=i * 40),
            widget_session_id=f"wsession-{i // 7:05d}",
            tryon_session_id=f"tryon-{i // 7:05d}",
        )
        for i in range(n)
    ]


def publish_all(settings: AnalyticsSettings, records: list[EventRecord]) -> AmqpPublisher:
    publisher = AmqpPublisher(settings)
    publisher.start()
    for i in range(0, len(records), 100):
        publisher.publish([r.to_bytes() for r in records[i : i + 100]])
    assert publisher.flush(60), "the broker did not confirm every message"
    return publisher


def test_consumer_killed_mid_batch_loses_and_doubles_nothing(
    settings: AnalyticsSettings, warehouse_db: str, tmp_path: Path
) -> None:
    merchant = uuid.uuid4()
    records = make_records(merchant, 3000)
    publisher = publish_all(settings, records)
    assert amqp.ready_messages(settings, settings.queue) == 3000

    # 1. Hold a lock the consumer's first batch needs: it inserts its facts, then blocks on
    #    the rollup upsert, inside its transaction, with up to 200 unacked messages.
    locker_engine = create_engine(warehouse_db)
    locker = locker_engine.connect()
    blocker = locker.begin()
    locker.execute(text("LOCK TABLE rollup_merchant_daily IN ACCESS EXCLUSIVE MODE"))
    consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer.log").start()
    try:
        amqp.wait_until(lambda: amqp.blocked_on_lock(warehouse_db), 30, "a batch in progress")
        consumer.kill()  # SIGKILL in the middle of the batch
        blocker.rollback()
        locker.close()
        locker_engine.dispose()
        assert amqp.count(warehouse_db, merchant).facts == 0  # that batch never committed

        # 2. Restart; kill again at whatever point it has reached.
        consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer2.log").start()
        amqp.wait_until(lambda: amqp.count(warehouse_db, merchant).facts >= 900, 60, "progress")
        consumer.kill()
        partial = amqp.count(warehouse_db, merchant).facts
        assert 900 <= partial < 3000, partial

        # 3. A third consumer finishes the queue; SIGTERM then stops it cleanly.
        consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer3.log").start()
        amqp.wait_until(lambda: amqp.count(warehouse_db, merchant).facts >= 3000, 90, "all")
        amqp.wait_until(lambda: amqp.ready_messages(settings, settings.queue) == 0, 30, "empty")
        assert consumer.terminate() == 0
        assert '"analytics.consumer_stopped"' in consumer.log()
    finally:
        consumer.stop_quietly()
        publisher.close(1)

    counts = amqp.count(warehouse_db, merchant)
    assert counts == amqp.Counts(facts=3000, distinct_facts=3000, seen=3000, rollup_sum=3000)
    assert amqp.stored_ids(warehouse_db, merchant) == {r.event.event_id for r in records}
    assert amqp.ready_messages(settings, settings.queue) == 0
    assert amqp.drain_dead_letters(settings) == []


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[amqp.PrivateBroker]:
    with amqp.private_broker(tmp_path_factory.mktemp("rabbitmq")) as broker:
        yield broker


def test_the_private_broker_is_not_the_shared_one(
    private_broker: amqp.PrivateBroker, amqp_url: str
) -> None:
    """Stopping the private node leaves the shared broker answering (what the test below
    relies on to restart a broker mid-stream without disturbing anyone else)."""
    assert private_broker.url != amqp_url
    private_broker.ctl("stop_app")
    try:
        amqp.wait_for_broker(amqp_url, timeout=10)  # the shared one still answers
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            amqp.wait_for_broker(private_broker.url, timeout=3)
    finally:
        private_broker.ctl("start_app")
    amqp.wait_for_broker(private_broker.url)


def test_broker_restart_mid_stream_loses_and_doubles_nothing(
    private_broker: amqp.PrivateBroker, warehouse_db: str, tmp_path: Path
) -> None:
    settings = amqp.unique_settings(private_broker.url, warehouse_db, batch_size=100, prefetch=200)
    assert settings.amqp_url
    merchant = uuid.uuid4()
    records = make_records(merchant, 4000)
    consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer.log").start()
    publisher = AmqpPublisher(settings)
    publisher.start()
    accepted: list[EventRecord] = []
    restarted = threading.Event()

    def restart() -> None:
        amqp.wait_until(lambda: len(accepted) >= 1200, 60, "the stream to start")
        private_broker.restart()
        restarted.set()

    restarter = threading.Thread(target=restart)
    try:
        consumer.wait_consuming()
        restarter.start()
        for i in range(0, len(records), 50):
            chunk = records[i : i + 50]
            publisher.publish([r.to_bytes() for r in chunk])  # buffered while the broker is down
            accepted.extend(chunk)
            time.sleep(0.02)
        restarter.join(120)
        assert restarted.is_set()
        assert publisher.flush(90), "unconfirmed events after the broker came back"
        amqp.wait_until(
            lambda: amqp.count(warehouse_db, merchant).distinct_facts >= 4000, 120, "all stored"
        )
        amqp.wait_until(lambda: amqp.ready_messages(settings, settings.queue) == 0, 30, "empty")
        assert consumer.terminate() == 0
    finally:
        consumer.stop_quietly()
        publisher.close(1)

    assert len(accepted) == 4000
    counts = amqp.count(warehouse_db, merchant)
    assert counts == amqp.Counts(facts=4000, distinct_facts=4000, seen=4000, rollup_sum=4000)
    assert amqp.stored_ids(warehouse_db, merchant) == {r.event.event_id for r in records}
    log = consumer.log()
    assert '"analytics.broker_connection_lost"' in log  # it really lived through the restart
    assert log.count('"analytics.consuming"') >= 2


def test_poison_messages_land_in_the_dead_letter_queue_with_a_reason(
    settings: AnalyticsSettings, warehouse_db: str, tmp_path: Path
) -> None:
    merchant = uuid.uuid4()
    good = make_records(merchant, 20)
    refused_by_db = record(
        merchant, "impression", occurred_at=datetime.now(UTC), store="shop\x00.example"
    )
    poison = [
        b"not json at all",
        b'{"record_version": 1, "merchant_id": "x"}',
        b'{"huge": "' + b"x" * MAX_MESSAGE_BYTES + b'"}',
    ]
    publisher = AmqpPublisher(settings)
    publisher.start()
    publisher.publish([good[0].to_bytes(), *poison[:2], refused_by_db.to_bytes()])
    publisher.publish([r.to_bytes() for r in good[1:]] + poison[2:])
    assert publisher.flush(30)
    consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer.log").start()
    try:
        amqp.wait_until(lambda: amqp.count(warehouse_db, merchant).facts >= 20, 60, "good ones")
        amqp.wait_until(lambda: amqp.ready_messages(settings, settings.queue) == 0, 30, "empty")
        assert consumer.terminate() == 0
    finally:
        consumer.stop_quietly()
        publisher.close(1)

    assert amqp.count(warehouse_db, merchant).facts == 20  # the bad ones held nothing up
    dead = amqp.drain_dead_letters(settings)
    reasons = {body: headers.get("x-tryon-reason", "") for headers, body in dead}
    assert set(reasons) == {*poison, refused_by_db.to_bytes()}  # bodies kept intact
    assert reasons[poison[0]].startswith("invalid record")
    assert reasons[poison[1]].startswith("invalid record")
    assert reasons[poison[2]].startswith("message too large")
    assert reasons[refused_by_db.to_bytes()].startswith("warehouse refused it")
    assert all(h.get("x-tryon-dead-at") for h, _ in dead)


def test_publisher_buffers_while_the_broker_is_unreachable_then_refuses(
    amqp_url: str, tmp_path: Path
) -> None:
    from analytics.errors import BufferFull

    settings = amqp.unique_settings(
        "amqp://guest:guest@127.0.0.1:1/%2F",
        f"sqlite:///{tmp_path / 'a.db'}",
        buffer_max_events=10,
    )
    publisher = AmqpPublisher(settings)
    publisher.start()
    records = make_records(uuid.uuid4(), 11)
    publisher.publish([r.to_bytes() for r in records[:6]])
    publisher.publish([r.to_bytes() for r in records[6:10]])
    with pytest.raises(BufferFull) as refused:
        publisher.publish([records[10].to_bytes()])
    assert (refused.value.pending, refused.value.capacity) == (10, 10)
    assert not publisher.connected
    left = publisher.close(0.5)
    assert left == [r.to_bytes() for r in records[:10]]  # handed back in order, not lost


def test_consumer_keeps_its_liveness_file_fresh(
    amqp_url: str, warehouse_db: str, tmp_path: Path
) -> None:
    """The file a Kubernetes exec probe checks is touched while consuming, not after exit."""
    alive = tmp_path / "alive"
    s = amqp.unique_settings(amqp_url, warehouse_db, alive_file=alive, alive_interval_s=0.2)
    consumer = amqp.ConsumerProcess(s, tmp_path / "consumer.log").start()
    try:
        consumer.wait_consuming()
        first = alive.stat().st_mtime
        amqp.wait_until(lambda: alive.stat().st_mtime > first, 10, "a fresh touch")
        assert consumer.terminate() == 0
        stopped = alive.stat().st_mtime
        time.sleep(0.6)
        assert alive.stat().st_mtime == stopped
    finally:
        consumer.stop_quietly()
        amqp.delete_topology(s)
