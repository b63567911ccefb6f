"""Merchant API: the holdout share (secret keys; ``experiments:write`` to change it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import SessionDep
from gateway.db.base import utcnow
from gateway.experiments import service
from gateway.experiments.models import Experiment
from gateway.keys.deps import ExperimentsWrite, UsageRead

router = APIRouter(prefix="/v1/experiment", tags=["merchant: experiment"])


class HoldoutIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"holdout_share": 0.1}]}
    )

    holdout_share: float = Field(
        strict=True,
        ge=0,
        le=service.MAX_SHARE,
        allow_inf_nan=False,
        description="Share of shoppers who do not see try-on (0 stops the holdout; at most "
        "0.5; rounded to four decimal places). A new share starts a new experiment period.",
    )


def experiment_json(row: Experiment) -> dict[str, Any]:
    """A period as the API and the dashboard show it (the salt stays with the widget)."""
    return {
        "id": str(row.id),
        "holdout_share": row.holdout_share,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }


@router.get("", summary="The running holdout experiment and the periods before it")
def get_experiment(principal: UsageRead, session: SessionDep) -> dict[str, Any]:
    running = service.current(session=session, merchant_id=principal.merchant_id)
    periods = service.history(session=session, merchant_id=principal.merchant_id)
    return {
        "current": experiment_json(running) if running else None,
        "periods": [experiment_json(p) for p in periods],
    }


@router.put("", summary="Set the holdout share (a new share starts a new period)")
def put_experiment(
    principal: ExperimentsWrite, session: SessionDep, body: HoldoutIn
) -> dict[str, Any]:
    running = service.set_share(
        session=session, merchant_id=principal.merchant_id, share=body.holdout_share, now=utcnow()
    )
    return {"current": experiment_json(running) if running else None}
