"""What the platform packages' tests share (Shopify, BigCommerce, WooCommerce, Magento): the
settings of a gateway wired to a fake platform, the app and its job worker driven by the
test, the queue drained, the jobs and the store row read back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.main import create_app
from gateway.platforms.context import build_context
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.worker import Worker
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store


def settings_builder(
    make_settings: Callable[..., GatewaySettings],
    database: Path,
    fake_base_url: str,
    public_url: str,
    **fixed: Any,
) -> Callable[..., GatewaySettings]:
    """``build(**overrides)``: settings for a gateway that reaches the fake platform at
    ``fake_base_url`` (the test base URL), runs no worker of its own and tries each call once;
    on SQLite at ``database`` (migrated) unless ``database_url`` is given; ``fixed`` adds the
    platform's own settings (its app's credentials)."""

    def build(**overrides: Any) -> GatewaySettings:
        url = overrides.pop("database_url", None) or f"sqlite:///{database}"
        migrate.upgrade(url)
        values: dict[str, Any] = {
            "database_url": url,
            "platform_api_base_url": fake_base_url,
            "public_url": public_url,
            "platform_worker": False,
            "platform_max_attempts": 1,
            **fixed,
        }
        return make_settings(**(values | overrides))

    return build


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
    """Every job in the app's database, oldest first, detached."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        found = list(session.scalars(select(PlatformJob).order_by(PlatformJob.created_at)))
        session.expunge_all()
        return found


def store_of(client: TestClient, platform: Platform, shop: str) -> Store | None:
    """The store row of ``shop`` on ``platform``, detached (None: never installed)."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = session.scalar(
            select(Store).where(Store.platform == platform, Store.shop_domain == shop)
        )
        if store is not None:
            session.expunge(store)
        return store
