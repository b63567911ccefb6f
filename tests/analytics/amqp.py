"""Helpers for tests on the real RabbitMQ: names of their own, broker restarts, a consumer
subprocess, counting what reached the warehouse."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import create_engine, func, select, text

from analytics.settings import AnalyticsSettings
from analytics.warehouse import tables as t
from ml_service import ports

TRYON = str(Path(sys.executable).with_name("tryon"))


def unique_settings(amqp_url: str, warehouse_url: str, **overrides: Any) -> AnalyticsSettings:
    """Exchange and queue names of this test only (deleted by ``delete_topology``)."""
    run = f"tryon_test_{uuid.uuid4().hex[:10]}"
    values: dict[str, Any] = {
        "amqp_url": amqp_url,
        "warehouse_url": warehouse_url,
        "exchange": run,
        "queue": f"{run}.events",
        "dead_letter_exchange": f"{run}.dlx",
        "dead_letter_queue": f"{run}.dead",
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 2.0,
        "connect_timeout_s": 2.0,
        "heartbeat_s": 10,
    }
    values.update(overrides)
    return AnalyticsSettings(**values)


def env_for(settings: AnalyticsSettings) -> dict[str, str]:
    """The environment that gives a consumer subprocess the same settings."""
    fields = (
        "amqp_url",
        "warehouse_url",
        "exchange",
        "queue",
        "routing_key",
        "dead_letter_exchange",
        "dead_letter_queue",
        "delivery_limit",
        "prefetch",
        "batch_size",
        "batch_max_wait_ms",
        "reconnect_min_s",
        "reconnect_max_s",
        "connect_timeout_s",
        "heartbeat_s",
        "buffer_max_events",
        "shutdown_timeout_s",
        "alive_file",
        "alive_interval_s",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_ANALYTICS_")}
    for name in fields:
        value = getattr(settings, name)
        if value is not None:
            env[f"TRYON_ANALYTICS_{name.upper()}"] = str(value)
    return env


def channel(url: str) -> Any:
    return pika.BlockingConnection(pika.URLParameters(url)).channel()


def delete_topology(settings: AnalyticsSettings) -> None:
    assert settings.amqp_url
    wait_for_broker(settings.amqp_url)
    ch = channel(settings.amqp_url)
    try:
        for queue in (settings.queue, settings.dead_letter_queue):
            ch.queue_delete(queue)
        for exchange in (settings.exchange, settings.dead_letter_exchange):
            ch.exchange_delete(exchange)
    finally:
        ch.connection.close()


def ready_messages(settings: AnalyticsSettings, queue: str) -> int:
    assert settings.amqp_url
    ch = channel(settings.amqp_url)
    try:
        return int(ch.queue_declare(queue, passive=True).method.message_count)
    finally:
        ch.connection.close()


def drain_dead_letters(settings: AnalyticsSettings) -> list[tuple[dict[str, Any], bytes]]:
    assert settings.amqp_url
    ch = channel(settings.amqp_url)
    out: list[tuple[dict[str, Any], bytes]] = []
    try:
        while True:
            method, properties, body = ch.basic_get(settings.dead_letter_queue, auto_ack=True)
            if method is None:
                return out
            out.append((dict(properties.headers or {}), body))
    finally:
        ch.connection.close()


def wait_for_broker(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pika.BlockingConnection(
                pika.URLParameters(url + "?socket_timeout=2&connection_attempts=1")
            ).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=90)


def ensure_broker_running(url: str) -> None:
    """Leave the broker running whatever happened (start_app, else a detached server)."""
    try:
        rabbitmqctl("start_app")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError):
        subprocess.run(["rabbitmq-server", "-detached"], check=False, timeout=30)
    wait_for_broker(url)


@dataclass
class ConsumerProcess:
    """``tryon analytics consume`` as a real subprocess, its logs in a file."""

    settings: AnalyticsSettings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [TRYON, "analytics", "consume"],
            env=env_for(self.settings),
            stdout=log,
            stderr=log,
        )
        log.close()
        return self

    def wait_consuming(self, timeout: float = 30.0) -> None:
        """Until the log says it consumes (connected, declared, qos, consume)."""
        self._wait_for_log('"analytics.consuming"', timeout)

    def _wait_for_log(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if needle in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"consumer exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no {needle} in time: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text()


@dataclass(frozen=True)
class Counts:
    facts: int
    distinct_facts: int
    seen: int
    rollup_sum: int
    """Every counter of ``rollup_merchant_daily`` but units, summed: one per stored event."""


def count(url: str, merchant_id: uuid.UUID) -> Counts:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            f = t.fact_event
            facts, distinct = conn.execute(
                select(func.count(), func.count(func.distinct(f.c.event_id))).where(
                    f.c.merchant_id == merchant_id
                )
            ).one()
            seen = conn.execute(
                select(func.count()).where(t.seen_event.c.merchant_id == merchant_id)
            ).scalar_one()
            r = t.rollup_merchant_daily
            total = sum(r.c[c] for c in t.COUNTERS if c != "units")
            rollup = conn.execute(
                select(func.coalesce(func.sum(total), 0)).where(r.c.merchant_id == merchant_id)
            ).scalar_one()
    finally:
        engine.dispose()
    return Counts(int(facts), int(distinct), int(seen), int(rollup))


def stored_ids(url: str, merchant_id: uuid.UUID) -> set[uuid.UUID]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(
                conn.execute(
                    select(t.fact_event.c.event_id).where(t.fact_event.c.merchant_id == merchant_id)
                ).scalars()
            )
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def blocked_on_lock(url: str) -> bool:
    """Whether some session in this database waits for a lock (our consumer, mid-batch)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            return int(n) > 0
    finally:
        engine.dispose()


RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
BROKER_START_ATTEMPTS = 3


@dataclass
class PrivateBroker:
    """A RabbitMQ node of this test alone: its own name, ports, data dir, cookie and log.

    Tests that stop a broker stop this one, never the shared broker other tests (and other
    people on this machine) use. Started as the current user with HOME in its own directory,
    so the Erlang cookie that ``rabbitmqctl -n`` needs is its own as well.
    """

    root: Path
    node: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def ctl(self, *args: str, timeout: float = 120.0) -> None:
        done = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=_broker_env(self.root),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"rabbitmqctl {' '.join(args)} on {self.node} failed: "
                f"{done.stderr.decode(errors='replace')}\n{self.log_tail()}"
            )

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def restart(self, down_s: float = 1.0) -> None:
        """Stop the RabbitMQ application, keep it down a moment, start it, wait for it."""
        try:
            self.ctl("stop_app")
            time.sleep(down_s)
        finally:
            self.ctl("start_app")
            wait_for_broker(self.url)

    def stop(self) -> None:
        try:
            self.ctl("shutdown", timeout=60)
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def _broker_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
    env.update(
        HOME=str(root),
        RABBITMQ_CONF_ENV_FILE=str(root / "rabbitmq-env.conf"),
        ERL_EPMD_ADDRESS="127.0.0.1",
        **extra,
    )
    return env


@contextlib.contextmanager
def private_broker(root: Path, timeout_s: float = 180.0) -> Iterator[PrivateBroker]:
    """Start a private RabbitMQ node under ``root``; yield it once it answers; shut it down."""
    if not (RABBITMQ_BIN / "rabbitmq-server").is_file():
        pytest.skip("rabbitmq-server is not installed here (only the shared broker is)")
    for attempt in range(1, BROKER_START_ATTEMPTS + 1):
        node_dir = root / f"node{attempt}"
        (node_dir / "mnesia").mkdir(parents=True)
        (node_dir / "log").mkdir()
        node = f"tryon-test-{uuid.uuid4().hex[:8]}@localhost"
        port, dist_port = ports.reserve_ports(2)
        (node_dir / "enabled_plugins").write_text("[].\n")  # no management plugin, no port
        (node_dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\n")
        (node_dir / "rabbitmq-env.conf").write_text("")  # not the shared node's settings
        env = _broker_env(
            node_dir,
            RABBITMQ_NODENAME=node,
            RABBITMQ_NODE_PORT=str(port),
            RABBITMQ_DIST_PORT=str(dist_port),
            RABBITMQ_MNESIA_BASE=str(node_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(node_dir / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(node_dir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(node_dir / "rabbitmq.conf"),
            RABBITMQ_PID_FILE=str(node_dir / "pid"),
        )
        with (node_dir / "server.log").open("ab") as log:
            process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                cwd=node_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        broker = PrivateBroker(root=node_dir, node=node, port=port, process=process)
        try:
            broker.ctl("wait", "--timeout", str(int(timeout_s)), str(node_dir / "pid"))
            wait_for_broker(broker.url, timeout=timeout_s)
        except (AssertionError, subprocess.TimeoutExpired):
            broker.stop()
            taken = "eaddrinuse" in broker.log_tail().lower()
            if taken and attempt < BROKER_START_ATTEMPTS:
                continue  # a reserved port was taken before the node bound it: new ports
            raise
        try:
            yield broker
        finally:
            broker.stop()
        return
