"""Gateway benchmark: widget config and photo try-on throughput and latency (wrk), live try-on
frames per second per session (1, 4, 8, 16 concurrent WebSockets) with each frame's latency
(sent to answered), and the server's memory, in the
embedded mode and in the PostgreSQL + Redis mode. Bounded in time; loopback only.

References measured in the same run: ``/healthz`` (the HTTP floor of this server) for the
config figures, the in-process pipeline (JPEG decode, render, JPEG encode: p50 on one thread,
pipelines per second on two) for the photo try-on at 1 and 16 connections, and one in-process
live session (track + render, no network) for the live frame rate.

Usage: python scripts/gateway/bench.py [--seconds 8] [--modes embedded,scaleout]
[--parts config,photo,live] [--connections 16]

``--parts config`` measures only ``/healthz`` (the reference) and the widget configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import websockets
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ml_service import ports
from ml_service.engine import LocalEngine
from ml_service.errors import StartupFailed

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from testkit.images import test_image  # noqa: E402 - the repository root is on the path now

ORIGIN = "http://bench.example"
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
TRYON = Path(sys.executable).with_name("tryon")
PG_ADMIN = os.environ.get(
    "TRYON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("TRYON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MAX_ERROR_RATE = 0.01


def selfie(width: int = 640, height: int = 480) -> bytes:
    image = cv2.imread(str(test_image("astronaut")))
    crop = cv2.resize(image[0:384, 0:512], (width, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(buf)


def rss_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


@contextmanager
def postgres_database() -> Any:
    name = f"tryon_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def gateway(env: dict[str, str]) -> Any:
    """A ``tryon serve`` process on a port it chose; yields (base URL, pid, environment)."""
    full = {**os.environ, **env, "TRYON_ENV": "development", "TRYON_LOG_LEVEL": "WARNING"}
    subprocess.run([str(TRYON), "db", "upgrade"], env=full, check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="tryon-bench-") as tmp:
        log_path = Path(tmp) / "serve.log"
        try:
            with ports.start(
                [str(TRYON), "serve"], log_path=log_path, env=full, ready_path="/readyz"
            ) as server:
                yield server.url, server.process.pid, full
        except StartupFailed as exc:
            raise RuntimeError(f"the gateway did not become ready: {exc}") from None


def set_up_shop(url: str, env: dict[str, str]) -> dict[str, str]:
    made = subprocess.run(
        [str(TRYON), "merchant", "create", "--name", "Bench", "--origin", ORIGIN, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    keys = json.loads(made.stdout)
    sk = {"Authorization": f"Bearer {keys['secret_key']}"}
    product: Any = httpx.post(
        url + "/v1/products",
        json={
            "external_id": "round-black",
            "title": "Round",
            "category": "eyewear",
            "variants": [
                {
                    "external_id": "m",
                    "title": "M",
                    "size": "M",
                    "measurements": {"frame_width_mm": 134},
                }
            ],
        },
        headers=sk,
        timeout=30,
    )
    if product.status_code != 201:
        raise RuntimeError(f"cannot create the product: {product.status_code} {product.text}")
    product = product.json()
    packshot = (ROOT / "ml_service" / "demo_assets" / "glasses-round-black.png").read_bytes()
    asset = httpx.post(
        url + f"/v1/products/{product['id']}/assets",
        params={"width_mm": 132},
        content=packshot,
        headers={**sk, "content-type": "image/png"},
        timeout=60,
    )
    asset.raise_for_status()
    return {"pk": keys["publishable_key"], "sk": keys["secret_key"]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body_file: str | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """wrk's figures; with ``server_pid``, also the server's CPU time per request (robust
    on a machine shared with other work, where throughput says more about the neighbours)."""
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_HEADERS": "|".join(f"{k}: {v}" for k, v in (headers or {}).items()),
        "BENCH_BODY_FILE": body_file or "",
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    failed = result["socket_errors"] + result["http_errors"]
    result["error_rate"] = round(failed / max(1, result["requests"]), 4)
    if server_pid:
        used = cpu_seconds(server_pid) - cpu_before
        result["server_cpu_ms_per_request"] = round(used * 1000 / max(1, result["requests"]), 3)
    return result


FRAME_LOST_S = 2.0
"""A frame not answered by then counts as lost and the next one goes (as the SDK does)."""


async def live_sessions(
    url: str, pk: str, sessions: int, seconds: float, frame: bytes
) -> dict[str, Any]:
    """``sessions`` concurrent live WebSockets, each sending its next frame when the previous
    one came back (the SDK's flow control with one frame in flight), paced to the server's
    ``max_fps`` from its hello: frames above it are dropped unanswered by design."""
    ws_url = url.replace("http://", "ws://") + f"/v1/widget/live?key={pk}&product=round-black"
    lost = 0
    latencies: list[float] = []

    async def one() -> int:
        nonlocal lost
        frames = 0
        async with websockets.connect(ws_url, origin=ORIGIN, max_size=4 << 20) as ws:  # type: ignore[arg-type]
            hello = json.loads(await ws.recv())
            interval = 1.0 / float(hello["max_fps"])
            deadline = time.monotonic() + seconds
            next_send = time.monotonic()
            while time.monotonic() < deadline:
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send = max(next_send + interval, time.monotonic())
                sent_at = time.perf_counter()
                await ws.send(frame)
                try:
                    async with asyncio.timeout(FRAME_LOST_S):
                        while not isinstance(await ws.recv(), bytes):
                            pass  # status and stats messages
                    frames += 1
                    latencies.append((time.perf_counter() - sent_at) * 1000)
                except TimeoutError:
                    lost += 1
        return frames

    started = time.monotonic()
    counts = await asyncio.gather(*(one() for _ in range(sessions)))
    elapsed = time.monotonic() - started
    per = [c / elapsed for c in counts]
    return {
        "frames": sum(counts),
        "sessions": sessions,
        "fps_per_session_mean": round(statistics.mean(per), 2),
        "fps_per_session_min": round(min(per), 2),
        "fps_total": round(sum(per), 2),
        "frames_lost": lost,
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
    }


def references(frame: bytes, seconds: float) -> dict[str, Any]:
    """In-process figures (no HTTP): the engine's photo render and one live session."""
    engine = LocalEngine()
    packshot = (ROOT / "ml_service" / "demo_assets" / "glasses-round-black.png").read_bytes()
    asset = engine.prepare_asset(packshot, "eyewear", width_mm=132)
    pixels = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
    engine.render(pixels, asset)
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t = time.perf_counter()
        engine.render(pixels, asset)
        times.append((time.perf_counter() - t) * 1000)

    # The whole photo pipeline in-process: decode the JPEG, render, encode the JPEG (what the
    # gateway's photo try-on does around its HTTP, auth, quota and usage work).
    def pipeline() -> None:
        decoded = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
        out = engine.render(decoded, asset)
        cv2.imencode(".jpg", out.image, [cv2.IMWRITE_JPEG_QUALITY, 90])

    pipeline_ms = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t = time.perf_counter()
        pipeline()
        pipeline_ms.append((time.perf_counter() - t) * 1000)
    # Two threads (two cores; OpenCV and onnxruntime release the GIL): pipelines per second.
    done = [0, 0]
    stop_at = time.monotonic() + seconds

    def worker(index: int) -> None:
        while time.monotonic() < stop_at:
            pipeline()
            done[index] += 1

    started_2 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pipeline_rps = sum(done) / (time.monotonic() - started_2)
    session = engine.live_session(asset, output="render")
    frames, deadline = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < deadline:
        session.process(pixels)
        frames += 1
    fps = frames / (time.monotonic() - started)
    return {
        "render_p50_ms": round(statistics.median(times), 2),
        "render_p95_ms": round(float(np.percentile(times, 95)), 2),
        "live_fps_one_session": round(fps, 2),
        "pipeline_p50_ms": round(statistics.median(pipeline_ms), 2),
        "pipeline_p95_ms": round(float(np.percentile(pipeline_ms, 95)), 2),
        "pipeline_per_s_two_threads": round(pipeline_rps, 1),
    }


PARTS = ("config", "photo", "live")
LIVE_SESSIONS = (1, 4, 8, 16)


def run_mode(  # noqa: PLR0917 - one benchmark run's knobs
    mode: str,
    seconds: int,
    photo_file: str,
    frame: bytes,
    parts: tuple[str, ...] = PARTS,
    connections: int = 16,
) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix=f"tryon-bench-{mode}-")
    env = {
        "TRYON_DATA_DIR": data_dir,
        "TRYON_RATE_LIMIT_PER_KEY": "100000000",
        "TRYON_RATE_LIMIT_PER_IP": "100000000",
        "TRYON_WS_MAX_PER_IP": "64",  # every benchmark session comes from 127.0.0.1
    }
    stack: Any = postgres_database() if mode == "scaleout" else None
    try:
        if stack is not None:
            env["TRYON_DATABASE_URL"] = stack.__enter__()
            env["TRYON_REDIS_URL"] = REDIS
            env["TRYON_REDIS_PREFIX"] = f"tryon_bench_{uuid.uuid4().hex[:8]}:"
        with gateway(env) as (url, pid, full_env):
            keys = set_up_shop(url, full_env)
            widget_headers = {"Authorization": f"Bearer {keys['pk']}", "Origin": ORIGIN}
            out: dict[str, Any] = {"mode": mode}
            out["healthz"] = wrk(
                url + "/healthz", seconds=seconds, connections=connections, server_pid=pid
            )
            if "config" in parts:
                out["widget_config"] = wrk(
                    url + "/v1/widget/config?product=round-black",
                    seconds=seconds,
                    connections=connections,
                    headers=widget_headers,
                    server_pid=pid,
                )
            if "photo" in parts:
                for name, n in (("photo_tryon_1conn", 1), ("photo_tryon_16conn", 16)):
                    out[name] = wrk(
                        url + "/v1/widget/tryon?product=round-black",
                        seconds=seconds,
                        connections=n,
                        method="POST",
                        headers={
                            **widget_headers,
                            "Content-Type": "image/jpeg",
                            "Accept": "image/jpeg",
                        },
                        body_file=photo_file,
                        server_pid=pid,
                    )
            if "live" in parts:
                out["live"] = []
                for n in LIVE_SESSIONS:
                    cpu_before = cpu_seconds(pid)
                    live = asyncio.run(live_sessions(url, keys["pk"], n, seconds, frame))
                    frames = live.pop("frames")
                    live["server_cpu_ms_per_frame"] = round(
                        (cpu_seconds(pid) - cpu_before) * 1000 / max(1, frames), 2
                    )
                    out["live"].append(live)
            out["server_memory"] = rss_mb(pid)
        return out
    finally:
        if stack is not None:
            stack.__exit__(None, None, None)
            client = Redis.from_url(REDIS)
            for key in client.scan_iter(match=env["TRYON_REDIS_PREFIX"] + "*"):
                client.delete(key)
            client.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each measurement")
    parser.add_argument("--modes", default="embedded,scaleout")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="what to measure besides /healthz: config (widget configuration), photo "
        "(photo try-on), live (live try-on)",
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections for /healthz and config"
    )
    args = parser.parse_args()
    parts = tuple(p for p in args.parts.split(",") if p)
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        print("wrk is missing: run 'make bench-gateway' (it installs it)", file=sys.stderr)
        return 2
    frame = selfie()
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
        f.write(frame)
        photo_file = f.name
    print(
        f"# gateway benchmark, {os.cpu_count()} CPUs, {args.seconds} s per figure, "
        f"{args.connections} connections (loopback); parts: {', '.join(parts)}"
    )
    reference: dict[str, Any] = {}
    if "photo" in parts or "live" in parts:
        reference = references(frame, min(args.seconds, 5))
        print(f"reference (in-process, no HTTP): {json.dumps(reference)}")
    failed = False
    try:
        for mode in args.modes.split(","):
            result = run_mode(
                mode, args.seconds, photo_file, frame, parts, connections=args.connections
            )
            print(f"\n## {mode}")
            floor = result["healthz"]["rps"]
            for name in ("healthz", "widget_config", "photo_tryon_1conn", "photo_tryon_16conn"):
                if name not in result:
                    continue
                r = result[name]
                print(
                    f"{name:22} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms  "
                    f"p95 {r['p95_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  "
                    f"errors {r['error_rate']:.2%}  server CPU "
                    f"{r['server_cpu_ms_per_request']:.3f} ms/request"
                )
                failed |= r["error_rate"] > MAX_ERROR_RATE
            if "widget_config" in result:
                config = result["widget_config"]
                cpu = config["server_cpu_ms_per_request"]
                floor_cpu = result["healthz"]["server_cpu_ms_per_request"]
                print(
                    f"ratio: config/healthz throughput {config['rps'] / floor:.2f}; "
                    f"config/healthz server CPU per request {cpu / floor_cpu:.2f} "
                    f"({1000 / cpu:.0f} configs/s per core of server CPU)"
                )
            if "photo_tryon_1conn" in result:
                one, many = result["photo_tryon_1conn"], result["photo_tryon_16conn"]
                print(
                    "photo, 1 connection: p50 through the gateway - in-process pipeline p50 "
                    f"(decode, render, encode) = {one['p50_ms'] - reference['pipeline_p50_ms']:.1f}"
                    f" ms (ratio {one['p50_ms'] / reference['pipeline_p50_ms']:.2f})"
                )
                print(
                    "photo, 16 connections: in-process pipeline on two threads / gateway "
                    f"throughput = {reference['pipeline_per_s_two_threads'] / many['rps']:.2f}x"
                )
            for live in result.get("live", []):
                ratio = live["fps_per_session_mean"] / reference["live_fps_one_session"]
                print(
                    f"live x{live['sessions']:<3} {live['fps_per_session_mean']:6.2f} FPS per "
                    f"session (min {live['fps_per_session_min']:.2f}, "
                    f"total {live['fps_total']:.2f}, {live['frames_lost']} lost, server CPU "
                    f"{live['server_cpu_ms_per_frame']} ms/frame), "
                    f"frame latency p50 {live['latency_p50_ms']} ms p95 {live['latency_p95_ms']}"
                    f" ms; ratio to one in-process session {ratio:.2f}"
                )
            mem = result["server_memory"]
            print(f"server memory: {mem['rss_mb']} MB RSS, peak {mem['peak_rss_mb']} MB")
            print("json: " + json.dumps(result))
    finally:
        os.unlink(photo_file)
    if failed:
        print(f"error rate above {MAX_ERROR_RATE:.0%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
