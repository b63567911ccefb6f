"""Start the analytics pipeline with the app and close it (flushing) at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from analytics.pipeline import Pipeline, start
from analytics.settings import AnalyticsSettings
from gateway.events.nonces import make_nonce_store

log = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Tests may set ``app.state.analytics_settings`` first; otherwise the environment."""
    settings: AnalyticsSettings = getattr(app.state, "analytics_settings", None) or (
        AnalyticsSettings()
    )
    pipeline = await asyncio.to_thread(start, settings)
    app.state.analytics = pipeline
    app.state.dashboard_nonces = make_nonce_store(app.state.settings)
    log.info(
        "analytics.started",
        transport="in-process" if settings.is_embedded_transport else "rabbitmq",
        warehouse="sqlite" if settings.is_embedded_warehouse else "postgresql",
    )
    try:
        yield
    finally:
        await asyncio.to_thread(pipeline.close)
        await app.state.dashboard_nonces.close()


def pipeline_of(app: FastAPI) -> Pipeline:
    pipeline: Pipeline = app.state.analytics
    return pipeline
