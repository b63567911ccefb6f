"""The embedded mode: the in-process queue and consumer thread, the same processor, outages
of the warehouse, shutdown with events left over (spooled, replayed), and the CLI."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from analytics import pipeline as pipelines
from analytics.errors import BufferFull
from analytics.settings import AnalyticsSettings
from analytics.warehouse import migrate
from analytics.warehouse import tables as t
from gateway.cli import app as cli
from tests.analytics import amqp
from tests.analytics.factories import record
from tests.support import services


def embedded(tmp_path: Path, **overrides: object) -> AnalyticsSettings:
    values: dict[str, object] = {"data_dir": tmp_path / "var", "reconnect_min_s": 0.05}
    values.update(overrides)
    return AnalyticsSettings(**values)  # type: ignore[arg-type]


def facts(url: str, merchant: uuid.UUID) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(t.fact_event.c.merchant_id == merchant)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_the_consumer_thread_stores_what_is_published(tmp_path: Path) -> None:
    settings = embedded(tmp_path)
    pipeline = pipelines.start(settings)
    merchant = uuid.uuid4()
    now = datetime.now(UTC)
    try:
        for _ in range(5):
            pipeline.publish([record(merchant, "impression", occurred_at=now) for _ in range(40)])
        assert pipeline.wait_idle(10)
        assert facts(settings.sqlalchemy_url, merchant) == 200
        assert pipeline.consumer is not None
        assert pipeline.consumer.stored == 200
    finally:
        pipeline.close()


def test_poison_goes_to_the_dead_letter_table(tmp_path: Path) -> None:
    settings = embedded(tmp_path)
    pipeline = pipelines.start(settings)
    try:
        pipeline.publisher.publish([b"{broken", b'{"record_version": 7}'])
        assert pipeline.wait_idle(10)
    finally:
        pipeline.close()
    result = CliRunner().invoke(
        cli, ["analytics", "dead-letters"], env={"TRYON_DATA_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all('"reason": "invalid record' in line for line in lines)


def test_a_full_queue_refuses_the_whole_batch(tmp_path: Path) -> None:
    pipeline = pipelines.start(embedded(tmp_path, buffer_max_events=5))
    now = datetime.now(UTC)
    try:
        with pytest.raises(BufferFull):
            pipeline.publish([record(uuid.uuid4(), occurred_at=now) for _ in range(6)])
        pipeline.publish([record(uuid.uuid4(), occurred_at=now) for _ in range(5)])
        assert pipeline.wait_idle(10)
    finally:
        pipeline.close()


@pytest.fixture
def missing_database() -> Iterator[str]:
    """The URL of a PostgreSQL database that does not exist yet (an unusable warehouse)."""
    admin_url = make_url(services.POSTGRES_ADMIN_URL)
    services.require(
        "PostgreSQL", services.tcp_problem(admin_url.host or "127.0.0.1", admin_url.port or 5432)
    )
    name = services.unique_name("tryon_later")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def create_database(url: str) -> None:
    admin = create_engine(services.POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
    admin.dispose()
    migrate.upgrade(url)


def test_a_warehouse_outage_delays_but_loses_nothing(tmp_path: Path, missing_database: str) -> None:
    settings = embedded(tmp_path, warehouse_url=missing_database, reconnect_max_s=0.3)
    pipeline = pipelines.start(settings)
    merchant = uuid.uuid4()
    now = datetime.now(UTC)
    try:
        pipeline.publish([record(merchant, "open", occurred_at=now) for _ in range(50)])
        time.sleep(0.5)  # the consumer is failing and retrying now
        assert not pipeline.wait_idle(0.1)
        create_database(missing_database)
        assert pipeline.wait_idle(15)
        assert facts(missing_database, merchant) == 50
    finally:
        pipeline.close()


def test_events_left_at_shutdown_are_spooled_and_replayed(
    tmp_path: Path, missing_database: str
) -> None:
    settings = embedded(
        tmp_path, warehouse_url=missing_database, reconnect_max_s=0.2, shutdown_timeout_s=0.5
    )
    merchant = uuid.uuid4()
    now = datetime.now(UTC)
    pipeline = pipelines.start(settings)
    pipeline.publish([record(merchant, "impression", occurred_at=now) for _ in range(30)])
    pipeline.close()  # the warehouse is still down: nothing could be stored
    spooled = list((tmp_path / "var" / "analytics-spool").glob("*.jsonl"))
    assert len(spooled) == 1
    assert len(spooled[0].read_bytes().splitlines()) == 30

    create_database(missing_database)
    pipeline = pipelines.start(settings)  # replays the spool before anything else
    try:
        assert facts(missing_database, merchant) == 30
        assert list((tmp_path / "var" / "analytics-spool").glob("*.jsonl")) == []
    finally:
        pipeline.close()


# -- the CLI --------------------------------------------------------------------------------


def test_consume_needs_a_broker(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["analytics", "consume"], env={"TRYON_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "TRYON_ANALYTICS_AMQP_URL is not set" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRYON_ANALYTICS_PREFETCH": "50"}, "prefetch"),
        ({"TRYON_ANALYTICS_AMQP_URL": "redis://nope"}, "amqp"),
        ({"TRYON_ANALYTICS_BATCH_SIZE": "many"}, "batch_size"),
    ],
)
def test_bad_configuration_is_a_clear_error(env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(cli, ["analytics", "consume"], env=env)
    assert result.exit_code == 2
    assert "bad configuration" in result.stderr
    assert message in result.stderr.lower()
    assert "Traceback" not in result.output


def test_migrate_command(tmp_path: Path) -> None:
    env = {"TRYON_DATA_DIR": str(tmp_path)}
    up = CliRunner().invoke(cli, ["analytics", "migrate"], env=env)
    assert up.exit_code == 0, up.output
    assert (tmp_path / "analytics.db").exists()
    down = CliRunner().invoke(
        cli, ["analytics", "migrate", "--down", "--revision", "base"], env=env
    )
    assert down.exit_code == 0, down.output
    unreachable = CliRunner().invoke(
        cli,
        ["analytics", "migrate"],
        env={"TRYON_ANALYTICS_WAREHOUSE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"},
    )
    assert unreachable.exit_code == 1
    assert "cannot reach the warehouse" in unreachable.stderr


@pytest.mark.rabbitmq
def test_sigterm_stops_a_consumer_waiting_for_the_broker(tmp_path: Path) -> None:
    settings = amqp.unique_settings(
        "amqp://guest:guest@127.0.0.1:1/%2F", f"sqlite:///{tmp_path / 'w.db'}"
    )
    consumer = amqp.ConsumerProcess(settings, tmp_path / "consumer.log").start()
    try:
        consumer._wait_for_log('"analytics.broker_unreachable"', 20)
        started = time.monotonic()
        assert consumer.process is not None
        consumer.process.send_signal(signal.SIGTERM)
        assert consumer.process.wait(15) == 0
        assert time.monotonic() - started < 10
    except subprocess.TimeoutExpired:
        pytest.fail("the consumer did not stop on SIGTERM")
    finally:
        consumer.stop_quietly()
    assert "amqp://guest:***@127.0.0.1:1" in consumer.log()  # the password is never logged
    assert "guest:guest" not in consumer.log()
