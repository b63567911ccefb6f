"""Start, change and stop a merchant's holdout (keyword-only, one-line docstrings)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import InvalidInput, NotFound
from gateway.experiments.models import Experiment

MAX_SHARE = 0.5
"""At most half the shoppers go without try-on."""


def to_basis_points(share: float) -> int:
    """The share (0-0.5) in 1/10000, rounded to the nearest; ``InvalidInput`` outside the
    range. Finer shares are rounded, not refused: any number the schema allows is accepted."""
    if not 0 <= share <= MAX_SHARE:
        raise InvalidInput(f"The holdout share is between 0 and {MAX_SHARE}")
    return round(share * 10_000)


def current(*, session: Session, merchant_id: uuid.UUID) -> Experiment | None:
    """The merchant's running period, if any."""
    return session.scalar(
        select(Experiment).where(
            Experiment.merchant_id == merchant_id, Experiment.ended_at.is_(None)
        )
    )


def history(*, session: Session, merchant_id: uuid.UUID, limit: int = 50) -> list[Experiment]:
    """The merchant's periods, newest first."""
    return list(
        session.scalars(
            select(Experiment)
            .where(Experiment.merchant_id == merchant_id)
            .order_by(Experiment.started_at.desc(), Experiment.id)
            .limit(limit)
        )
    )


def get(*, session: Session, merchant_id: uuid.UUID, experiment_id: uuid.UUID) -> Experiment:
    """One of the merchant's periods; ``NotFound`` for another merchant's or none."""
    found = session.scalar(
        select(Experiment).where(
            Experiment.id == experiment_id, Experiment.merchant_id == merchant_id
        )
    )
    if found is None:
        raise NotFound("No such experiment")
    return found


def assignments(
    *, session: Session, merchant_id: uuid.UUID, experiment_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, float]]:
    """Salt and share of the merchant's periods among ``experiment_ids`` (ended ones too: a
    page loaded before a change still reports its period); other ids are absent."""
    if not experiment_ids:
        return {}
    rows = session.execute(
        select(Experiment.id, Experiment.salt, Experiment.holdout_basis_points).where(
            Experiment.merchant_id == merchant_id, Experiment.id.in_(sorted(experiment_ids))
        )
    )
    return {row.id: (row.salt, row.holdout_basis_points / 10_000) for row in rows}


def latest(*, session: Session, merchant_id: uuid.UUID) -> Experiment | None:
    """The running period, else the one that ended last."""
    found = history(session=session, merchant_id=merchant_id, limit=1)
    return found[0] if found else None


def set_share(
    *, session: Session, merchant_id: uuid.UUID, share: float, now: datetime
) -> Experiment | None:
    """Hold out ``share`` of shoppers from now: the same share keeps the running period;
    another ends it and starts a new one (0 stops the holdout). Returns the running one."""
    points = to_basis_points(share)
    running = session.scalar(
        select(Experiment)
        .where(Experiment.merchant_id == merchant_id, Experiment.ended_at.is_(None))
        .with_for_update()
    )
    if running is not None and running.holdout_basis_points == points:
        return running
    if running is not None:
        running.ended_at = now
    if points == 0:
        session.flush()
        return None
    started = Experiment(
        merchant_id=merchant_id,
        salt=secrets.token_hex(8),
        holdout_basis_points=points,
        started_at=now,
    )
    session.add(started)
    session.flush()
    return started
