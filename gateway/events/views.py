"""The analytics router the gateway mounts: ingestion, metrics API, dashboard, lifespan."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.events import dashboard, ingest, metrics_views
from gateway.events.lifespan import lifespan

router = APIRouter(lifespan=lifespan)
router.include_router(ingest.router)
router.include_router(metrics_views.router)
router.include_router(dashboard.router)
