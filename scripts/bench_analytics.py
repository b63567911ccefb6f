"""Benchmark: events per second from publisher to warehouse, and the consumer's batch latency.

Runs on the real services (RabbitMQ and PostgreSQL at the test addresses, overridable with
TRYON_TEST_AMQP_URL / TRYON_TEST_POSTGRES_URL), like production: this process publishes with
confirms, ``tryon analytics consume`` runs as its own process into a fresh PostgreSQL
warehouse. Reference, measured in the same run: the same consumer storing one event per
transaction (batch size 1, prefetch 100), i.e. what batching buys. Also the embedded mode
(in-process queue and consumer thread into SQLite).

    .venv/bin/python scripts/bench_analytics.py [--events 20000] [--reference-events 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
from pydantic import TypeAdapter
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from analytics import pipeline as pipelines
from analytics.schema import Event, EventRecord
from analytics.settings import AnalyticsSettings
from analytics.transport.amqp_publisher import AmqpPublisher
from analytics.warehouse import migrate
from analytics.warehouse import tables as t

AMQP_URL = os.environ.get("TRYON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PG_ADMIN = os.environ.get(
    "TRYON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TRYON = str(Path(sys.executable).with_name("tryon"))
TYPES = ("impression", "open", "tryon_started", "tryon_rendered", "add_to_cart")
EVENT = TypeAdapter(Event)


@dataclass
class Result:
    name: str
    events: int
    seconds: float
    batches_ms: list[float]
    consumer_peak_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def make_bodies(merchant: uuid.UUID, n: int) -> list[bytes]:
    start = datetime.now(UTC) - timedelta(hours=6)
    bodies = []
    for i in range(n):
        kind = TYPES[i % len(TYPES)]
        props = {
            "tryon_started": {"mode": "live"},
            "tryon_rendered": {"mode": "live", "category": "eyewear", "latency_ms": 40 + i % 90},
        }.get(kind, {})
        when = start + timedelta(milliseconds=i * 50)
        event = EVENT.validate_python(
            {
                "schema_version": 1,
                "event_id": str(uuid.uuid4()),
                "type": kind,
                "occurred_at": when.isoformat(),
                "widget_session_id": f"wsession-{i // 6:06d}",
                "tryon_session_id": f"tryon-{i // 6:06d}",
                "product_id": f"product-{i % 40}",
                "properties": props,
            }
        )
        record = EventRecord(
            merchant_id=merchant,
            store="https://shop.example",
            source="widget",
            received_at=when,
            client_occurred_at=when,
            event=event,
        )
        bodies.append(record.to_bytes())
    return bodies


def stored(url: str, merchant: uuid.UUID) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(t.seen_event.c.merchant_id == merchant)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def create_database() -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"tryon_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def settings_for(warehouse: str, **overrides: object) -> AnalyticsSettings:
    run = f"tryon_bench_{uuid.uuid4().hex[:8]}"
    values: dict[str, object] = {
        "amqp_url": AMQP_URL,
        "warehouse_url": warehouse,
        "exchange": run,
        "queue": f"{run}.events",
        "dead_letter_exchange": f"{run}.dlx",
        "dead_letter_queue": f"{run}.dead",
    }
    values.update(overrides)
    return AnalyticsSettings(**values)  # type: ignore[arg-type]


def env_for(s: AnalyticsSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_ANALYTICS_")}
    for name in [
        "amqp_url",
        "warehouse_url",
        "exchange",
        "queue",
        "dead_letter_exchange",
        "dead_letter_queue",
        "prefetch",
        "batch_size",
        "batch_max_wait_ms",
    ]:
        env[f"TRYON_ANALYTICS_{name.upper()}"] = str(getattr(s, name))
    return env


def delete_topology(s: AnalyticsSettings) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for queue in (s.queue, s.dead_letter_queue):
        channel.queue_delete(queue)
    for exchange in (s.exchange, s.dead_letter_exchange):
        channel.exchange_delete(exchange)
    connection.close()


def amqp_run(name: str, n: int, **overrides: object) -> tuple[Result, float]:
    """Publish ``n`` events while a consumer process stores them; returns the end-to-end
    result and the publisher's own confirmed rate."""
    warehouse = create_database()
    s = settings_for(warehouse, **overrides)
    merchant = uuid.uuid4()
    bodies = make_bodies(merchant, n)
    log = Path(tempfile.mkstemp(prefix="bench-consumer-", suffix=".log")[1])
    with log.open("wb") as out:
        consumer = subprocess.Popen(
            [TRYON, "analytics", "consume", "--log-level", "DEBUG"],
            env=env_for(s),
            stdout=out,
            stderr=out,
        )
    publisher = AmqpPublisher(s)
    try:
        deadline = time.monotonic() + 30
        while '"analytics.consuming"' not in log.read_text():
            if time.monotonic() > deadline or consumer.poll() is not None:
                raise SystemExit(f"consumer did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        publisher.start()
        started = time.perf_counter()
        for i in range(0, n, 100):
            while True:
                try:
                    publisher.publish(bodies[i : i + 100])
                    break
                except Exception:  # buffer full: the broker is the bottleneck, wait
                    time.sleep(0.005)
        if not publisher.flush(300):
            raise SystemExit("publisher did not get every confirm")
        published = time.perf_counter() - started
        while stored(warehouse, merchant) < n:
            if time.perf_counter() - started > 600:
                raise SystemExit("consumer too slow (>600 s)")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        peak_mb = _peak_rss_mb(consumer.pid)
        consumer.terminate()
        consumer.wait(30)
        batches = [
            float(json.loads(line)["ms"])
            for line in log.read_text().splitlines()
            if '"analytics.batch"' in line
        ]
    finally:
        if consumer.poll() is None:
            consumer.kill()
        publisher.close(2)
        delete_topology(s)
        drop_database(warehouse)
        log.unlink(missing_ok=True)
    return Result(name, n, elapsed, batches, peak_mb), n / published


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def embedded_run(n: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        s = AnalyticsSettings(data_dir=Path(tmp))
        pipeline = pipelines.start(s)
        merchant = uuid.uuid4()
        bodies = make_bodies(merchant, n)
        started = time.perf_counter()
        for i in range(0, n, 100):
            while True:
                try:
                    pipeline.publisher.publish(bodies[i : i + 100])
                    break
                except Exception:
                    time.sleep(0.005)
        if not pipeline.wait_idle(600):
            raise SystemExit("embedded consumer too slow")
        elapsed = time.perf_counter() - started
        assert pipeline.consumer is not None
        batches = [x * 1000 for x in pipeline.consumer.processor.batch_seconds]
        count = stored(s.sqlalchemy_url, merchant)
        pipeline.close()
    if count != n:
        raise SystemExit(f"embedded mode stored {count} of {n}")
    return Result("embedded: in-process -> SQLite (batch 100)", n, elapsed, batches)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reference-events", type=int, default=3_000)
    args = parser.parse_args()

    print(f"analytics benchmark: {args.events} events, {os.cpu_count()} CPUs (shared machine)")
    batched, publish_rate = amqp_run(
        "rabbitmq -> PostgreSQL, batch 100, prefetch 200", args.events, batch_size=100, prefetch=200
    )
    reference, _ = amqp_run(
        "reference: batch 1 (one transaction per event)",
        args.reference_events,
        batch_size=1,
        prefetch=100,
    )
    embedded = embedded_run(args.events)
    rows = [batched, reference, embedded]
    print()
    print(f"{'pipeline':52} {'events':>7} {'events/s':>9} {'batch p50':>10} {'batch p95':>10}")
    for r in rows:
        print(
            f"{r.name:52} {r.events:>7} {r.rate:>9.0f} "
            f"{pct(r.batches_ms, 50):>8.1f}ms {pct(r.batches_ms, 95):>8.1f}ms"
        )
    print()
    print(f"publisher alone (confirmed, while the consumer runs): {publish_rate:,.0f} events/s")
    print(f"batched / reference throughput: {batched.rate / reference.rate:.1f}x")
    if batched.batches_ms:
        per_event = statistics.median(batched.batches_ms) / 100
        print(
            f"consumer batch of 100: p50 {pct(batched.batches_ms, 50):.1f} ms "
            f"({per_event:.2f} ms per event), max {max(batched.batches_ms):.1f} ms"
        )
    if batched.consumer_peak_mb:
        print(f"consumer process peak memory: {batched.consumer_peak_mb:.0f} MB")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (publisher, embedded pipeline): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
