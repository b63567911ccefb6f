"""How ``pytriton.serve`` decides tritonserver is ready, with a fake server in its place.

The real server takes a minute to start (test_triton.py); these run in seconds and pin the
start-up logic: readiness comes from polling Triton's HTTP endpoints, never from the
server's output (a READY line interleaved with tritonserver's log made a fresh machine's
`make test` fail); a port taken between reservation and bind means a new start on new ports;
any other exit fails at once with the log.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from ml_service.errors import BackendUnavailable
from ml_service.models import catalog, pytriton, venvs

FAKE = textwrap.dedent(
    """
    import http.server, json, os, sys, threading, time
    models_dir, http_port, grpc_port, metrics_port = sys.argv[1], *map(int, sys.argv[2:5])
    specs = json.load(sys.stdin)
    attempts = os.path.join(os.environ["FAKE_STATE"], "attempts")
    n = int(open(attempts).read()) + 1 if os.path.exists(attempts) else 1
    open(attempts, "w").write(str(n))
    behaviour = os.environ["FAKE_BEHAVIOUR"]
    # tritonserver's own log and ours, interleaved on one stream (no READY line alone).
    sys.stdout.write("I1207 20:00:00.000 server.cc:1] Started GRPCInferenceService READY")
    sys.stdout.write(" at 0.0.0.0 Started HTTPService\\n")
    sys.stdout.flush()
    if behaviour == "taken" and n == 1:
        print(f"E1207 failed to start HTTP service: Unavailable - Socket '127.0.0.1:{http_port}' "
              "already in use", flush=True)
        sys.exit(1)
    if behaviour == "crash":
        print("E1207 failed to load the model: boom", flush=True)
        sys.exit(1)
    if behaviour == "hang":
        time.sleep(600)
    names = {spec["name"] for spec in specs}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path in ("/v2/health/ready", "/metrics") or any(
                self.path == f"/v2/models/{name}/ready" for name in names
            )
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"nv_inference_request_success 0\\n" if ok else b"")

        def log_message(self, *args):
            pass

    for port in (http_port, metrics_port):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(600)
    """
)


@pytest.fixture
def fake_triton(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake_triton_server.py"
    script.write_text(FAKE)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setattr(pytriton, "SCRIPT", script)
    monkeypatch.setattr(venvs, "ensure_venv", lambda **_: Path(sys.executable).parents[1])
    monkeypatch.setattr(pytriton, "_grpc_ready", lambda _url: True)  # no gRPC in the fake
    monkeypatch.setenv("FAKE_STATE", str(state))
    return state


def serve(tmp_path: Path, timeout_s: float = 120.0) -> pytriton.TritonServer:
    with pytriton.serve(
        models_dir=tmp_path,
        cache_dir=tmp_path,
        models=tuple(catalog.MODELS.values()),
        start_timeout_s=timeout_s,
        log_path=tmp_path / "triton.log",
    ) as server:
        return server


def test_ready_when_triton_says_so_whatever_it_prints(
    fake_triton: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "serve")
    server = serve(tmp_path)
    assert server.log_path == tmp_path / "triton.log"
    assert "Started GRPCInferenceService READY" in server.log_path.read_text()
    assert (fake_triton / "attempts").read_text() == "1"


def test_a_port_taken_before_triton_binds_it_means_new_ports(
    fake_triton: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "taken")
    server = serve(tmp_path)
    assert (fake_triton / "attempts").read_text() == "2"
    log = server.log_path.read_text()
    assert "already in use" in log
    assert "--- attempt 2" in log


def test_a_crash_fails_at_once_with_the_log(
    fake_triton: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "crash")
    with pytest.raises(BackendUnavailable, match="exited with status 1") as failed:
        serve(tmp_path, timeout_s=600)  # not the deadline: the exit
    assert "boom" in str(failed.value)
    assert str(tmp_path / "triton.log") in str(failed.value)
    assert (fake_triton / "attempts").read_text() == "1"


def test_never_ready_fails_loudly_at_the_deadline(
    fake_triton: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "hang")
    with pytest.raises(BackendUnavailable, match="not ready before the deadline") as failed:
        serve(tmp_path, timeout_s=3)
    assert "Started HTTPService" in str(failed.value)
