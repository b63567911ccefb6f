"""Running a plugin's browser script (node + playwright-core + Debian's chromium): the
scripts print what the page did as one JSON line and say ``{"error"}`` when a step did not
happen in time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest


def run_browser_script(
    cwd: Path, script: str, config: dict[str, Any], *, timeout_s: int = 280
) -> dict[str, Any]:
    """Run ``node script CONFIG`` in ``cwd``; its report, failing the test on an error."""
    done = subprocess.run(
        ["node", script, json.dumps(config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    try:
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pytest.fail(f"the browser script said nothing useful:\n{done.stdout}\n{done.stderr}")
    assert "error" not in out, f"{out['error']}\nsteps done: {out['steps']}\n{out['problems']}"
    return out
