"""The warehouse engine, with timeouts so an outage never hangs a caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from analytics.settings import AnalyticsSettings


def ensure_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its directory."""
    if url.startswith("sqlite") and ":memory:" not in url and "///" in url:
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def make_engine(settings: AnalyticsSettings, *, pool_size: int = 5) -> Engine:
    """An engine for the configured warehouse (SQLite in WAL mode, or PostgreSQL)."""
    url = settings.sqlalchemy_url
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    timeout = max(1, round(settings.connect_timeout_s))
    kwargs["connect_args"] = {"connect_timeout": timeout}
    kwargs["pool_timeout"] = timeout
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, **kwargs)
