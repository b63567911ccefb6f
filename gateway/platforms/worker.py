"""The platform job worker: takes jobs from ``platform_jobs`` and runs them.

Embedded mode: ``start_in_app`` runs one daemon thread in the gateway process (SQLite has one
writer anyway). Scale-out: ``tryon platforms worker`` runs the same loop in its own pods, any
number of them (PostgreSQL ``FOR UPDATE SKIP LOCKED`` gives each job to one worker).
"""

from __future__ import annotations

import threading

_WAKE = threading.Event()


def wake() -> None:
    """Tell this process's worker that a job was just enqueued (it also polls)."""
    _WAKE.set()
