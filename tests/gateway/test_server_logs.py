"""What a real ``tryon serve`` writes to its log when WebSocket handshakes are refused.

The server runs as a user runs it (uvicorn, its WebSocket protocol, our logging set-up), its
log captured in a file: a refusal is one INFO line with its reason, never uvicorn's ERROR
"ASGI callable returned without completing handshake", and no line carries the key.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from gateway.logging import configure
from ml_service import ports

TRYON = Path(sys.executable).with_name("tryon")
FORGED_KEY = "pk_" + "A1b2" * 8


def refused_status(url: str, origin: str) -> int:
    with pytest.raises(InvalidStatus) as refused, connect(url, origin=origin, open_timeout=30):  # type: ignore[arg-type]
        pass
    return refused.value.response.status_code


def log_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            records.append({"event": line, "level": "raw"})
    return records


def test_refused_handshakes_are_logged_once_at_info_with_reason_and_without_keys(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "TRYON_LOG_LEVEL": "INFO"}
    subprocess.run([str(TRYON), "db", "upgrade"], env=env, check=True, capture_output=True)
    log_path = tmp_path / "serve.log"
    with ports.start([str(TRYON), "serve", "--no-migrate"], log_path=log_path, env=env) as server:
        created = subprocess.run(
            [str(TRYON), "merchant", "create", "--name", "Logs", "--origin", server.url, "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(created.stdout)["publishable_key"]
        ws = server.url.replace("http://", "ws://") + "/v1/widget/live"
        refusals = [
            refused_status(f"{ws}?key={FORGED_KEY}&product=x", server.url),  # forged key
            refused_status(f"{ws}?key={key}", server.url),  # a real key, no product
            refused_status(f"{ws}?key={key}&product=x", "https://evil.example"),  # wrong origin
        ]
    assert refusals == [401, 422, 403]
    text = log_path.read_text()
    assert "without completing handshake" not in text
    assert key not in text
    assert FORGED_KEY not in text
    assert "key=pk_" not in text
    records = log_records(log_path)
    assert not [r for r in records if r.get("level") in ("error", "critical")], text
    refused = [r for r in records if r.get("event") == "live.refused"]
    assert [(r["level"], r["status"], r["reason"]) for r in refused] == [
        ("info", 401, "invalid-api-key"),
        ("info", 422, "invalid-input"),  # no product named
        ("info", 403, "origin-not-allowed"),
    ]
    access = [r for r in records if r.get("event") == "request" and r.get("kind") == "websocket"]
    assert [r["status"] for r in access] == [401, 422, 403]
    for line in access:  # besides its access line, each refusal is one line: live.refused
        about = [r for r in records if r.get("request_id") == line["request_id"]]
        assert [r["event"] for r in about] == ["live.refused", "request"], about


def test_key_query_parameters_are_redacted_from_every_logger(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(level="INFO", json=True)
    uvicorn_log = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.INFO):
        uvicorn_log.info('%s - "GET %s HTTP/1.1" %d', "1.2.3.4:5", f"/x?key={FORGED_KEY}", 200)
        logging.getLogger("some.library").warning(
            "calling /y?token=t0ps3cret&a=1 with sk_live_0123456789"
        )
        uvicorn_log.info('%s - "WebSocket %s" [accepted]', "1.2.3.4:5", f"/live?key={FORGED_KEY}")
    written = capsys.readouterr().err
    for output in (caplog.text, written):
        assert FORGED_KEY not in output
        assert "t0ps3cret" not in output
        assert "sk_live_0123456789" not in output
    assert "key=[redacted]" in written
    assert "token=[redacted]&a=1" in written
    assert "[accepted]" not in written  # uvicorn's WebSocket lines: the access log has them
