"""Benchmark: BigCommerce hook answer latency and catalog sync throughput, on loopback.

1. Hooks: a gateway process (``uvicorn``, one worker, SQLite in a temp dir or ``--postgres``;
   the job worker off, so only the answer is timed) on 127.0.0.1:PORT with one installed
   store, driven by wrk (as ``bench-webhooks`` drives Shopify's): every request is a distinct
   light ``store/order/created`` payload with the store's secret header, so each is checked,
   deduplicated and committed as a job. Prints p50/p95/p99, throughput, errors, jobs stored.
2. Sync: ``BigCommerceAdapter.fetch_catalog_page`` over the ``PlatformClient`` against the fake
   BigCommerce (v3 catalog, ``include=variants,images``, ``--page-size`` a page), unthrottled
   and with a 429 (``X-Rate-Limit-Time-Reset-Ms: 250``) on every fifth catalog call, real
   sleeps. Products per second (fetch and parse; images and assets are not part of it).

    .venv/bin/python scripts/platforms/bench_bigcommerce.py [--port 8290] [--duration 10]
        [--connections 16] [--postgres] [--products 500]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from sqlalchemy import create_engine, func, select

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.platforms import installs
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, BigCommerceAdapter, hook_secret
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import PlatformJob
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform
from testkit.fakes.bigcommerce import FakeBigCommerce

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, SECRET = "bench-client", "bench-secret-" + "0" * 40
STORE_HASH = "bench1"
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
  created = tonumber(args[2])
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"scope":"store/order/created","store_id":"1000001","producer":"stores/%s",' ..
    '"data":{"type":"order","id":%d},"hash":"%s%d","created_at":%d}',
    STORE_HASH, counter, prefix, counter, created)
  return wrk.format("POST", nil, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("P50 %d\nP95 %d\nP99 %d\nREQUESTS %d\nNON2XX %d\nERRORS %d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def bench_hooks(
    *, port: int, duration: int, connections: int, threads: int, database_url: str | None
) -> dict[str, object]:
    """wrk against a ``uvicorn`` gateway process, each request a distinct light hook."""
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed (make wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-bigcommerce-"))
    url = database_url or f"sqlite:///{tmp / 'tryon.db'}"
    migrate.upgrade(url)
    settings = GatewaySettings(env="test", secret_key=SECRET_KEY, data_dir=tmp, database_url=url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.BIGCOMMERCE,
            grant=InstallGrant(
                shop=f"store-{STORE_HASH}.mybigcommerce.com",
                tokens=Tokens(access_token="t", scopes=()),
                extra={"store_hash": STORE_HASH},
            ),
        )
        jobs_before = session.scalar(select(func.count()).select_from(PlatformJob)) or 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
    env.update(
        TRYON_ENV="test",
        TRYON_SECRET_KEY=SECRET_KEY,
        TRYON_DATA_DIR=str(tmp),
        TRYON_DATABASE_URL=url,
        TRYON_PORT=str(port),
        TRYON_BIGCOMMERCE_CLIENT_ID=CLIENT_ID,
        TRYON_BIGCOMMERCE_CLIENT_SECRET=SECRET,
        TRYON_PLATFORM_WORKER="false",
        TRYON_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "gateway.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("error: the gateway did not start")
            time.sleep(0.2)
        script = tmp / "hook.lua"
        script.write_text(
            f"STORE_HASH = '{STORE_HASH}'\nwrk.method = 'POST'\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
            f"wrk.headers['{HOOK_HEADER}'] = "
            f"'{hook_secret(client_secret=SECRET, store_hash=STORE_HASH)}'\n" + LUA
        )
        run_id = str(int(time.time() * 1000))
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
             "-s", str(script), f"http://127.0.0.1:{port}/platforms/bigcommerce/webhooks",
             "--", run_id, str(int(time.time()))],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        server.terminate()
        server.wait(20)
    figures = dict(re.findall(r"^(P50|P95|P99|REQUESTS|NON2XX|ERRORS) (\d+)$", out, re.M))
    with session_scope(engine) as session:
        jobs_after = session.scalar(select(func.count()).select_from(PlatformJob)) or 0
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    requests = int(figures["REQUESTS"])
    return {
        "run": "hooks (store/order/created, distinct, secret header)",
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "connections": connections,
        "duration_s": duration,
        "requests": requests,
        "throughput_rps": round(requests / duration, 1),
        "p50_ms": round(int(figures["P50"]) / 1000, 2),
        "p95_ms": round(int(figures["P95"]) / 1000, 2),
        "p99_ms": round(int(figures["P99"]) / 1000, 2),
        "non_2xx": int(figures["NON2XX"]),
        "socket_errors": int(figures["ERRORS"]),
        "jobs_stored": jobs_after - jobs_before,
    }


def bench_sync(*, products: int, page_size: int, throttled: bool) -> dict[str, object]:
    with FakeBigCommerce(CLIENT_ID, SECRET, redirect_uri="https://x") as fake:
        fake.add_store(STORE_HASH)
        category = fake.add_category(STORE_HASH, "Sunglasses")
        image = fake.add_image("p.png")
        for i in range(products):
            fake.add_product(
                STORE_HASH,
                name=f"Frame {i}",
                categories=[category],
                images=[image],
                variants=[
                    {"sku": f"F{i}-{c}", "price": 125, "options": {"Color": c}}
                    for c in ("Gold", "Silver", "Black")
                ],
            )
        pages_expected = -(-products // page_size)
        if throttled:
            fake.inject(
                "/v3/catalog/products",
                status=429,
                headers={"X-Rate-Limit-Time-Reset-Ms": "250"},
                times=max(1, pages_expected // 5),
            )
        connection = Connection(
            shop=f"store-{STORE_HASH}.mybigcommerce.com",
            access_token=fake.issue_token(STORE_HASH),
            extra={"store_hash": STORE_HASH},
        )
        adapter = BigCommerceAdapter(client_id=CLIENT_ID, client_secret=SECRET, page_size=page_size)
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        seen, pages, cursor = 0, 0, None
        started = time.perf_counter()
        with PlatformClient(
            base_url=fake.base_url, sleep=sleep, max_attempts=10, platform="bigcommerce"
        ) as client:
            while True:
                page = adapter.fetch_catalog_page(
                    client=client, connection=connection, cursor=cursor
                )
                seen += len(page.products)
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
        elapsed = time.perf_counter() - started
    assert seen == products, (seen, products)
    return {
        "run": "sync-throttled" if throttled else "sync",
        "products": seen,
        "pages": pages,
        "page_size": page_size,
        "seconds": round(elapsed, 2),
        "products_per_s": round(seen / elapsed, 1),
        "rate_limited_waits": len(waits),
        "waited_s": round(sum(waits), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8290)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="A throwaway local database")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()
    hooks = {
        "port": args.port,
        "duration": args.duration,
        "connections": args.connections,
        "threads": args.threads,
    }
    if args.postgres:
        from testkit.postgres import throwaway_database  # noqa: PLC0415

        with throwaway_database("tryon_bench_bc") as url:
            print(json.dumps(bench_hooks(**hooks, database_url=url)))
    else:
        print(json.dumps(bench_hooks(**hooks, database_url=None)))
    for throttled in (False, True):
        print(
            json.dumps(
                bench_sync(products=args.products, page_size=args.page_size, throttled=throttled)
            )
        )


if __name__ == "__main__":
    main()
