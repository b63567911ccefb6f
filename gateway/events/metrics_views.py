"""The merchant metrics API (secret keys, scope ``usage:read``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from analytics import metrics
from gateway.api.deps import MerchantDep, SessionDep
from gateway.api.scopes import require_scope
from gateway.events.lifespan import pipeline_of
from gateway.events.queries import PeriodDep, ProductQuery, with_titles

router = APIRouter(prefix="/v1/metrics", tags=["merchant: metrics"])

SCOPE = "usage:read"


def _conn(request: Request) -> Any:
    return pipeline_of(request.app).engine.connect()


@router.get(
    "/summary",
    summary="Everything for a date range: totals, daily series, funnel, conversion, "
    "attribution, latency, sizes",
)
def get_summary(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        return metrics.summary(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )


@router.get("/funnel", summary="Events and distinct sessions at each funnel step")
def get_funnel(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        steps = metrics.funnel(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )
    return {"steps": [asdict(step) for step in steps]}


@router.get("/conversion", summary="Conversion of sessions with try-on against without")
def get_conversion(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        result = metrics.conversion(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )
    return asdict(result)


@router.get("/latency", summary="Try-on latency percentiles, overall and per mode")
def get_latency(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        result = metrics.latency(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )
    return metrics.latency_json(result)


@router.get("/sizes", summary="Size recommendations and sized add-to-carts per size")
def get_sizes(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        rows = metrics.sizes(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )
    return {"data": [asdict(row) for row in rows]}


@router.get("/attribution", summary="Orders and the revenue try-on sessions led to")
def get_attribution(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        result = metrics.attribution(
            conn, merchant_id=principal.merchant_id, period=period, product_id=product
        )
    return metrics.attribution_json(result)


@router.get("/products", summary="Top products by try-ons or by try-on conversion")
def get_products(
    request: Request,
    *,
    principal: MerchantDep,
    session: SessionDep,
    period: PeriodDep,
    by: Literal["tryons", "conversion"] = "tryons",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    min_tryon_sessions: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        rows = metrics.top_products(
            conn,
            merchant_id=principal.merchant_id,
            period=period,
            by=by,
            limit=limit,
            min_tryon_sessions=min_tryon_sessions,
        )
    data = with_titles(session, principal.merchant_id, metrics.products_json(rows))
    return {"by": by, "data": data}


@router.get(
    "/export.csv",
    summary="A report as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(
    request: Request,
    principal: MerchantDep,
    period: PeriodDep,
    report: metrics.CsvReport = "daily",
    product: ProductQuery = None,
) -> Response:
    require_scope(principal, SCOPE)
    with _conn(request) as conn:
        body = metrics.export_csv(
            conn,
            report=report,
            merchant_id=principal.merchant_id,
            period=period,
            product_id=product,
        )
    return csv_response(body, report, period)


def csv_response(body: str, report: str, period: metrics.Period) -> Response:
    name = f"tryon-{report}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
