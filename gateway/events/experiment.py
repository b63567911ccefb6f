"""The holdout experiment's report, for the metrics API and the dashboard: the gateway's
experiment record (share, period) joined with the warehouse's figures
(``analytics.experiments``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from analytics import experiments as warehouse
from gateway.experiments import service
from gateway.experiments.models import Experiment
from gateway.experiments.views import experiment_json

ExperimentQuery = Annotated[
    uuid.UUID | None,
    Query(alias="experiment", description="An experiment period's id (default: the latest)"),
]
DetectQuery = Annotated[
    float,
    Query(
        ge=0.01,
        le=10,
        allow_inf_nan=False,
        description="The relative purchase-rate uplift the sample size is computed for",
    ),
]


def _find(
    session: Session, merchant_id: uuid.UUID, experiment_id: uuid.UUID | None
) -> Experiment | None:
    if experiment_id is not None:
        return service.get(session=session, merchant_id=merchant_id, experiment_id=experiment_id)
    return service.latest(session=session, merchant_id=merchant_id)


def report(
    *,
    session: Session,
    engine: Engine,
    merchant_id: uuid.UUID,
    experiment_id: uuid.UUID | None,
    detect_uplift: float = warehouse.DEFAULT_DETECT_UPLIFT,
) -> dict[str, Any]:
    """``{"experiment": null}`` when the merchant never ran one; else the period and its
    figures. ``NotFound`` for an id that is not the merchant's."""
    found = _find(session, merchant_id, experiment_id)
    if found is None:
        return {"experiment": None}
    with engine.connect() as conn:
        figures = warehouse.report(
            conn,
            merchant_id=merchant_id,
            experiment_id=found.id,
            holdout_share=found.holdout_share,
            detect_uplift=detect_uplift,
        )
    return {"experiment": experiment_json(found), **figures}


def daily_csv(
    *, session: Session, engine: Engine, merchant_id: uuid.UUID, experiment_id: uuid.UUID | None
) -> tuple[str, Experiment | None]:
    """The period's per-day figures as CSV (a header only when there is no experiment)."""
    found = _find(session, merchant_id, experiment_id)
    if found is None:
        return "", None
    with engine.connect() as conn:
        body = warehouse.daily_csv(conn, merchant_id=merchant_id, experiment_id=found.id)
    return body, found


def csv_filename(found: Experiment | None) -> str:
    return f"tryon-experiment-{found.id if found else 'none'}.csv"
