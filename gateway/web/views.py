"""One router for the web pieces, registered in ``gateway.main``."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.web import favicon, sdk_views
from gateway.web.demo import views as demo_views

router = APIRouter()
router.include_router(favicon.router)
router.include_router(sdk_views.router)
router.include_router(demo_views.router)
