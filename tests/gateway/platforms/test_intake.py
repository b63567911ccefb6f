"""Webhook intake under hostile input: forged, replayed, stale, oversized, malformed, unknown
shops, concurrent deliveries of one id; and jobs that fail until they are dead."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db.session import session_scope
from gateway.platforms import jobs
from gateway.platforms.models import JobKind, JobStatus, PlatformJob
from gateway.products.models import Product
from gateway.settings import GatewaySettings
from tests.gateway.conftest import assert_problem
from tests.gateway.platforms.support import Harness, harness, sign
from tests.gateway.platforms.test_lifecycle import install


def job_count(h: Harness, *where: Any) -> int:
    with session_scope(h.app.state.engine) as session:
        return int(session.scalar(select(func.count()).select_from(PlatformJob).where(*where)) or 0)


def test_a_delivery_is_one_job_however_often_it_comes(h: Harness) -> None:
    install(h)
    h.run_jobs()
    before = job_count(h)
    for _ in range(3):
        assert h.deliver("products/delete", {"id": "x"}, delivery_id="same-id").status_code == 200
    assert job_count(h) == before + 1


def test_concurrent_deliveries_of_one_id_make_one_job(h: Harness) -> None:
    install(h)
    h.run_jobs()
    before = job_count(h)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        barrier.wait()
        statuses.append(h.deliver("products/delete", {"id": "x"}, delivery_id="race").status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 6
    assert job_count(h) == before + 1


HOSTILE: dict[str, dict[str, Any]] = {
    "forged signature": {"signature": sign(b"something else")},
    "no signature": {"signature": ""},
    "signed with another secret": {"signature": sign(b'{"id": "x"}', secret="guess")},
    "body changed after signing": {"body": b'{"id": "y"}', "signature": sign(b'{"id": "x"}')},
    "stale (4 days old)": {"triggered_at": datetime.now(UTC) - timedelta(days=4)},
    "from the future": {"triggered_at": datetime.now(UTC) + timedelta(hours=1)},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_forged_and_stale_deliveries_are_refused(hs: Harness, case: str) -> None:
    install(hs)
    hs.run_jobs()
    before = job_count(hs)
    answer = hs.deliver("products/delete", {"id": "x"}, **HOSTILE[case])
    assert_problem(answer, 401, "unauthorized")
    assert job_count(hs) == before


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b""],
    ids=["broken", "array", "binary", "empty"],
)
def test_malformed_bodies_get_400(hs: Harness, body: bytes) -> None:
    install(hs)
    answer = hs.deliver("products/delete", {}, body=body)
    assert_problem(answer, 400, "bad-request")


def test_oversized_bodies_are_refused_before_they_are_read(hs: Harness) -> None:
    install(hs)
    hs.run_jobs()
    before = job_count(hs)
    big = json.dumps({"id": "x", "pad": "a" * (2 * 1024 * 1024)}).encode()
    answer = hs.deliver("products/delete", {}, body=big)
    assert_problem(answer, 413, "payload-too-large")

    # Chunked (no Content-Length): cut off once past the cap.
    def chunks() -> Any:
        for _ in range(40):
            yield b"a" * 65536

    answer = hs.client.post(
        "/platforms/custom/webhooks", content=chunks(), headers={"x-fake-hmac": "x"}
    )
    assert answer.status_code == 413
    assert job_count(hs) == before


def test_webhooks_have_their_own_body_cap(sqlite_settings: GatewaySettings) -> None:
    """TRYON_PLATFORM_WEBHOOK_MAX_BYTES, not the 256 KiB of other JSON bodies, caps webhooks."""
    cap = sqlite_settings.model_copy(update={"platform_webhook_max_bytes": 1024 * 1024})
    with harness(cap) as h:
        install(h)
        h.run_jobs()
        before = job_count(h)
        body = json.dumps({"id": "x", "pad": "a" * (400 * 1024)}).encode()
        assert h.deliver("products/delete", {}, body=body).status_code == 200
        assert job_count(h) == before + 1
        too_big = json.dumps({"id": "x", "pad": "a" * (1100 * 1024)}).encode()
        assert_problem(h.deliver("products/delete", {}, body=too_big), 413, "payload-too-large")


def test_a_valid_delivery_for_an_unknown_shop_changes_nothing(h: Harness) -> None:
    before = job_count(h)
    answer = h.deliver("shop/redact", {}, shop="someone-else.example")
    assert answer.status_code == 200
    assert job_count(h) == before


def test_a_failing_job_backs_off_and_ends_dead(hs: Harness) -> None:
    install(hs)
    hs.run_jobs()
    assert hs.deliver("explode", {}).status_code == 200
    clock = [datetime.now(UTC)]
    hs.worker.clock = lambda: clock[0]
    max_attempts = hs.app.state.settings.platform_job_max_attempts
    delays = []
    for attempt in range(1, max_attempts + 1):
        status = hs.worker.run_once()
        assert hs.worker.run_once() is None  # not due again at once
        with session_scope(hs.app.state.engine) as session:
            job = session.scalars(
                select(PlatformJob).where(PlatformJob.kind == JobKind.WEBHOOK)
            ).one()
            assert job.attempts == attempt
            assert job.last_error == "RuntimeError: the handler failed"
            if attempt < max_attempts:
                assert status is JobStatus.PENDING
                delays.append((job.run_after - clock[0]).total_seconds())
                clock[0] = job.run_after
            else:
                assert status is JobStatus.DEAD
                assert job.status is JobStatus.DEAD
    assert delays == sorted(delays)  # exponential backoff
    assert delays[0] >= hs.app.state.settings.platform_job_backoff_s
    # The operator gives it another go.
    with session_scope(hs.app.state.engine) as session:
        assert jobs.retry_dead(session=session, now=clock[0]) == 1
    assert hs.worker.run_once() is JobStatus.PENDING


def test_a_job_whose_worker_died_is_taken_again_after_its_lease(hs: Harness) -> None:
    hs.catalog.add("p1")
    store_id = install(hs)
    now = datetime.now(UTC)
    with session_scope(hs.app.state.engine) as session:
        for job in session.scalars(select(PlatformJob)):
            session.delete(job)
        jobs.enqueue(session=session, kind=JobKind.SYNC_STORE, store_id=store_id, now=now)
    with session_scope(hs.app.state.engine) as session:
        claimed = jobs.claim(session=session, now=now, lease_s=60)  # then the worker "dies"
    assert claimed is not None
    hs.worker.clock = lambda: now + timedelta(seconds=30)
    assert hs.worker.run_once() is None  # leased
    hs.worker.clock = lambda: now + timedelta(seconds=61)
    assert hs.worker.run_once() is JobStatus.DONE
    with session_scope(hs.app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 1
        assert session.scalars(select(PlatformJob)).one().attempts == 2


def test_two_workers_never_take_the_same_job(h: Harness) -> None:
    """PostgreSQL: SKIP LOCKED hands concurrent claimers different jobs; SQLite serialises."""
    store_id = install(h)
    with session_scope(h.app.state.engine) as session:
        for job in session.scalars(select(PlatformJob)):
            session.delete(job)
    now = datetime.now(UTC)
    with session_scope(h.app.state.engine) as session:
        for i in range(20):
            jobs.enqueue(
                session=session,
                kind=JobKind.SYNC_PRODUCT,
                store_id=store_id,
                payload={"external_id": str(i)},
                now=now,
            )
    taken: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def claim_all() -> None:
        barrier.wait()
        while True:
            with session_scope(h.app.state.engine) as session:
                job = jobs.claim(session=session, now=now, lease_s=600)
            if job is None:
                return
            with lock:
                taken.append(str(job.payload["external_id"]))

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken, key=int) == [str(i) for i in range(20)]


def test_done_jobs_are_pruned_after_a_week_and_their_ids_then_refused_as_stale(
    hs: Harness,
) -> None:
    install(hs)
    hs.run_jobs()
    assert hs.deliver("products/delete", {"id": "x"}, delivery_id="old-one").status_code == 200
    hs.run_jobs()
    later = datetime.now(UTC) + timedelta(days=8)
    hs.worker.clock = lambda: later
    assert hs.worker.prune() >= 3  # two install jobs and the delivery
    assert job_count(hs) == 0
    # The same delivery replayed now: its dedupe record is gone, its age refuses it.
    stale = hs.deliver(
        "products/delete",
        {"id": "x"},
        delivery_id="old-one",
        triggered_at=datetime.now(UTC) - timedelta(days=8),
    )
    assert_problem(stale, 401, "unauthorized")
    assert job_count(hs) == 0
