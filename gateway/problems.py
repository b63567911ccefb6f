"""RFC 9457 problem+json: the one place errors become HTTP responses."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from analytics import errors as analytics_errors
from analytics.ingest import MalformedBody
from gateway import ml
from gateway.errors import (
    BadRequest,
    DependencyUnavailable,
    GatewayError,
    InvalidInput,
    ServiceUnavailable,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/problems/"

log = structlog.get_logger(__name__)

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    429: ("rate-limited", "Too many requests"),
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE

    def body_dict(self) -> dict[str, Any]:
        """The problem as data (for WebSocket messages)."""
        body: dict[str, Any] = json.loads(bytes(self.body))
        return body


def from_analytics_error(exc: analytics_errors.AnalyticsError) -> GatewayError:
    """The gateway error an analytics exception stands for (the one place they are mapped)."""
    if isinstance(exc, MalformedBody):
        return BadRequest("The body is not valid JSON", errors=exc.errors)
    if isinstance(exc, analytics_errors.InvalidEvents):
        return InvalidInput(_sentence(str(exc)), errors=exc.errors)
    if isinstance(exc, analytics_errors.InvalidQuery):
        return InvalidInput(_sentence(str(exc)), errors=exc.errors)
    if isinstance(exc, analytics_errors.PublishRefused):
        return ServiceUnavailable(
            "Analytics cannot take more events right now", retry_after=exc.retry_after_s
        )
    if isinstance(exc, analytics_errors.WarehouseUnavailable):
        return DependencyUnavailable("warehouse", "The analytics warehouse is unavailable")
    return GatewayError()


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def to_gateway_error(exc: Exception) -> GatewayError:
    """The gateway error for any exception, as the HTTP handlers below would map it."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ml.ML_EXCEPTIONS):
        return ml.from_ml_error(exc)
    if isinstance(exc, analytics_errors.AnalyticsError):
        return from_analytics_error(exc)
    if isinstance(exc, OperationalError | PoolTimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return ServiceUnavailable("The database is unavailable")
    return GatewayError()


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """Build a problem+json response; ``type`` is ``/problems/<slug>``, stable per error."""
    body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def from_error(exc: GatewayError, request: Request | None = None) -> ProblemResponse:
    ext = dict(exc.extensions)
    if request is not None and (rid := _request_id(request)):
        ext.setdefault("request_id", rid)
    return problem(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail if exc.detail != exc.title else None,
        instance=request.url.path if request is not None else None,
        headers=exc.headers,
        **ext,
    )


def allowed_methods(routes: Sequence[Any], scope: Scope) -> list[str]:
    """Every method some route serves at this request's path (included routers flattened)."""
    methods: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            methods.update(allowed_methods(inner.routes, scope))
            continue
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**scope, "method": next(iter(route.methods))})
            if match is not Match.NONE:
                methods.update(route.methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> ProblemResponse:
        if exc.status >= 500:
            log.warning("request.failed", problem=exc.slug, detail=exc.detail)
        return from_error(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        return problem(
            422,
            "invalid-input",
            "Invalid input",
            "The request does not match the schema",
            instance=request.url.path,
            errors=errors,
            request_id=_request_id(request),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path served by
            # several routes (GET and POST /v1/products) must list them all (RFC 9110).
            headers["Allow"] = ", ".join(allowed_methods(request.app.routes, request.scope))
        return problem(
            exc.status_code,
            slug,
            title,
            detail,
            instance=request.url.path,
            headers=headers,
            request_id=_request_id(request),
        )

    async def _database_down(request: Request, exc: Exception) -> ProblemResponse:
        log.warning("database.unavailable", error=type(exc).__name__)
        return from_error(ServiceUnavailable("The database is unavailable"), request)

    async def _ml_error(request: Request, exc: Exception) -> ProblemResponse:
        return await _gateway_error(request, ml.from_ml_error(exc))

    for kind in ml.ML_EXCEPTIONS:
        app.add_exception_handler(kind, _ml_error)

    @app.exception_handler(analytics_errors.AnalyticsError)
    async def _analytics_error(
        request: Request, exc: analytics_errors.AnalyticsError
    ) -> ProblemResponse:
        return await _gateway_error(request, from_analytics_error(exc))

    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(PoolTimeoutError, _database_down)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> ProblemResponse:
        if exc.connection_invalidated:
            return await _database_down(request, exc)
        log.error("database.error", error=type(exc.orig).__name__)
        return from_error(GatewayError(), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
        log.error("request.crashed", error=type(exc).__name__, exc_info=exc)
        return from_error(GatewayError(), request)
