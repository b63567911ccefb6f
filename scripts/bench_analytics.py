"""Benchmark: events per second from publisher to warehouse, and the consumer's batch latency.

Runs on the real services (RabbitMQ and PostgreSQL at the test addresses, overridable with
TRYON_TEST_AMQP_URL / TRYON_TEST_POSTGRES_URL), like production: this process publishes with
confirms, ``tryon analytics consume`` runs as its own process into a fresh PostgreSQL
warehouse. The drain figures publish first and time the consumers alone (the publisher in
one process here is slower than the consumers). References, measured in the same run: the
same consumer storing one event per transaction (batch size 1, prefetch 100), i.e. what
batching buys; the same for the embedded mode (in-process queue and consumer thread into
SQLite).

    .venv/bin/python scripts/bench_analytics.py [--events 20000] [--reference-events 3000]
        [--batch-size 500] [--prefetch 1000] [--consumers 2] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
        deadline = time.monotonic() + 90  # a loaded machine starts processes slowly
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


def drain_run(name: str, n: int, consumers: int = 1, **overrides: object) -> Result:
    """RabbitMQ -> PostgreSQL alone: ``n`` events are published first (the publisher is not
    timed), then ``consumers`` consumer processes start and the clock runs from when they
    consume until every event is stored. What the consumer side can ingest, whatever the
    publisher's own rate on this machine."""
    warehouse = create_database()
    s = settings_for(warehouse, **overrides)
    merchant = uuid.uuid4()
    bodies = make_bodies(merchant, n)
    publisher = AmqpPublisher(s)
    logs: list[Path] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        publisher.start()
        for i in range(0, n, 100):
            while True:
                try:
                    publisher.publish(bodies[i : i + 100])
                    break
                except Exception:
                    time.sleep(0.005)
        if not publisher.flush(300):
            raise SystemExit("publisher did not get every confirm")
        for _ in range(consumers):
            log = Path(tempfile.mkstemp(prefix="bench-consumer-", suffix=".log")[1])
            logs.append(log)
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [TRYON, "analytics", "consume", "--log-level", "DEBUG"],
                        env=env_for(s),
                        stdout=out,
                        stderr=out,
                    )
                )
        started = time.perf_counter()
        while any('"analytics.consuming"' not in log.read_text() for log in logs):
            if time.perf_counter() - started > 90 or any(p.poll() is not None for p in procs):
                raise SystemExit(
                    "consumer did not start:\n" + "\n".join(log.read_text()[-1500:] for log in logs)
                )
            time.sleep(0.01)
        started = time.perf_counter()
        while stored(warehouse, merchant) < n:
            if time.perf_counter() - started > 600:
                raise SystemExit("consumer too slow (>600 s)")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        peaks = [_peak_rss_mb(p.pid) or 0.0 for p in procs]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        batches = [
            float(json.loads(line)["ms"])
            for log in logs
            for line in log.read_text().splitlines()
            if '"analytics.batch"' in line
        ]
        count = stored(warehouse, merchant)
        if count != n:
            raise SystemExit(f"{name}: stored {count} of {n}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        publisher.close(2)
        delete_topology(s)
        drop_database(warehouse)
        for log in logs:
            log.unlink(missing_ok=True)
    return Result(name, n, elapsed, batches, sum(peaks))


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def embedded_run(n: int, batch_size: int = 500) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        s = AnalyticsSettings(
            data_dir=Path(tmp), batch_size=batch_size, prefetch=max(batch_size, 100)
        )
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
    return Result(f"embedded: in-process -> SQLite (batch {batch_size})", n, elapsed, batches)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reference-events", type=int, default=3_000)
    parser.add_argument("--batch-size", type=int, default=AnalyticsSettings().batch_size)
    parser.add_argument("--prefetch", type=int, default=AnalyticsSettings().prefetch)
    parser.add_argument("--consumers", type=int, default=2, help="for the drain figure")
    parser.add_argument(
        "--sweep", action="store_true", help="also drain with other batch sizes (to choose one)"
    )
    args = parser.parse_args()
    batch, prefetch = args.batch_size, args.prefetch

    load = os.getloadavg()[0]
    print(
        f"analytics benchmark: {args.events} events, {os.cpu_count()} CPUs (shared machine, "
        f"load average {load:.1f} at the start)"
    )
    batched, publish_rate = amqp_run(
        f"end to end: publisher -> rabbitmq -> PostgreSQL, batch {batch}, prefetch {prefetch}",
        args.events,
        batch_size=batch,
        prefetch=prefetch,
    )
    drained = [
        drain_run(
            f"rabbitmq -> PostgreSQL, 1 consumer, batch {batch}, prefetch {prefetch}",
            args.events,
            batch_size=batch,
            prefetch=prefetch,
        )
    ]
    if args.consumers > 1:
        drained.append(
            drain_run(
                f"rabbitmq -> PostgreSQL, {args.consumers} consumers, batch {batch}",
                args.events,
                consumers=args.consumers,
                batch_size=batch,
                prefetch=prefetch,
            )
        )
    if args.sweep:
        for size in (100, 1000, 2000):
            drained.append(
                drain_run(
                    f"rabbitmq -> PostgreSQL, 1 consumer, batch {size}, prefetch {2 * size}",
                    args.events,
                    batch_size=size,
                    prefetch=max(100, 2 * size),
                )
            )
    reference = drain_run(
        "reference: batch 1 (one transaction per event), prefetch 100",
        args.reference_events,
        batch_size=1,
        prefetch=100,
    )
    embedded = embedded_run(args.events, batch)
    embedded_ref = embedded_run(args.reference_events, 1)
    embedded_ref.name = "reference: embedded, batch 1 (one transaction per event)"
    rows = [batched, *drained, reference, embedded, embedded_ref]
    print()
    print(f"{'pipeline':72} {'events':>7} {'events/s':>9} {'batch p50':>10} {'batch p95':>10}")
    for r in rows:
        print(
            f"{r.name:72} {r.events:>7} {r.rate:>9.0f} "
            f"{pct(r.batches_ms, 50):>8.1f}ms {pct(r.batches_ms, 95):>8.1f}ms"
        )
    print()
    print(f"publisher alone (confirmed, while the consumer runs): {publish_rate:,.0f} events/s")
    best = max(drained, key=lambda r: r.rate)
    print(
        f"ratio: best drain / reference (one transaction per event): "
        f"{best.rate / reference.rate:.1f}x ({best.name})"
    )
    print(f"ratio: embedded batched / embedded reference: {embedded.rate / embedded_ref.rate:.1f}x")
    for r in rows:
        if r.consumer_peak_mb:
            print(f"consumer peak memory ({r.name}): {r.consumer_peak_mb:.0f} MB")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (publisher, embedded pipeline): {peak_mb:.0f} MB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
