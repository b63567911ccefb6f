"""Daily partitions of ``fact_event`` on PostgreSQL, created on demand.

Each day is its own partition, so queries over a date range read only those days and old
days can be detached or dropped whole. A partition is created the first time an event of
its day arrives. Concurrent consumers serialise creation with a transaction-level advisory
lock; creation is idempotent either way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Engine, text

PARENT = "fact_event"
_PARTITION = re.compile(rf"^{PARENT}_p\d{{8}}$")
# Any constant works: it only has to be the same in every consumer.
_ADVISORY_KEY = 0x7472796F6E  # "tryon"


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def is_partition(table_name: str) -> bool:
    return bool(_PARTITION.match(table_name))


class PartitionManager:
    """Remembers which days exist so the common case costs nothing."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[date] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def ensure(self, days: Iterable[date]) -> None:
        """Create the partitions of ``days`` that do not exist yet (PostgreSQL only)."""
        if not self.enabled:
            return
        with self._lock:
            missing = sorted(set(days) - self._known)
            if not missing:
                return
            with self._engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
                existing = set(
                    conn.execute(
                        text(
                            "SELECT c.relname FROM pg_inherits i "
                            "JOIN pg_class c ON c.oid = i.inhrelid "
                            "JOIN pg_class p ON p.oid = i.inhparent "
                            "WHERE p.relname = :parent"
                        ),
                        {"parent": PARENT},
                    ).scalars()
                )
                for day in missing:
                    name = partition_name(day)
                    if name not in existing:
                        # Names and bounds come from dates, never from input text.
                        conn.execute(
                            text(
                                f'CREATE TABLE "{name}" PARTITION OF {PARENT} '
                                f"FOR VALUES FROM ('{day.isoformat()}') "
                                f"TO ('{(day + timedelta(days=1)).isoformat()}')"
                            )
                        )
            self._known.update(missing)

    def forget(self) -> None:
        """Drop the cache (after a migration reset, in tests)."""
        with self._lock:
            self._known.clear()
