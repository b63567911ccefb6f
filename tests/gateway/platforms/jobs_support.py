"""Running a test gateway's platform jobs by hand: a worker on the app's own context, the
queue drained, the jobs listed (shared by the platform packages' tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms.context import build_context
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.worker import Worker


@contextmanager
def worker_of(client: TestClient) -> Iterator[Worker]:
    """A worker on the app's settings, engine and runtime (its client closed after)."""
    app: Any = client.app
    ctx = build_context(
        settings=app.state.settings, engine=app.state.engine, runtime=app.state.runtime, app=app
    )
    yield Worker(ctx)
    ctx.client.close()


def drain(worker: Worker, *, limit: int = 200) -> list[JobStatus]:
    """Run jobs until none is due; their outcomes."""
    statuses = []
    for _ in range(limit):
        status = worker.run_once()
        if status is None:
            return statuses
        statuses.append(status)
    raise AssertionError("the queue did not drain")


def jobs_of(client: TestClient) -> list[PlatformJob]:
    """Every job in the app's database, detached."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        found = list(session.scalars(select(PlatformJob)))
        session.expunge_all()
        return found
