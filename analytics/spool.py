"""Events the process could not hand over before it stopped, kept on disk until next start.

A publisher that is closing while the broker is down (or an embedded consumer whose
warehouse is down) writes what it still holds here instead of dropping it; the next start
replays the files and deletes each one only once its events are safe. Bodies are
``EventRecord`` JSON (no personal data), one per line.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, bodies: Sequence[bytes]) -> Path | None:
        """Persist ``bodies`` (fsynced) and return the file, or ``None`` when there are none."""
        if not bodies:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        final = self.directory / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        partial = final.with_suffix(".partial")
        with partial.open("wb") as out:
            for body in bodies:
                if b"\n" in body:
                    raise ValueError("spooled bodies are single-line JSON")
                out.write(body + b"\n")
            out.flush()
            os.fsync(out.fileno())
        partial.rename(final)  # atomic: a reader never sees half a file
        log.warning("analytics.spooled", events=len(bodies), file=final.name)
        return final

    def files(self) -> Iterator[tuple[Path, list[bytes]]]:
        """Each complete spool file, oldest first, with its bodies."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            yield path, [line for line in path.read_bytes().split(b"\n") if line]
