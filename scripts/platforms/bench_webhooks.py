"""Benchmark: how fast the gateway answers store webhooks (wrk on loopback).

Starts a real gateway process (uvicorn, one worker process, like ``tryon serve``) with a
Shopify app configured and one installed shop, and drives ``POST /platforms/shopify/webhooks``
with wrk: every request is a correctly signed ``orders/create`` delivery with its own webhook
id (so each one is verified, deduplicated in the database and committed as a job). The job
worker is off (``TRYON_PLATFORM_WORKER=false``): this measures the answer path alone, which
is what the platform waits on. Prints p50/p95/p99, throughput, errors, the jobs stored and
the server's resident memory, as one JSON line.

    .venv/bin/python scripts/platforms/bench_webhooks.py [--duration 10] [--connections 16]
        [--postgres]   (default: SQLite in a temp dir)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from gateway.db import migrate  # noqa: E402
from gateway.db.session import session_scope  # noqa: E402
from gateway.platforms import installs  # noqa: E402
from gateway.platforms.models import PlatformJob  # noqa: E402
from gateway.platforms.protocol import InstallGrant, Tokens  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402
from gateway.stores.models import Platform  # noqa: E402

KEY, SECRET = "bench-key", "bench-secret-" + "x" * 40
SHOP = "bench-shop.myshopify.com"
PORT = 8252
SECRET_KEY = "bench-" + "s" * 48

LUA = r"""
local counter = 0
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
init = function(args)
  prefix = args[1] .. "-" .. tid .. "-"
end
request = function()
  counter = counter + 1
  wrk.headers["X-Shopify-Webhook-Id"] = prefix .. counter
  return wrk.format("POST")
end
done = function(summary, latency, requests)
  io.write(string.format("P50 %d\nP95 %d\nP99 %d\nREQUESTS %d\nNON2XX %d\nERRORS %d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def order_body() -> bytes:
    return json.dumps(
        {
            "id": 450789469,
            "name": "#1001",
            "currency": "EUR",
            "total_price": "120.00",
            "created_at": "2026-12-07T10:00:00+00:00",
            "note_attributes": [{"name": "_tryon_widget_session", "value": "widget-session-1"}],
            "line_items": [
                {
                    "product_id": 632910392,
                    "variant_id": 808950810,
                    "quantity": 1,
                    "price": "120.00",
                    "properties": [{"name": "_tryon_session", "value": "tryon-session-1"}],
                }
            ],
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--postgres", action="store_true", help="A throwaway database on the local PostgreSQL"
    )
    args = parser.parse_args()
    if args.postgres:
        from tests.support.services import postgres_database  # noqa: PLC0415

        with postgres_database("tryon_bench") as url:
            bench(args, url)
    else:
        bench(args, None)


def bench(args: argparse.Namespace, database_url: str | None) -> None:
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed (apt-get install -y wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    url = database_url or f"sqlite:///{tmp / 'tryon.db'}"
    migrate.upgrade(url)
    settings = GatewaySettings(env="test", secret_key=SECRET_KEY, data_dir=tmp, database_url=url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        existing = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=SHOP)
        if existing is None:
            installs.complete_install(
                session=session,
                settings=settings,
                platform=Platform.SHOPIFY,
                grant=InstallGrant(shop=SHOP, tokens=Tokens(access_token="t", scopes=())),
            )
        jobs_before = session.scalar(select(func.count()).select_from(PlatformJob)) or 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
    env.update(
        TRYON_ENV="test",
        TRYON_SECRET_KEY=SECRET_KEY,
        TRYON_DATA_DIR=str(tmp),
        TRYON_DATABASE_URL=url,
        TRYON_PORT=str(PORT),
        TRYON_SHOPIFY_API_KEY=KEY,
        TRYON_SHOPIFY_API_SECRET=SECRET,
        TRYON_PLATFORM_WORKER="false",
        TRYON_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(PORT), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("error: the gateway did not start")
            time.sleep(0.2)
        body = order_body()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        script = tmp / "webhook.lua"
        script.write_text(
            f"wrk.method = 'POST'\nwrk.body = {json.dumps(body.decode())}\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
            f"wrk.headers['X-Shopify-Hmac-Sha256'] = '{signature.decode()}'\n"
            "wrk.headers['X-Shopify-Topic'] = 'orders/create'\n"
            f"wrk.headers['X-Shopify-Shop-Domain'] = '{SHOP}'\n"
            "wrk.headers['X-Shopify-API-Version'] = '2025-10'\n" + LUA
        )
        run_id = str(int(time.time() * 1000))
        out = subprocess.run(
            ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
             "--timeout", "5s", "-s", str(script),
             f"http://127.0.0.1:{PORT}/platforms/shopify/webhooks", "--", run_id],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        status = Path(f"/proc/{server.pid}/status").read_text()
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.wait(20)
    figures = dict(re.findall(r"^(P50|P95|P99|REQUESTS|NON2XX|ERRORS) (\d+)$", out, re.M))
    with session_scope(engine) as session:
        jobs_after = session.scalar(select(func.count()).select_from(PlatformJob)) or 0
    requests = int(figures["REQUESTS"])
    print(
        json.dumps(
            {
                "bench": "webhook intake (orders/create, signed, unique ids)",
                "database": "postgresql" if url.startswith("postgresql") else "sqlite",
                "connections": args.connections,
                "duration_s": args.duration,
                "requests": requests,
                "throughput_rps": round(requests / args.duration, 1),
                "p50_ms": round(int(figures["P50"]) / 1000, 2),
                "p95_ms": round(int(figures["P95"]) / 1000, 2),
                "p99_ms": round(int(figures["P99"]) / 1000, 2),
                "non_2xx": int(figures["NON2XX"]),
                "socket_errors": int(figures["ERRORS"]),
                "jobs_stored": jobs_after - jobs_before,
                "server_rss_mib": round(rss_kb / 1024, 1),
            }
        )
    )
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
