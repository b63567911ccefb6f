"""Try-on sessions: created by the widget, counted by the try-on endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.errors import NotFound
from gateway.sessions.models import TryOnMode, TryOnSession


def create(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    product_id: uuid.UUID,
    mode: TryOnMode,
    now: datetime,
) -> TryOnSession:
    """A new session with a random id (the analytics join key)."""
    row = TryOnSession(merchant_id=merchant_id, product_id=product_id, mode=mode, started_at=now)
    session.add(row)
    session.flush()
    return row


def get(*, session: Session, merchant_id: uuid.UUID, session_id: str) -> TryOnSession:
    """The merchant's session, or ``NotFound`` (bad ids and other merchants' alike)."""
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        raise NotFound("No such try-on session") from None
    row = session.scalar(
        select(TryOnSession).where(TryOnSession.id == sid, TryOnSession.merchant_id == merchant_id)
    )
    if row is None:
        raise NotFound("No such try-on session")
    return row


def count_renders(*, session: Session, session_id: uuid.UUID, renders: int, now: datetime) -> None:
    """Add ``renders`` to a session's counter and mark it as last active ``now``."""
    session.execute(
        update(TryOnSession)
        .where(TryOnSession.id == session_id)
        .values(renders=TryOnSession.renders + renders, ended_at=now)
    )
