"""Build the job context (and the worker) from a running app or from settings (the CLI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from gateway.db.base import utcnow
from gateway.platforms import registry, safefetch
from gateway.platforms.handlers import JobContext
from gateway.platforms.http import PlatformClient
from gateway.platforms.sync import FetchImage, SyncDeps
from gateway.platforms.worker import Worker
from gateway.runtime import Runtime
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform


def image_fetcher(settings: GatewaySettings) -> FetchImage:
    """Product images through the SSRF-safe fetcher, with the settings' caps."""

    def fetch(url: str) -> bytes:
        return safefetch.fetch(
            url,
            max_bytes=settings.platform_image_max_bytes,
            timeout_s=settings.platform_image_timeout_s,
            base_url_override=safefetch.base_url_override_for(settings),
        ).content

    return fetch


def build_context(
    *,
    settings: GatewaySettings,
    engine: Engine,
    runtime: Runtime,
    app: FastAPI | None = None,
    client: PlatformClient | None = None,
    fetch_image: FetchImage | None = None,
) -> JobContext:
    """A context whose adapters come from the registry and whose client is from settings."""

    def warehouse() -> Engine | None:
        pipeline = getattr(app.state, "analytics", None) if app is not None else None
        if pipeline is None:
            return None
        found: Engine | None = pipeline.writer_engine or pipeline.engine
        return found

    return JobContext(
        settings=settings,
        engine=engine,
        deps=SyncDeps(
            storage=runtime.storage,
            ml=runtime.ml,
            fetch_image=fetch_image or image_fetcher(settings),
        ),
        adapter_for=lambda platform: registry.get_adapter(settings, Platform(platform)),
        client=client or PlatformClient.from_settings(settings),
        app=app,
        warehouse=warehouse,
        clock=utcnow,
    )


@asynccontextmanager
async def worker_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The embedded worker thread, when ``TRYON_PLATFORM_WORKER`` (the default) is on."""
    settings: GatewaySettings = app.state.settings
    worker: Worker | None = None
    if settings.platform_worker:
        ctx = build_context(
            settings=settings, engine=app.state.engine, runtime=app.state.runtime, app=app
        )
        worker = Worker(ctx)
        app.state.platform_worker = worker
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
            worker.ctx.client.close()
