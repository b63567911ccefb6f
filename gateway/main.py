"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import problems
from gateway.api import health, openapi
from gateway.api import metrics as metrics_api
from gateway.api.edge import BodyLimitMiddleware, SecurityHeadersMiddleware, WidgetCorsMiddleware
from gateway.assets import views as assets
from gateway.db import models as _all_models  # noqa: F401 - every mapper, for foreign keys
from gateway.db.session import make_engine, session_factory, session_scope
from gateway.events import views as events
from gateway.events.readiness import broker_probe
from gateway.experiments import views as experiments
from gateway.keys import service as keys
from gateway.keys import views as keys_views
from gateway.logging import configure as configure_logging
from gateway.metrics import MetricsMiddleware
from gateway.middleware import RequestContextMiddleware
from gateway.orders import views as orders
from gateway.platforms import views as platforms
from gateway.platforms.bigcommerce import views as bigcommerce
from gateway.platforms.magento import views as magento
from gateway.platforms.shopify import views as shopify
from gateway.platforms.woocommerce import views as woocommerce
from gateway.products import views as products
from gateway.readcache import install as install_read_cache
from gateway.readiness import Probe, database_probe, http_probe, redis_probe, storage_probe
from gateway.recommendations import views as recommendation_views
from gateway.runtime import build_runtime
from gateway.settings import GatewaySettings, get_settings
from gateway.storage import S3Storage
from gateway.tryon import live
from gateway.tryon import views as tryon
from gateway.usage import views as usage
from gateway.web import views as web
from gateway.widget import config as widget_config
from gateway.widget import reads as widget_reads
from gateway.widget import views as widget

_ORIGINS_TTL_S = 30.0


def _probes(settings: GatewaySettings, app: FastAPI) -> dict[str, Probe]:
    probes: dict[str, Probe] = {"database": database_probe(app.state.engine)}
    timeout = settings.readiness_timeout_s
    if settings.redis_url:
        probes["redis"] = redis_probe(settings.redis_url, timeout)
    if settings.ml_url:
        probes["ml"] = http_probe(settings.ml_url.rstrip("/") + "/healthz", timeout)
    if isinstance(storage := app.state.runtime.storage, S3Storage):
        probes["storage"] = storage_probe(storage)
    if (broker := broker_probe(app)) is not None:
        probes["broker"] = broker
    return probes


class _OriginIndex:
    """Whether some active publishable key allows an origin (for preflights), cached briefly."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.loaded_at = -_ORIGINS_TTL_S
        self.origins: frozenset[str] = frozenset()

    def _load(self) -> frozenset[str]:
        with session_scope(self.app.state.engine) as session:
            return frozenset(keys.known_origins(session=session))

    async def __call__(self, origin: str) -> bool:
        now = time.monotonic()
        if now - self.loaded_at > _ORIGINS_TTL_S:
            self.origins = await asyncio.to_thread(self._load)
            self.loaded_at = now
        return origin in self.origins


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.runtime.close()


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway for ``settings`` (read from the environment when omitted)."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = FastAPI(
        title="Try-on API",
        version="1",
        description="Virtual try-on for merchants (secret keys) and their shoppers' widgets "
        "(publishable keys). Errors are RFC 9457 problem+json.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.runtime = runtime = build_runtime(settings)
    install_read_cache(session_factory(app.state.engine), runtime.reads, widget_reads.changed_keys)
    app.state.probes = _probes(settings, app)
    problems.install(app)
    # Added innermost first: the request id wraps everything, the body cap sits nearest
    # (after the widget configuration's fast path, which needs no body and no routing).
    app.add_middleware(widget_config.FastPath, runtime=runtime)
    app.add_middleware(
        BodyLimitMiddleware,
        upload_bytes=settings.max_upload_bytes,
        json_bytes=settings.max_json_bytes,
        webhook_bytes=settings.platform_webhook_max_bytes,
    )
    app.add_middleware(WidgetCorsMiddleware, origin_is_known=_OriginIndex(app))
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.public_url.startswith("https://"))
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(metrics_api.router)
    app.include_router(products.router)
    app.include_router(keys_views.router)
    app.include_router(usage.router)
    app.include_router(orders.router)
    app.include_router(experiments.router)
    app.include_router(assets.router)
    app.include_router(widget.router)
    app.include_router(recommendation_views.widget_router)
    app.include_router(recommendation_views.merchant_router)
    app.include_router(tryon.router)
    app.include_router(live.router)
    app.include_router(web.router)
    app.include_router(shopify.router)
    app.include_router(bigcommerce.router)
    app.include_router(woocommerce.router)
    app.include_router(magento.router)
    app.include_router(events.router)
    app.include_router(platforms.router)
    openapi.install(app)
    return app
