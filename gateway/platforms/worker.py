"""The platform job worker: takes jobs from ``platform_jobs`` and runs them.

Embedded mode: the platforms router's lifespan starts one daemon thread in the gateway
process (SQLite has one writer anyway). Scale-out: ``tryon platforms worker`` runs the same
loop in its own pods, any number of them (PostgreSQL ``FOR UPDATE SKIP LOCKED`` gives each
job to one worker), and the API replicas set ``TRYON_PLATFORM_WORKER=false``.

A job is claimed in one short transaction (leased), run outside it, then marked done or
failed in another: a worker killed mid-job leaves a lease that expires, and the job runs
again (handlers are idempotent). ``TRYON_PLATFORM_WORKER_START_DELAY_S`` holds the first
claim back (the restart test kills the process in that window).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Engine

from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import GatewayError
from gateway.platforms import handlers, intake, jobs
from gateway.platforms.models import JobStatus
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.platforms.worker")

_WAKE = threading.Event()
MAX_ERROR_WAIT_S = 30.0
"""The longest wait between polls while the database keeps failing."""
PRUNE_EVERY_S = 3600.0


def wake() -> None:
    """Tell this process's worker that a job was just enqueued (it also polls)."""
    _WAKE.set()


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return " < ".join(f"{f.name}:{f.lineno}" for f in reversed(frames[-3:]))


class Worker:
    """Runs due jobs with a ``JobContext``; ``run_once`` for tests, ``start`` for a thread."""

    def __init__(
        self,
        ctx: handlers.JobContext,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.settings: GatewaySettings = ctx.settings
        self.engine: Engine = ctx.engine
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> JobStatus | None:
        """Claim and run one due job; its new status, or None when nothing was due."""
        now = self.clock()
        with session_scope(self.engine) as session:
            job = jobs.claim(session=session, now=now, lease_s=self.settings.platform_job_lease_s)
        if job is None:
            return None
        try:
            result = handlers.run(self.ctx, job)
        except Exception as exc:  # any failure is recorded and retried
            error = (
                f"{exc.slug}: {exc.detail}"
                if isinstance(exc, GatewayError)
                else f"{type(exc).__name__}: {exc}"
            )
            # The log says what failed and where, never the error's text: a validation error
            # quotes the webhook's payload (orders). The full reason stays on the job row.
            log.warning(
                "platforms.job_failed",
                job_id=str(job.id),
                kind=job.kind.value,
                attempt=job.attempts,
                error=exc.slug if isinstance(exc, GatewayError) else type(exc).__name__,
                where=_where(exc),
            )
            with session_scope(self.engine) as session:
                return jobs.fail(
                    session=session,
                    job_id=job.id,
                    error=error,
                    now=self.clock(),
                    max_attempts=self.settings.platform_job_max_attempts,
                    base_backoff_s=self.settings.platform_job_backoff_s,
                )
        with session_scope(self.engine) as session:
            jobs.finish(session=session, job_id=job.id, now=self.clock(), result=result)
        log.info("platforms.job_done", job_id=str(job.id), kind=job.kind.value)
        return JobStatus.DONE

    def run_until_idle(self, *, max_jobs: int = 10_000) -> int:
        """Run due jobs until none is due (tests, the CLI); returns how many ran."""
        count = 0
        while count < max_jobs and self.run_once() is not None:
            count += 1
        return count

    def prune(self) -> int:
        """Delete done jobs (and so their dedupe keys) older than ``intake.PRUNE_AFTER``."""
        with session_scope(self.engine) as session:
            return jobs.prune(session=session, older_than=self.clock() - intake.PRUNE_AFTER)

    def loop(self) -> None:
        """Poll until ``stop``; wakes at once when this process enqueues a job; prunes old
        done jobs once an hour."""
        if self._stop.wait(self.settings.platform_worker_start_delay_s):
            return
        next_prune = 0.0
        failures = 0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_S
                    self.prune()
                ran = self.run_once()
                failures = 0
            except Exception as exc:  # the database is away: wait (longer each time), retry
                failures += 1
                if failures == 1 or failures % 10 == 0:  # once, then now and then: not a flood
                    log.warning(
                        "platforms.worker_error", error=type(exc).__name__, failures=failures
                    )
                ran = None
            if ran is None:
                poll = self.settings.platform_worker_poll_s
                _WAKE.wait(min(poll * 2 ** min(failures, 5), max(poll, MAX_ERROR_WAIT_S)))
                _WAKE.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="platform-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        _WAKE.set()
        if self._thread is not None:
            self._thread.join(timeout)
