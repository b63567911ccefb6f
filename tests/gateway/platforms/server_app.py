"""The gateway with the in-test platform's webhook route, for tests that run it as a real
process (``uvicorn tests.gateway.platforms.server_app:create --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.main import create_app
from gateway.platforms import registry
from gateway.stores.models import Platform
from tests.gateway.platforms.support import FakeAdapter, FakeCatalog, webhook_router


def create() -> FastAPI:
    catalog = FakeCatalog()

    def factory(_settings: object) -> FakeAdapter:
        return FakeAdapter(catalog)

    registry.register(factory, platform=Platform.CUSTOM)
    app = create_app()
    app.include_router(webhook_router(factory))
    return app
