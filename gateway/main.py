"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import problems
from gateway.api import health
from gateway.db.session import make_engine
from gateway.logging import configure as configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.products import views as products
from gateway.readiness import Probe, database_probe, http_probe, redis_probe
from gateway.settings import GatewaySettings, get_settings
from gateway.web import views as web


def _probes(settings: GatewaySettings, app: FastAPI) -> dict[str, Probe]:
    probes: dict[str, Probe] = {"database": database_probe(app.state.engine)}
    timeout = settings.readiness_timeout_s
    if settings.redis_url:
        probes["redis"] = redis_probe(settings.redis_url, timeout)
    if settings.ml_url:
        probes["ml"] = http_probe(settings.ml_url.rstrip("/") + "/healthz", timeout)
    return probes


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway for ``settings`` (read from the environment when omitted)."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = FastAPI(
        title="Try-on API",
        version="1",
        description="Virtual try-on for merchants (secret keys) and their shoppers' widgets "
        "(publishable keys). Errors are RFC 9457 problem+json.",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.probes = _probes(settings, app)
    problems.install(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(products.router)
    app.include_router(web.router)
    return app
