"""Shopper images are never stored, logged or cached (SECURITY.md): run try-ons of every kind
against PostgreSQL and Redis, then search the database, Redis, the logs, the data directory
and the temp directories for the photo's bytes (raw, base64, and decoded pixels)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import MetaData, Table, create_engine, inspect, select

from gateway.db import migrate
from gateway.settings import GatewaySettings
from tests.gateway.conftest import ORIGIN, running, widget
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg


def unique_photo() -> tuple[bytes, np.ndarray]:
    """The test selfie with a random patch, so its bytes and pixels exist nowhere else."""
    image = cv2.imdecode(np.frombuffer(selfie_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "big"))
    image[440:480, 0:120] = rng.integers(0, 255, (40, 120, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = bytes(buf)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return data, decoded


def needles(data: bytes, pixels: np.ndarray) -> list[bytes]:
    """Byte strings that only a copy of this photo (in any common form) would contain."""
    middle = len(data) // 2
    chunks = [data[i : i + 48] for i in (middle, middle + 997, len(data) - 200)]
    b64 = base64.b64encode(data)
    found = [*chunks, b64[middle : middle + 64]]
    bgr_row = pixels[460, 0:40].tobytes()
    found += [bgr_row, pixels[460, 0:40, ::-1].tobytes()]  # BGR and RGB
    return found


def search(blob: bytes, patterns: list[bytes]) -> list[int]:
    return [i for i, p in enumerate(patterns) if p in blob]


@pytest.fixture
def app_with_real_services(
    make_settings: Callable[..., GatewaySettings],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> Iterator[TestClient]:
    migrate.upgrade(postgres_url)
    settings = make_settings(
        database_url=postgres_url, redis_url=redis_url, redis_prefix=redis_prefix
    )
    with running(settings) as client:
        # Tombstones for 1 ms: the widget reads below are cached right after the shop's set-up
        # writes, so the Redis search covers the read cache's entries too.
        client.app.state.runtime.reads.hold_s = 0.001  # type: ignore[attr-defined]
        yield client


def test_no_shopper_image_bytes_anywhere(
    app_with_real_services: TestClient,
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    client = app_with_real_services
    started = time.time()
    shop = eyewear_shop(client, "Private")
    pk = shop.merchant.publishable_key
    data, pixels = unique_photo()
    patterns = needles(data, pixels)
    headers = {**widget(pk), "content-type": "image/jpeg"}
    # Photo try-on in every output form, analysis, a failing try-on and a live session.
    for accept in ("image/jpeg", "image/png", "application/json"):
        response = client.post(
            "/v1/widget/tryon",
            params={"product": "round-black"},
            content=data,
            headers={**headers, "Accept": accept},
        )
        assert response.status_code == 200, response.text
    assert client.post("/v1/widget/analyze", content=data, headers=headers).status_code == 200
    truncated = data[: len(data) // 2]
    assert (
        client.post(
            "/v1/widget/tryon",
            params={"product": "round-black"},
            content=truncated,
            headers=headers,
        ).status_code
        == 422
    )
    with client.websocket_connect(
        f"/v1/widget/live?key={pk}&product=round-black", headers={"origin": ORIGIN}
    ) as ws:
        ws.receive_json()
        for _ in range(2):
            ws.send_bytes(data)
            ws.receive_bytes()
        ws.send_bytes(b"\xff\xd8\xff" + data[3:1000])  # a broken frame: reported, not logged
        ws.receive_json()

    # 1. The database: every column of every row.
    # A copy of the photo in any of these forms would be found (the search is not blind).
    copies = data + base64.b64encode(data) + pixels.tobytes() + pixels[:, :, ::-1].tobytes()
    assert search(copies, patterns) == list(range(len(patterns)))
    engine = create_engine(postgres_url)
    rows_seen: dict[str, int] = {}
    merchant_names_seen = False
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            # Reflected, so that every column is read (``select(table(name))`` reads none).
            rows = conn.execute(select(Table(name, MetaData(), autoload_with=conn))).all()
            rows_seen[name] = len(rows)
            for row in rows:
                merchant_names_seen |= name == "merchants" and "Private" in map(str, row)
                blob = json.dumps([str(v) for v in row]).encode() + b"".join(
                    bytes(v)
                    for v in row
                    if isinstance(v, bytes | memoryview)  # type: ignore[misc]
                )
                assert search(blob, patterns) == [], f"image bytes in table {name}"
    engine.dispose()
    # The scan read the database the try-ons wrote to: their rows are among those searched.
    assert merchant_names_seen  # and read their columns: the shop's name was among them
    for name in ("merchants", "api_keys", "products", "product_variants", "tryon_assets"):
        assert rows_seen.get(name, 0) >= 1, f"nothing searched in {name}: {rows_seen}"
    assert rows_seen.get("usage_daily", 0) >= 1, rows_seen

    # 2. Redis: every key (not only ours), every string value; the widget read cache's among them.
    redis = Redis.from_url(redis_url)
    read_cache_entries = 0
    for key in redis.scan_iter(count=1000):
        if redis.type(key) == b"string":
            value = redis.get(key) or b""
            assert search(key + value, patterns) == [], f"image bytes in Redis key {key!r}"
            read_cache_entries += key.startswith(f"{redis_prefix}cache:w1:".encode())
    redis.close()
    assert read_cache_entries > 0

    # 3. Logs: everything written to stdout/stderr and every log record.
    out, err = capfd.readouterr()
    logged = (out + err).encode() + "\n".join(r.getMessage() for r in caplog.records).encode()
    assert search(logged, patterns) == []
    assert pk not in out + err  # keys in query strings stay out of the logs too

    # 4. Files: the data dir and the temp dirs, every file written since the test began.
    roots = {Path(tempfile.gettempdir()), tmp_path, Path("/var/tmp"), Path("/dev/shm")}
    checked = 0
    for root in roots:
        for dirpath, _dirs, files in os.walk(root, onerror=lambda _e: None):
            for name in files:
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                    if stat.st_mtime < started - 1 or stat.st_size > 64 << 20:
                        continue
                    blob = path.read_bytes()
                except OSError:
                    continue
                checked += 1
                assert search(blob, patterns) == [], f"image bytes in {path}"
    assert checked > 0  # the asset files at least were written and searched
