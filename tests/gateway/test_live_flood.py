"""The live WebSocket's flood rule end to end, on an injected clock: a stream at 3x the frame
cap or more is closed with 1008 (as ``docs/api.md`` says), one under it is throttled only.

The gateway reads frame arrival times from ``Runtime.clock``; here each read moves a fake clock
on by one frame interval, so the rate the server sees is exact whatever the machine's speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.db import migrate
from gateway.settings import GatewaySettings
from tests.gateway.conftest import ORIGIN, running
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg

FPS = 2.0


class FrameClock:
    """A monotonic clock that moves on by ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def live(make_settings: Callable[..., GatewaySettings], tmp_path: Any) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/live.db"
    migrate.upgrade(url)
    with running(make_settings(database_url=url, ws_max_fps=FPS)) as client:
        yield client


def _stream(client: TestClient, times: float, seconds: float) -> tuple[list[dict[str, Any]], int]:
    """Frames at ``times`` the cap for ``seconds`` on the server's clock, then a stats request;
    the text messages received and the close code (0 while the connection is still open)."""
    shop = eyewear_shop(client)
    client.app.state.runtime.clock = FrameClock(1.0 / (times * FPS))  # type: ignore[attr-defined]
    key = shop.merchant.publishable_key
    path = f"/v1/widget/live?key={key}&product=round-black&output=geometry"
    tiny = selfie_jpeg(160, 120)
    texts: list[dict[str, Any]] = []
    with client.websocket_connect(path, headers={"origin": ORIGIN}) as ws:
        assert ws.receive_json()["type"] == "hello"
        for _ in range(round(times * FPS * seconds)):
            ws.send_bytes(tiny)
        ws.send_text(json.dumps({"type": "stats"}))
        while True:
            message = ws.receive()
            if message["type"] == "websocket.close":
                return texts, int(message.get("code", 1000))
            if message.get("text"):
                texts.append(json.loads(message["text"]))
                if texts[-1]["type"] == "stats" and texts[-1]["received"] == round(
                    times * FPS * seconds
                ):
                    return texts, 0


@pytest.mark.parametrize("times", [3.0, 3.3])
def test_a_stream_at_three_times_the_cap_is_closed_with_1008(
    live: TestClient, times: float
) -> None:
    texts, code = _stream(live, times, seconds=10.0)
    assert code == 1008
    stats = [t for t in texts if t["type"] == "stats"][-1]  # sent before the close
    assert stats["refused_rate"] >= 1
    assert stats["received"] < times * FPS * 2  # closed within its second second


def test_a_stream_under_three_times_the_cap_is_throttled_not_closed(live: TestClient) -> None:
    texts, code = _stream(live, 2.5, seconds=10.0)
    assert code == 0
    stats = texts[-1]
    assert stats["received"] == 50
    # Two a second may pass; the rest get no answer.
    assert 25 <= stats["refused_rate"] <= 32
