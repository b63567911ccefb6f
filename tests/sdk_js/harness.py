"""Support for the SDK's browser tests (sdk_js/e2e), called by their global setup.

``python -m tests.sdk_js.harness fixtures OUT_DIR`` writes the photos and fake-camera videos
the tests use, made at test time from public test photos (testkit/images.py; nothing
third-party is committed), and prints their paths as JSON.

``python -m tests.sdk_js.harness set-quota N`` sets the demo merchant's monthly try-on quota
in the database the ``TRYON_*`` environment points at; ``count-events TYPE PRODUCT`` counts
the widget's events that reached the analytics warehouse; ``order ORDER_ID`` prints that
order and its lines as the warehouse joined them (JSON, ``{}`` until it arrives);
``set-holdout SHARE`` starts a holdout period for the demo store and prints what the widget
configuration serves; ``shopper ID`` prints a shopper's events and orders with their arms.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from testkit.images import load_bgr

# Rows of bus.jpg above the people: buildings and the top of the bus, no face.
NO_FACE_ROWS = (0, 330)
Y4M_FRAMES = 30


def write_y4m(path: Path, frames: list[NDArray[np.uint8]], fps: int = 30) -> None:
    """Frames (BGR, even sizes) as a YUV4MPEG2 4:2:0 file, what chromium's fake camera reads."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            # I420 is the Y plane, then U and V at quarter size: exactly Y4M's frame layout.
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


def camera_frames(
    photo: NDArray[np.uint8], size: tuple[int, int] = (640, 480)
) -> list[NDArray[np.uint8]]:
    """A photo in a 640x480 picture, swaying a little, as a webcam would see a person."""
    width, height = size
    scale = height / photo.shape[0]
    fitted = cv2.resize(
        photo, (round(photo.shape[1] * scale), height), interpolation=cv2.INTER_AREA
    )
    frames = []
    for i in range(Y4M_FRAMES):
        canvas = np.full((height, width, 3), 96, dtype=np.uint8)
        shift = round(10 * math.sin(2 * math.pi * i / Y4M_FRAMES))
        x0 = (width - fitted.shape[1]) // 2 + shift
        canvas[:, max(0, x0) : min(width, x0 + fitted.shape[1])] = fitted[
            :, max(0, -x0) : fitted.shape[1] - max(0, x0 + fitted.shape[1] - width)
        ]
        frames.append(canvas)
    return frames


def make_fixtures(out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    astronaut = load_bgr("astronaut")
    no_face = load_bgr("bus")[NO_FACE_ROWS[0] : NO_FACE_ROWS[1]]
    paths = {
        "photo": out / "photo.jpg",
        "rotated": out / "rotated.jpg",
        "noface": out / "noface.jpg",
        "camera": out / "camera.y4m",
        "noface_camera": out / "noface.y4m",
        "group": out / "group.jpg",
    }
    cv2.imwrite(str(paths["photo"]), astronaut, [cv2.IMWRITE_JPEG_QUALITY, 92])
    # bus.jpg as taken: people standing full length, two faces found (one in sunglasses).
    cv2.imwrite(str(paths["group"]), load_bgr("bus"), [cv2.IMWRITE_JPEG_QUALITY, 92])
    cv2.imwrite(str(paths["noface"]), no_face, [cv2.IMWRITE_JPEG_QUALITY, 92])
    # A big portrait phone photo stored sideways with EXIF orientation 6 ("rotate 90° clockwise
    # to view"): the widget must upload it upright and downscaled.
    portrait = cv2.resize(astronaut[:, 56:456], (1600, 2048), interpolation=cv2.INTER_CUBIC)
    stored = cv2.rotate(portrait, cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(
        paths["rotated"], quality=90, exif=exif.tobytes()
    )
    write_y4m(paths["camera"], camera_frames(astronaut))
    write_y4m(paths["noface_camera"], camera_frames(no_face))
    return {name: str(path) for name, path in paths.items()}


def set_quota(quota: int, *, timeout_s: float = 120.0) -> None:
    """Set the demo merchant's quota, then wait until the running server serves it.

    A running embedded server keeps what it read in its own memory for up to the read
    cache's bound, and another process's write cannot clear it: ask the server (the widget
    config shows the quota) until it shows the new one, up to a deadline, instead of sleeping.
    """
    import httpx

    from gateway.db.session import make_engine, session_scope
    from gateway.merchants.models import Merchant
    from gateway.settings import get_settings
    from gateway.web.demo import catalog, state

    settings = get_settings()
    demo = state.read(settings.data_dir)
    if demo is None:
        raise SystemExit("the demo store is not seeded")
    engine = make_engine(settings)
    with session_scope(engine) as session:
        merchant = session.get(Merchant, demo.merchant_id)
        if merchant is None:
            raise SystemExit("the demo merchant is gone")
        merchant.monthly_tryon_quota = quota
    engine.dispose()
    base = settings.public_url.rstrip("/")
    request = {
        "params": {"product": catalog.PRODUCTS[0].external_id},
        "headers": {"Authorization": f"Bearer {demo.publishable_key}", "Origin": base},
    }
    deadline = time.monotonic() + timeout_s
    served: object = None
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/v1/widget/config", timeout=10, **request)  # type: ignore[arg-type]
        if response.status_code == 200:
            served = response.json()["quota"]
            if served["exhausted"] == (quota == 0):
                return
        else:
            served = f"HTTP {response.status_code}: {response.text[:200]}"
        time.sleep(0.1)
    raise SystemExit(f"the server did not serve quota {quota} in {timeout_s:.0f} s: {served}")


def _warehouse_exists(engine: object) -> bool:
    """Whether the warehouse has its tables yet (before the first event, it has none)."""
    from sqlalchemy import inspect

    from analytics.warehouse.tables import fact_event

    return bool(inspect(engine).has_table(fact_event.name))  # type: ignore[arg-type]


def count_events(event_type: str, product_id: str) -> int:
    """Events of ``event_type`` for ``product_id`` in the warehouse (what reached the end)."""
    from sqlalchemy import func, select

    from analytics.settings import AnalyticsSettings
    from analytics.warehouse.engine import make_engine as warehouse_engine
    from analytics.warehouse.tables import fact_event

    engine = warehouse_engine(AnalyticsSettings())
    try:
        if not _warehouse_exists(engine):
            return 0  # no warehouse yet: nothing arrived (any other failure is an error)
        with engine.connect() as conn:
            query = (
                select(func.count())
                .select_from(fact_event)
                .where(fact_event.c.type == event_type, fact_event.c.product_id == product_id)
            )
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def order(order_id: str) -> dict[str, object]:
    """The demo merchant's order ``order_id`` as the warehouse has it ({} until it arrives)."""
    from sqlalchemy import select

    from analytics.settings import AnalyticsSettings
    from analytics.warehouse.engine import make_engine as warehouse_engine
    from analytics.warehouse.tables import fact_order, fact_order_line

    engine = warehouse_engine(AnalyticsSettings())
    try:
        if not _warehouse_exists(engine):
            return {}  # no warehouse yet: nothing arrived (any other failure is an error)
        with engine.connect() as conn:
            found = conn.execute(
                select(fact_order.c.widget_session_id).where(fact_order.c.order_id == order_id)
            ).one_or_none()
            if found is None:
                return {}
            lines = conn.execute(
                select(fact_order_line.c.product_id, fact_order_line.c.tryon_session_id)
                .where(fact_order_line.c.order_id == order_id)
                .order_by(fact_order_line.c.line_no)
            )
            return {
                "widget_session_id": found.widget_session_id,
                "lines": [dict(row._mapping) for row in lines],
            }
    finally:
        engine.dispose()


def set_holdout(share: float, *, timeout_s: float = 120.0) -> dict[str, object]:
    """Hold out ``share`` of the demo store's shoppers (a new experiment period) and wait
    until the running server's widget configuration shows it; returns what it shows."""
    import httpx

    import gateway.db.models  # noqa: F401 - every mapper, for the foreign keys
    from gateway.db.base import utcnow
    from gateway.db.session import make_engine, session_scope
    from gateway.experiments import service as experiments
    from gateway.settings import get_settings
    from gateway.web.demo import catalog, state

    settings = get_settings()
    demo = state.read(settings.data_dir)
    if demo is None:
        raise SystemExit("the demo store is not seeded")
    engine = make_engine(settings)
    with session_scope(engine) as session:
        running = experiments.set_share(
            session=session, merchant_id=demo.merchant_id, share=share, now=utcnow()
        )
        wanted = str(running.id) if running else None
    engine.dispose()
    base = settings.public_url.rstrip("/")
    deadline = time.monotonic() + timeout_s
    served: object = None
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{base}/v1/widget/config",
            params={"product": catalog.PRODUCTS[0].external_id},
            headers={"Authorization": f"Bearer {demo.publishable_key}", "Origin": base},
            timeout=10,
        )
        served = response.json().get("experiment") if response.status_code == 200 else None
        if (served or {}).get("id") == wanted:  # type: ignore[attr-defined]
            return served or {}  # type: ignore[return-value]
        time.sleep(0.1)
    raise SystemExit(f"the server did not serve the holdout in {timeout_s:.0f} s: {served}")


def shopper(shopper_id: str) -> dict[str, object]:
    """What the warehouse holds of a shopper: their events (type, arm, experiment) and the
    orders attributed to them (order id, arm, experiment)."""
    from sqlalchemy import select

    from analytics.settings import AnalyticsSettings
    from analytics.warehouse.engine import make_engine as warehouse_engine
    from analytics.warehouse.tables import fact_event, fact_order

    engine = warehouse_engine(AnalyticsSettings())
    try:
        if not _warehouse_exists(engine):
            return {"events": [], "orders": []}
        with engine.connect() as conn:
            e, o = fact_event, fact_order
            events = conn.execute(
                select(e.c.type, e.c.product_id, e.c.arm, e.c.experiment_id)
                .where(e.c.shopper_id == shopper_id)
                .order_by(e.c.occurred_at)
            )
            orders = conn.execute(
                select(o.c.order_id, o.c.arm, o.c.experiment_id).where(o.c.shopper_id == shopper_id)
            )
            return {
                "events": [[t, p, a, str(x)] for t, p, a, x in events],
                "orders": [[i, a, str(x)] for i, a, x in orders],
            }
    finally:
        engine.dispose()


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "fixtures":
        print(json.dumps(make_fixtures(Path(argv[1]))))
    elif len(argv) == 2 and argv[0] == "set-quota":
        set_quota(int(argv[1]))
    elif len(argv) == 3 and argv[0] == "count-events":
        print(count_events(argv[1], argv[2]))
    elif len(argv) == 2 and argv[0] == "order":
        print(json.dumps(order(argv[1])))
    elif len(argv) == 2 and argv[0] == "set-holdout":
        print(json.dumps(set_holdout(float(argv[1]))))
    elif len(argv) == 2 and argv[0] == "shopper":
        print(json.dumps(shopper(argv[1])))
    else:
        raise SystemExit(
            "usage: harness.py fixtures OUT_DIR | set-quota N | count-events TYPE PRODUCT"
            " | order ORDER_ID | set-holdout SHARE | shopper SHOPPER_ID"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
