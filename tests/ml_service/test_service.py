"""The ML service's HTTP edge and the client's failure handling (timeouts, outages, restarts)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from ml_service import ports
from ml_service.client import MLClient
from ml_service.engine import LocalEngine
from ml_service.errors import BackendTimeout, BackendUnavailable, InvalidImage, StartupFailed
from tests.ml_service.test_engine import product, selfie
from tests.support.ml_server import ml_server


@pytest.fixture(scope="module")
def local() -> LocalEngine:
    return LocalEngine()


@pytest.fixture(scope="module")
def served(local: LocalEngine) -> Iterator[str]:
    with ml_server(local) as url:
        yield url


@pytest.mark.timeout(60)  # a hang fails here; how fast it fails is not a test's business
def test_unreachable_service_is_backend_unavailable() -> None:
    with ports.refused_port() as port:
        client = MLClient(f"http://127.0.0.1:{port}", timeout_s=2)
        with pytest.raises(BackendUnavailable):
            client.analyze(selfie())


@pytest.mark.timeout(60)
def test_a_service_that_never_answers_times_out() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    client = MLClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout_s=0.5)
    with pytest.raises(BackendTimeout):
        client.analyze(selfie())
    server.close()
    for conn in accepted:
        conn.close()


def test_client_reuploads_an_asset_the_service_lost(served: str, local: LocalEngine) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    client = MLClient(served, timeout_s=30)
    # The client believes the service has it (as after a service restart): a 404, then upload.
    client._uploaded.add(asset.content_hash)
    other = local.prepare_asset(product(), "eyewear", width_mm=133)
    client._uploaded.add(other.content_hash)
    assert len(client.render(selfie(), other).geometry["faces"]) == 1
    client.close()


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/v1/analyze", {"tryon-shape": "10x10"}, b"\0" * 299, 422),
        ("/v1/analyze", {"tryon-shape": "nope"}, b"", 422),
        ("/v1/analyze", {"tryon-shape": "99999x1"}, b"", 422),
        ("/v1/analyze", {}, b"\0" * 300, 422),
        ("/v1/assets?category=eyewear", {}, b"", 422),
        ("/v1/assets?category=eyewear", {"tryon-anchors": "{bad"}, b"x", 422),
        ("/v1/render?asset=" + "0" * 64, {"tryon-shape": "10x10"}, b"\0" * 300, 404),
        ("/v1/render?asset=../etc", {}, b"", 422),
        ("/v1/live/nope/frames", {"tryon-shape": "10x10"}, b"\0" * 300, 404),
    ],
)
def test_service_refuses_bad_requests_with_4xx(
    served: str, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = httpx.post(served + path, content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application")


def test_malformed_asset_upload(served: str) -> None:
    for body in (b"not json", json.dumps({"png": "!!", "meta": {}}).encode()):
        response = httpx.put(served + "/v1/assets/" + "a" * 64, content=body, timeout=10)
        assert response.status_code == 422, response.text


def test_live_sessions_are_closed(served: str, local: LocalEngine) -> None:
    asset = local.prepare_asset(product(), "eyewear", width_mm=132)
    client = MLClient(served, timeout_s=30)
    session = client.live_session(asset, output="render")
    assert session.process(selfie()).image is not None
    session.close()
    with pytest.raises(BackendUnavailable):
        session.process(selfie())
    client.close()


def test_tryon_ml_serve_runs_the_service(tmp_path: Path) -> None:
    tryon = Path(sys.executable).with_name("tryon")
    log_path = tmp_path / "ml-serve.log"
    try:
        with ports.start([str(tryon), "ml", "serve"], log_path=log_path, env=os.environ) as ml:
            client = MLClient(ml.url, timeout_s=30)
            assert len(client.analyze(selfie()).faces) == 1
            with pytest.raises(InvalidImage):
                client.analyze(np.zeros((0, 0, 3), np.uint8))
            client.close()
    finally:
        print(f"--- tryon ml serve log ---\n{ports.log_tail(log_path, 100)}")
    assert "Traceback" not in log_path.read_text()


def test_a_server_that_never_becomes_ready_fails_loudly_with_its_log(tmp_path: Path) -> None:
    """Readiness must not fall through silently: past the deadline, the error says why and
    shows the log, and the child is stopped. The clock advances one second per look."""
    script = tmp_path / "never.py"
    # Says something, reports a port it never listens on (bound: refused), stays alive.
    script.write_text(
        "import socket, sys, time\n"
        "print('loading forever', flush=True)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0))\n"
        "open(sys.argv[sys.argv.index('--port-file') + 1], 'w').write(str(s.getsockname()[1]))\n"
        "time.sleep(600)\n"
    )
    ticks = itertools.count()
    log_path = tmp_path / "never.log"
    with (
        pytest.raises(StartupFailed, match="before the deadline") as failed,
        ports.start(
            [sys.executable, str(script)],
            log_path=log_path,
            timeout_s=100,
            clock=lambda: float(next(ticks)),
        ),
    ):
        pytest.fail("never ready, yet yielded")
    assert str(log_path) in str(failed.value)
    if "did not answer 200" in str(failed.value):
        assert "loading forever" in str(failed.value)


def test_a_server_that_exits_fails_at_once_with_its_log(tmp_path: Path) -> None:
    log_path = tmp_path / "crash.log"
    with (
        pytest.raises(StartupFailed, match="exited with status 3") as failed,
        ports.start(
            [sys.executable, "-c", "import sys; print('no models here'); sys.exit(3)"],
            log_path=log_path,
            timeout_s=600,
        ),
    ):
        pass
    assert "no models here" in str(failed.value)
    assert failed.value.log_path == log_path
