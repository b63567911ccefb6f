"""Commands next to a running server follow its port (``gateway.serving``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from gateway import serving
from gateway.settings import GatewaySettings


def settings(tmp_path: Path, **extra: object) -> GatewaySettings:
    return GatewaySettings(env="test", data_dir=tmp_path, **extra)  # type: ignore[arg-type]


def test_a_running_servers_port_is_followed(tmp_path: Path) -> None:
    with socket.socket() as listener:  # the running server
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        path = serving.note(settings(tmp_path, port=port))
        here = settings(tmp_path)  # another terminal: no TRYON_PORT
        assert here.public_url == "http://127.0.0.1:8000"
        assert serving.public_url(here, environ={}) == f"http://127.0.0.1:{port}"
        # What the environment names wins.
        assert serving.public_url(here, environ={"TRYON_PORT": "8000"}) == "http://127.0.0.1:8000"
    # Stopped without removing its note (killed by a signal): nothing listens, the note is
    # ignored.
    assert path.exists()
    assert serving.public_url(here, environ={}) == "http://127.0.0.1:8000"
    serving.forget(path)
    assert not path.exists()


def test_a_broken_note_is_ignored(tmp_path: Path) -> None:
    here = settings(tmp_path)
    for content in (
        json.dumps({"public_url": "javascript:alert(1)", "pid": os.getpid()}),
        json.dumps({"public_url": 8000, "pid": os.getpid()}),
        json.dumps(["not", "a", "note"]),
        "{not json",
        "",
    ):
        (tmp_path / serving.FILE).write_text(content)
        assert serving.public_url(here, environ={}) == "http://127.0.0.1:8000", content


def test_forget_leaves_another_servers_note(tmp_path: Path) -> None:
    path = tmp_path / serving.FILE
    path.write_text(json.dumps({"public_url": "http://127.0.0.1:8244", "pid": 1}))
    serving.forget(path)
    assert path.exists()


def test_demo_smoke_says_in_one_sentence_that_no_server_answers(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
    env |= {"TRYON_PORT": str(port), "TRYON_DATA_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "scripts" / "demo_smoke.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: no demo server answers on http://127.0.0.1:{port}: start it with `make demo` "
        "(the same TRYON_PORT in both terminals), or pass --base URL"
    ]
