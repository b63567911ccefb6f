"""The live WebSocket: handshake checks, rendered frames, abuse (oversize, flood, bad origin)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from gateway.db import migrate
from gateway.settings import GatewaySettings
from tests.gateway.conftest import ORIGIN, running
from tests.gateway.tryon_support import Shop, eyewear_shop, no_face_jpeg, selfie_jpeg

T = TypeVar("T")


@pytest.fixture
def make_live(
    make_settings: Callable[..., GatewaySettings], tmp_path: Any
) -> Callable[..., Iterator[TestClient]]:
    def build(**overrides: Any) -> Iterator[TestClient]:
        url = f"sqlite:///{tmp_path}/live.db"
        migrate.upgrade(url)
        return running(make_settings(database_url=url, **overrides))  # type: ignore[return-value]

    return build


@pytest.fixture
def live_client(make_live: Callable[..., Any]) -> Iterator[TestClient]:
    with make_live() as client:
        yield client


def url(shop: Shop, **params: str) -> str:
    query = {"key": shop.merchant.publishable_key, "product": "round-black", **params}
    return "/v1/widget/live?" + "&".join(f"{k}={v}" for k, v in query.items())


def frame(width: int = 640, height: int = 480) -> bytes:
    return selfie_jpeg(width, height)


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float = 120.0) -> T:
    """Probe until ``done``; fail (never pass) at a deadline generous for a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still not done: {value!r}"
        time.sleep(0.02)


def receive_until(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        message = ws.receive()
        if message.get("text"):
            data = json.loads(message["text"])
            if data.get("type") == kind:
                return dict(data)
        if message["type"] == "websocket.close":
            raise AssertionError(f"closed before {kind}: {message}")
    raise AssertionError(f"no {kind} message")


def drain(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes, and the close code."""
    messages = []
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            return messages, int(message.get("code", 1000))
        messages.append(message)


def test_rendered_frames_come_back(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    session = live_client.post(
        "/v1/widget/sessions",
        json={"product_id": "round-black", "mode": "live"},
        headers={"Authorization": f"Bearer {shop.merchant.publishable_key}", "Origin": ORIGIN},
    ).json()["session_id"]
    with live_client.websocket_connect(
        url(shop, session=session), headers={"origin": ORIGIN}
    ) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        assert hello["session_id"] == session
        assert hello["max_frame_bytes"] == 512 * 1024
        for _ in range(3):
            ws.send_bytes(frame())
            data = ws.receive_bytes()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (480, 640, 3)
        ws.send_text(json.dumps({"type": "stats"}))
        stats = receive_until(ws, "stats")
        assert stats["processed"] == 3

    # Counted once against the quota; the frames are counted when the connection ends.
    def totals() -> dict[str, int]:
        return dict(
            live_client.get(
                "/v1/usage", headers={"Authorization": f"Bearer {shop.merchant.secret_key}"}
            ).json()["totals"]
        )

    totals = wait_for(totals, lambda t: "live_frames" in t)
    assert totals["tryon_live"] == 1
    assert totals["live_frames"] == 3


def test_geometry_output(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(
        url(shop, output="geometry"), headers={"origin": ORIGIN}
    ) as ws:
        assert ws.receive_json()["output"] == "geometry"
        ws.send_bytes(frame())
        message = ws.receive_json()
        assert message["type"] == "geometry"
        assert len(message["geometry"]["faces"]) == 1
        assert "landmarks" not in message["geometry"]["faces"][0]


def test_a_status_says_when_nobody_is_in_view_and_when_someone_is_back(
    live_client: TestClient,
) -> None:
    shop = eyewear_shop(live_client)
    empty = cv2.imdecode(np.frombuffer(no_face_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    with live_client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
        ws.receive_json()
        ws.send_bytes(frame())  # a face from the start: nothing to say
        assert ws.receive()["bytes"][:3] == b"\xff\xd8\xff"
        ws.send_bytes(no_face_jpeg())
        # The status comes first, then the frame it concerns, unchanged.
        assert ws.receive_json() == {"type": "status", "subject_found": False, "reason": "no-face"}
        unchanged = cv2.imdecode(np.frombuffer(ws.receive_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert unchanged.shape == empty.shape
        assert np.abs(unchanged.astype(int) - empty.astype(int)).mean() < 12  # JPEG noise only
        ws.send_bytes(no_face_jpeg())  # still nobody: said once only
        assert "bytes" in ws.receive()
        ws.send_bytes(frame())
        assert ws.receive_json() == {"type": "status", "subject_found": True}
        assert ws.receive()["bytes"][:3] == b"\xff\xd8\xff"


def test_geometry_output_reports_presence_too(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(
        url(shop, output="geometry"), headers={"origin": ORIGIN}
    ) as ws:
        ws.receive_json()
        ws.send_bytes(no_face_jpeg())
        assert ws.receive_json()["subject_found"] is False
        assert ws.receive_json()["geometry"]["faces"] == []


@pytest.mark.parametrize(
    ("origin", "key", "status"),
    [
        ("https://evil.example", None, 403),
        (None, None, 403),
        (ORIGIN, "pk_" + "x" * 32, 401),
        (ORIGIN, "", 401),
    ],
)
def test_handshake_refusals(
    live_client: TestClient, origin: str | None, key: str | None, status: int
) -> None:
    shop = eyewear_shop(live_client)
    target = url(shop) if key is None else url(shop).replace(shop.merchant.publishable_key, key)
    headers = {"origin": origin} if origin else {}
    with pytest.raises(WebSocketDenialResponse) as denied:
        live_client.websocket_connect(target, headers=headers).__enter__()
    assert denied.value.status_code == status
    assert denied.value.headers["content-type"] == "application/problem+json"


def test_secret_key_and_unknown_product_are_refused(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    for target, status in (
        (url(shop).replace(shop.merchant.publishable_key, shop.merchant.secret_key), 403),
        (url(shop, product="nope"), 404),
    ):
        with pytest.raises(WebSocketDenialResponse) as denied:
            live_client.websocket_connect(target, headers={"origin": ORIGIN}).__enter__()
        assert denied.value.status_code == status


def test_no_product_is_invalid_input_not_an_image_problem(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    target = f"/v1/widget/live?key={shop.merchant.publishable_key}"
    with pytest.raises(WebSocketDenialResponse) as denied:
        live_client.websocket_connect(target, headers={"origin": ORIGIN}).__enter__()
    assert denied.value.status_code == 422
    assert denied.value.json()["type"].endswith("/invalid-input")


def test_oversize_frame_closes_with_1009(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
        ws.receive_json()
        ws.send_bytes(b"\xff\xd8\xff" + b"\0" * (600 * 1024))
        error = receive_until(ws, "error")
        assert error["problem"]["status"] == 413
        receive_until(ws, "stats")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1009


def test_flood_is_dropped_then_closed(make_live: Callable[..., Any]) -> None:
    with make_live(ws_max_fps=2.0) as client:
        shop = eyewear_shop(client)
        with client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
            ws.receive_json()
            tiny = frame(160, 120)
            for _ in range(30):
                ws.send_bytes(tiny)
            messages, code = drain(ws)
        assert code == 1008
        stats = [json.loads(m["text"]) for m in messages if m.get("text")][-1]
        assert stats["type"] == "stats"
        assert stats["refused_rate"] >= 4  # 7 frames within a second: 3x the cap of 2
        assert stats["processed"] <= 2


def stats_once_settled(ws: Any, *, frames: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """Ask for stats until every frame sent is accounted for (processed, dropped or refused).

    The stats request follows the frames on the same stream, so ``received`` is final at
    once; the last frame may still be rendering: ask again, up to a generous deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        ws.send_text(json.dumps({"type": "stats"}))
        stats = receive_until(ws, "stats", limit=500)
        if stats["processed"] + stats["dropped_stale"] + stats["refused_rate"] >= frames:
            return stats
        assert time.monotonic() < deadline, f"frames still unaccounted for: {stats}"


def test_stale_frames_are_dropped_latest_wins(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
        ws.receive_json()
        for _ in range(12):  # sent far faster than frames are rendered
            ws.send_bytes(frame())
        stats = stats_once_settled(ws, frames=12)
    assert stats["received"] == 12
    assert stats["dropped_stale"] >= 1
    assert stats["processed"] + stats["dropped_stale"] + stats["refused_rate"] == 12
    assert stats["processed"] < 12


def test_bad_frames_are_reported_and_the_stream_goes_on(live_client: TestClient) -> None:
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
        assert receive_until(ws, "error")["problem"]["status"] == 415
        ws.send_bytes(b"\xff\xd8\xff\xe0 truncated")
        assert receive_until(ws, "error")["problem"]["status"] == 422
        ws.send_text("not json")
        assert receive_until(ws, "error")["problem"]["status"] == 422
        ws.send_text(json.dumps({"type": "ping"}))
        assert receive_until(ws, "pong") == {"type": "pong"}
        ws.send_bytes(frame())
        assert ws.receive_bytes()[:3] == b"\xff\xd8\xff"


def test_idle_connections_are_closed(make_live: Callable[..., Any]) -> None:
    with make_live(ws_idle_timeout_s=0.5) as client:
        shop = eyewear_shop(client)
        with client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
            ws.receive_json()
            receive_until(ws, "stats")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1001


def test_live_sessions_per_address_are_capped(make_live: Callable[..., Any]) -> None:
    with make_live(ws_max_per_ip=1) as client:
        shop = eyewear_shop(client)
        with client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
            ws.receive_json()
            with pytest.raises(WebSocketDenialResponse) as denied:
                client.websocket_connect(url(shop), headers={"origin": ORIGIN}).__enter__()
            assert denied.value.status_code == 429
        # Once the first one is closed, a new one is welcome.
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        wait_for(lambda: dict(runtime.live_by_ip), lambda by_ip: not by_ip)
        with client.websocket_connect(url(shop), headers={"origin": ORIGIN}) as ws:
            assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize("face", ["-1", "32", "one", "1.5"])
def test_malformed_face_index_is_refused_at_the_handshake(
    live_client: TestClient, face: str
) -> None:
    shop = eyewear_shop(live_client)
    with pytest.raises(WebSocketDenialResponse) as denied:
        live_client.websocket_connect(url(shop, face=face), headers={"origin": ORIGIN}).__enter__()
    assert denied.value.status_code == 422
    assert denied.value.headers["content-type"] == "application/problem+json"


def test_face_index_reaches_the_live_session(live_client: TestClient) -> None:
    """The selfie has one face: asking for the second is reported, not a crash."""
    shop = eyewear_shop(live_client)
    with live_client.websocket_connect(url(shop, face="1"), headers={"origin": ORIGIN}) as ws:
        receive_until(ws, "hello")
        ws.send_bytes(frame())
        assert receive_until(ws, "status")["reason"] == "face-not-found"
