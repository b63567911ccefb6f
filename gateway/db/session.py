"""Engine and session factory, built from settings (no connections at import time)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import GatewaySettings, get_settings


def make_engine(settings: GatewaySettings) -> Engine:
    """An engine for the configured database with timeouts, so an outage never hangs."""
    url = settings.sqlalchemy_url
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        if ":memory:" not in url:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    kwargs["connect_args"] = {"connect_timeout": settings.db_connect_timeout_s}
    kwargs["pool_timeout"] = settings.db_connect_timeout_s
    return create_engine(url, pool_size=10, max_overflow=10, **kwargs)


@functools.cache
def get_engine() -> Engine:
    return make_engine(get_settings())


@functools.cache
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The one session factory of ``engine`` (``gateway.readcache`` listens to its sessions)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One session per unit of work: committed when the body succeeds, rolled back if not."""
    with session_factory(engine or get_engine())() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
