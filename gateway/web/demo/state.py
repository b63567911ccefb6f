"""What the demo store remembers between runs: its merchant and publishable key.

A publishable key is public by design (it is in every page of the store), so keeping it in a
file in the data dir is fine; the secret key is never written anywhere.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "demo.json"


@dataclass(frozen=True, slots=True)
class DemoState:
    merchant_id: uuid.UUID
    publishable_key: str


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def read(data_dir: Path) -> DemoState | None:
    """The seeded demo's state, or None when not seeded (or the file is unreadable)."""
    try:
        raw = json.loads(state_path(data_dir).read_text())
        return DemoState(
            merchant_id=uuid.UUID(str(raw["merchant_id"])),
            publishable_key=str(raw["publishable_key"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(data_dir: Path, state: DemoState) -> None:
    """Write atomically, so a server reading it never sees half a file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {"merchant_id": str(state.merchant_id), "publishable_key": state.publishable_key}
        )
    )
    os.replace(tmp, path)
