"""A gateway killed between answering a webhook and processing it loses nothing, and a
restart does the work once (a real process, SIGKILL, the embedded worker)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.platforms import installs
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.protocol import InstallGrant, Tokens
from gateway.products.models import Category, Product
from gateway.stores.models import Platform
from tests.conftest import TEST_SECRET
from tests.gateway.platforms.support import SHOP, sign

ROOT = Path(__file__).resolve().parents[3]
PORTS = range(8250, 8260)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8250-8259")


@contextmanager
def gateway(
    data_dir: Path, port: int, *, worker_delay_s: float
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRYON_") or k.startswith("TRYON_TEST_")
    }
    env.update(
        TRYON_ENV="test",
        TRYON_SECRET_KEY=TEST_SECRET,
        TRYON_DATA_DIR=str(data_dir),
        TRYON_PORT=str(port),
        TRYON_PLATFORM_WORKER_START_DELAY_S=str(worker_delay_s),
        TRYON_PLATFORM_WORKER_POLL_S="0.2",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.gateway.platforms.server_app:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the gateway exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def deliver(port: int, topic: str, payload: dict[str, Any], delivery_id: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(
        f"http://127.0.0.1:{port}/platforms/custom/webhooks",
        content=body,
        headers={
            "content-type": "application/json",
            "x-fake-hmac": sign(body),
            "x-fake-delivery": delivery_id,
            "x-fake-shop": SHOP,
            "x-fake-topic": topic,
            "x-fake-triggered-at": datetime.now(UTC).isoformat(),
        },
        timeout=10,
    )


def test_a_kill_between_the_answer_and_the_work_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    url = f"sqlite:///{data_dir / 'tryon.db'}"
    data_dir.mkdir()
    migrate.upgrade(url)
    engine = create_engine(url)
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(env="test", secret_key=TEST_SECRET, data_dir=data_dir)
    with session_scope(engine) as session:
        store = installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.CUSTOM,
            grant=InstallGrant(shop=SHOP, tokens=Tokens(access_token="t", scopes=())),
        )
        session.execute(text("DELETE FROM platform_jobs"))  # no sync in this test
        session.add(
            Product(
                merchant_id=store.merchant_id,
                store_id=store.id,
                external_id="p1",
                title="P1",
                category=Category.EYEWEAR,
            )
        )
    order = {
        "order_id": "5001",
        "currency": "EUR",
        "revenue": "80.00",
        "occurred_at": datetime.now(UTC).isoformat(),
        "lines": [{"product_id": "p1", "quantity": 1, "price": "80.00"}],
    }
    ids = {"delete": str(uuid.uuid4()), "order": str(uuid.uuid4())}

    def count(model: Any, *where: Any) -> int:
        with session_scope(engine) as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    port = free_port()
    with gateway(data_dir, port, worker_delay_s=3600) as proc:
        assert deliver(port, "products/delete", {"id": "p1"}, ids["delete"]).status_code == 200
        assert deliver(port, "orders/create", {"order": order}, ids["order"]).status_code == 200
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # Answered, not done: the jobs are on disk, the product is still there.
    assert count(PlatformJob, PlatformJob.status == JobStatus.PENDING) == 2
    assert count(Product) == 1

    with gateway(data_dir, port, worker_delay_s=0):
        deadline = time.monotonic() + 60
        while count(PlatformJob, PlatformJob.status == JobStatus.DONE) < 2:
            assert count(PlatformJob, PlatformJob.status == JobStatus.DEAD) == 0
            assert time.monotonic() < deadline, "the restarted worker did not run the jobs"
            time.sleep(0.2)
        # The platform retries the same deliveries: nothing more happens.
        assert deliver(port, "products/delete", {"id": "p1"}, ids["delete"]).status_code == 200
        assert deliver(port, "orders/create", {"order": order}, ids["order"]).status_code == 200
    assert count(Product) == 0
    assert count(PlatformJob) == 2
    warehouse = create_engine(f"sqlite:///{data_dir / 'analytics.db'}")
    with warehouse.connect() as conn:
        orders = conn.execute(text("SELECT order_id FROM fact_order")).scalars().all()
    assert orders == ["5001"]
