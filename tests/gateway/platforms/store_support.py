"""What the platform packages' tests share: an app and its job worker driven by the test, the
queue drained, the jobs and the store row read back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.main import create_app
from gateway.platforms.context import build_context
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.worker import Worker
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store


@contextmanager
def app_client(settings: GatewaySettings, base_url: str) -> Iterator[TestClient]:
    """The gateway for ``settings``, called as ``base_url`` (its public URL)."""
    app = create_app(settings)
    with TestClient(app, base_url=base_url, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


@contextmanager
def job_worker(client: TestClient) -> Iterator[Worker]:
    """A worker on the app's own context (the test runs it)."""
    app: Any = client.app
    ctx = build_context(
        settings=app.state.settings, engine=app.state.engine, runtime=app.state.runtime, app=app
    )
    yield Worker(ctx)
    ctx.client.close()


def drain(worker: Worker, *, limit: int = 200) -> list[JobStatus]:
    """Run every job that is due now (jobs scheduled for later stay pending)."""
    statuses = []
    for _ in range(limit):
        status = worker.run_once()
        if status is None:
            return statuses
        statuses.append(status)
    raise AssertionError("the queue did not drain")


def jobs_of(client: TestClient) -> list[PlatformJob]:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        found = list(session.scalars(select(PlatformJob).order_by(PlatformJob.created_at)))
        session.expunge_all()
        return found


def store_of(client: TestClient, platform: Platform, shop: str) -> Store | None:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = session.scalar(
            select(Store).where(Store.platform == platform, Store.shop_domain == shop)
        )
        if store is not None:
            session.expunge(store)
        return store
