"""Drive a running `make demo` without a browser, as a shopper's widget would.

Against the demo merchant (its publishable key from ``$TRYON_DATA_DIR/demo.json``): the
widget config as a same-origin page asks for it (no ``Origin``, ``Sec-Fetch-Site``), a try-on
session, a whole photo try-on (a public-domain test photo), usage events the way
``navigator.sendBeacon`` sends them, a preflight, and a live try-on over the WebSocket with a
stretch of frames without a face (the ``status`` messages). Exits non-zero on the first
thing that does not work.

    make demo                                  # in one terminal (TRYON_PORT=8106 for another port)
    .venv/bin/python scripts/demo_smoke.py     # in another: --base http://127.0.0.1:8106
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import websockets
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway import serving
from gateway.settings import GatewaySettings
from gateway.web.demo import state
from testkit.images import load_bgr


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok  {what}")


def jpeg(pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf)


def photo_tryon(base: str, pk: str, selfie: bytes) -> str:
    widget = {"Authorization": f"Bearer {pk}", "Origin": base}
    with httpx.Client(base_url=base, timeout=60) as c:
        check(c.get("/readyz").status_code == 200, "the demo is ready")
        same_origin = {"Authorization": f"Bearer {pk}", "Sec-Fetch-Site": "same-origin"}
        config = c.get(
            "/v1/widget/config", params={"product": "round-glasses"}, headers=same_origin
        )
        check(config.status_code == 200, "widget config from a same-origin page (no Origin)")
        check("photo" in config.json()["modes"], "the round glasses can be tried on")
        session = c.post(
            "/v1/widget/sessions",
            json={
                "product_id": "round-glasses",
                "variant_id": "round-glasses-gold",
                "mode": "photo",
            },
            headers=widget,
        )
        check(session.status_code == 201, "a try-on session")
        session_id = str(session.json()["session_id"])
        started = time.perf_counter()
        result = c.post(
            "/v1/widget/tryon",
            params={
                "product": "round-glasses",
                "variant": "round-glasses-gold",
                "session": session_id,
            },
            content=selfie,
            headers={**widget, "content-type": "image/jpeg"},
        )
        ms = (time.perf_counter() - started) * 1000
        check(result.status_code == 200, f"photo try-on ({ms:.0f} ms)")
        geometry = json.loads(result.headers["tryon-geometry"])
        image = cv2.imdecode(np.frombuffer(result.content, np.uint8), cv2.IMREAD_COLOR)
        check(image is not None and len(geometry["faces"]) == 1, "a rendered JPEG, one face")
        check(
            geometry["size_recommendation"] is None,
            "no size advice for a product sold in colours only",
        )
        event = {
            "schema_version": 1,
            "event_id": str(uuid.uuid4()),
            "type": "tryon_rendered",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "widget_session_id": "w-smoke-0001",
            "tryon_session_id": session_id,
            "product_id": "round-glasses",
            "variant_id": "round-glasses-gold",
            "properties": {"mode": "photo", "category": "eyewear", "latency_ms": round(ms, 1)},
        }
        beacon = c.post(
            "/v1/events",
            params={"key": pk},
            content=json.dumps({"events": [event]}),
            headers={"Origin": base, "content-type": "text/plain;charset=UTF-8"},
        )
        check(beacon.status_code == 202, "usage events as navigator.sendBeacon sends them")
        preflight = c.options(
            "/v1/widget/tryon",
            headers={"Origin": base, "Access-Control-Request-Method": "POST"},
        )
        check(preflight.status_code == 204, "a CORS preflight from the key's origin")
    return session_id


async def live_tryon(base: str, pk: str, selfie: bytes, empty: bytes) -> None:
    ws_base = base.replace("http", "ws", 1)
    url = f"{ws_base}/v1/widget/live?key={pk}&product=round-glasses&variant=round-glasses-black"
    async with websockets.connect(url, origin=base) as ws:
        hello = json.loads(await ws.recv())
        check(hello["type"] == "hello", "live: hello")
        frames, statuses = 0, []
        started = time.perf_counter()
        for i in range(30):
            await ws.send(empty if 10 <= i < 15 else selfie)
            reply: Any = await ws.recv()
            while isinstance(reply, str):
                message = json.loads(reply)
                if message["type"] == "status":
                    statuses.append(message)
                reply = await ws.recv()
            frames += 1
        elapsed = time.perf_counter() - started
        check(
            frames == 30,
            f"live: 30 frames back for 30 sent ({frames / elapsed:.1f} fps, one at a time)",
        )
        check(
            statuses
            == [
                {"type": "status", "subject_found": False, "reason": "no-face"},
                {"type": "status", "subject_found": True},
            ],
            "live: told once when the face left and once when it came back",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        raise SystemExit(f"error: bad configuration: {exc.errors()[0]['msg']}") from None
    # The port `make demo` really listens on (it notes it in the data dir), not only this
    # terminal's TRYON_PORT.
    parser.add_argument(
        "--base", default=serving.public_url(settings).rstrip("/"), help="the demo's URL"
    )
    args = parser.parse_args()
    try:
        httpx.get(f"{args.base}/healthz", timeout=5)
    except httpx.TransportError:
        raise SystemExit(
            f"error: no demo server answers on {args.base}: start it with `make demo` "
            "(the same TRYON_PORT in both terminals), or pass --base URL"
        ) from None
    demo = state.read(settings.data_dir)
    if demo is None:
        raise SystemExit(f"the demo is not seeded in {settings.data_dir} (run `make demo`)")
    astronaut = load_bgr("astronaut")  # public domain (NASA)
    selfie = jpeg(astronaut[0:384, 0:512])
    empty = jpeg(np.random.default_rng(1).integers(0, 255, (384, 512, 3), dtype=np.uint8))
    photo_tryon(args.base, demo.publishable_key, selfie)
    asyncio.run(live_tryon(args.base, demo.publishable_key, selfie, empty))
    print("the demo works")


if __name__ == "__main__":
    main()
