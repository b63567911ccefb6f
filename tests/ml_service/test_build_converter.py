"""The converter's events have their own channel; its output can be anything, of any size.

A fake converter stands in for ``convert_worker.py`` (TensorFlow takes minutes): it writes
TensorFlow-like noise to stdout and far more than a pipe buffer (64 KiB) to stderr before and
between its events. The build must read every event, never block, and keep the output in its
log file, not parse it.
"""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from tqdm import tqdm

from ml_service.errors import ModelBuildError
from ml_service.models import build, catalog

NOISE = 1 << 20  # 1 MiB on each stream: 16 times a pipe buffer

FAKE = textwrap.dedent(
    """
    import json, os, sys
    assert sys.argv[1] == "--events-fd"
    events = os.fdopen(int(sys.argv[2]), "w")
    request = json.load(sys.stdin)
    sys.stderr.write("W tensorflow: noise\\n" * ({noise} // 20))
    sys.stderr.flush()
    for job in request["models"]:
        print("2026-12-07 I tensorflow: {{not json}}", flush=True)
        sys.stdout.write("x" * {noise} + "\\n")
        events.write(json.dumps({{"event": "start", "model": job["name"]}}) + "\\n")
        events.flush()
        sys.stderr.write("E tensorflow: more noise\\n" * ({noise} // 24))
        {outcome}
    """
)
EMIT = 'events.write(json.dumps({{"event": "{kind}", "model": job["name"]{extra}}}) + "\\n")'
DONE = EMIT.format(kind="done", extra=', "max_abs_diff": 0.0') + "; events.flush()"
FAIL = EMIT.format(kind="error", extra=', "error": "boom"') + "; events.flush(); sys.exit(1)"
CRASH = 'sys.stderr.write("Segmentation fault in the converter\\n"); sys.exit(139)'


def run_converter(tmp_path: Path, outcome: str) -> Any:
    worker = tmp_path / "fake_worker.py"
    worker.write_text(FAKE.format(noise=NOISE, outcome=outcome))
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            with tqdm(total=len(catalog.MODELS), disable=True) as bar:
                result["checks"] = build._convert(
                    python=Path(sys.executable),
                    sources=tmp_path,
                    out_dir=tmp_path,
                    bar=bar,
                    log_path=tmp_path / "convert.log",
                    worker=worker,
                )
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=120)  # a deadline for a deadlock, not a speed requirement
    assert not thread.is_alive(), "the build blocked on the converter's output"
    return result


def test_every_event_is_read_whatever_the_converter_prints(tmp_path: Path) -> None:
    result = run_converter(tmp_path, DONE)
    assert "error" not in result, result.get("error")
    assert set(result["checks"]) == set(catalog.MODELS)
    assert all(c == {"max_abs_diff": 0.0} for c in result["checks"].values())
    log = (tmp_path / "convert.log").read_text()
    assert len(log) > 2 * NOISE  # the output went to the log, all of it
    assert "not json" in log
    assert "more noise" in log


def test_a_reported_error_names_the_model_and_the_log(tmp_path: Path) -> None:
    result = run_converter(tmp_path, FAIL)
    error = result["error"]
    assert isinstance(error, ModelBuildError)
    assert error.step == "convert"
    assert f"{next(iter(catalog.MODELS))}: boom" in str(error)
    assert str(tmp_path / "convert.log") in str(error)


def test_a_crash_without_an_event_shows_the_log_tail(tmp_path: Path) -> None:
    result = run_converter(tmp_path, CRASH)
    error = result["error"]
    assert isinstance(error, ModelBuildError)
    assert "Segmentation fault in the converter" in str(error)


@pytest.mark.parametrize("argv", [[], ["--events-fd"], ["--other", "3"]])
def test_the_worker_refuses_to_run_without_an_events_channel(argv: list[str]) -> None:
    import subprocess

    from ml_service.models import store

    done = subprocess.run(
        [sys.executable, str(store.WORKER), *argv],
        input=b"{}",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"--events-fd" in done.stderr
