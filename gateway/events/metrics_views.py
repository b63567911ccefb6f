"""The merchant metrics API (secret keys, scope ``usage:read``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from analytics import metrics, recommendation_metrics
from gateway.api.deps import SessionDep
from gateway.events import experiment
from gateway.events.lifespan import pipeline_of
from gateway.events.queries import PeriodDep, ProductQuery, with_titles
from gateway.keys.deps import MerchantDep
from gateway.keys.scopes import require_scope

router = APIRouter(prefix="/v1/metrics", tags=["merchant: metrics"])

SCOPE = "usage:read"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Report:
    """One merchant's report filters, checked for the scope; ``run`` asks the warehouse."""

    engine: Engine
    merchant_id: uuid.UUID
    period: metrics.Period
    product_id: str | None

    def run(self, query: Callable[..., T]) -> T:
        """``query(conn, merchant_id=, period=, product_id=)`` on a fresh connection."""
        with self.engine.connect() as conn:
            return query(
                conn, merchant_id=self.merchant_id, period=self.period, product_id=self.product_id
            )


def report_query(
    request: Request, principal: MerchantDep, period: PeriodDep, product: ProductQuery = None
) -> Report:
    require_scope(principal, SCOPE)
    return Report(pipeline_of(request.app).engine, principal.merchant_id, period, product)


ReportDep = Annotated[Report, Depends(report_query)]


@router.get(
    "/summary",
    summary="Everything for a date range: totals, daily series, funnel, conversion, "
    "attribution, latency, sizes",
)
def get_summary(q: ReportDep) -> dict[str, Any]:
    return q.run(metrics.summary)


@router.get(
    "/recommendations",
    summary="Recommendations tried and bought: totals and the top recommended products",
)
def get_recommendations(q: ReportDep) -> dict[str, Any]:
    with q.engine.connect() as conn:
        found = recommendation_metrics.recommendations(
            conn, merchant_id=q.merchant_id, period=q.period
        )
    return recommendation_metrics.recommendations_json(found)


@router.get("/funnel", summary="Events and distinct sessions at each funnel step")
def get_funnel(q: ReportDep) -> dict[str, Any]:
    return {"steps": [asdict(step) for step in q.run(metrics.funnel)]}


@router.get("/conversion", summary="Conversion of sessions with try-on against without")
def get_conversion(q: ReportDep) -> dict[str, Any]:
    return asdict(q.run(metrics.conversion))


@router.get("/latency", summary="Try-on latency percentiles, overall and per mode")
def get_latency(q: ReportDep) -> dict[str, Any]:
    return metrics.latency_json(q.run(metrics.latency))


@router.get("/sizes", summary="Size recommendations and sized add-to-carts per size")
def get_sizes(q: ReportDep) -> dict[str, Any]:
    return {"data": [asdict(row) for row in q.run(metrics.sizes)]}


@router.get("/attribution", summary="Orders and the revenue try-on sessions led to")
def get_attribution(q: ReportDep) -> dict[str, Any]:
    return metrics.attribution_json(q.run(metrics.attribution))


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
    with pipeline_of(request.app).engine.connect() as conn:
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
def export_csv(q: ReportDep, report: metrics.CsvReport = "daily") -> Response:
    body = q.run(functools.partial(metrics.export_csv, report=report))
    return csv_response(body, report, q.period)


def csv_response(body: str, report: str, period: metrics.Period) -> Response:
    name = f"tryon-{report}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/experiment",
    summary="The holdout experiment: uplift per arm with 95 % intervals, sample ratio check",
)
def get_experiment_report(
    request: Request,
    principal: MerchantDep,
    session: SessionDep,
    experiment_id: experiment.ExperimentQuery = None,
    detect_uplift: experiment.DetectQuery = 0.1,
) -> dict[str, Any]:
    require_scope(principal, SCOPE)
    return experiment.report(
        session=session,
        engine=pipeline_of(request.app).engine,
        merchant_id=principal.merchant_id,
        experiment_id=experiment_id,
        detect_uplift=detect_uplift,
    )


@router.get(
    "/experiment.csv",
    summary="The holdout experiment's figures per day and arm, as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_experiment_csv(
    request: Request,
    principal: MerchantDep,
    session: SessionDep,
    experiment_id: experiment.ExperimentQuery = None,
) -> Response:
    require_scope(principal, SCOPE)
    body, found = experiment.daily_csv(
        session=session,
        engine=pipeline_of(request.app).engine,
        merchant_id=principal.merchant_id,
        experiment_id=experiment_id,
    )
    return experiment_csv_response(body, found)


def experiment_csv_response(body: str, found: Any) -> Response:
    name = experiment.csv_filename(found)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
