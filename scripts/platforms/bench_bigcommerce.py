"""Benchmark: BigCommerce hook answer latency and catalog sync throughput, on loopback.

1. Hooks: the gateway (``uvicorn``, embedded mode, SQLite in a temp dir unless
   ``--database-url``; worker off, so only the answer is timed) on 127.0.0.1:PORT with one
   installed store; ``--threads`` clients POST ``--hooks`` distinct signed light payloads
   (``store/order/created``) to ``/platforms/bigcommerce/webhooks``. Each answer is the whole
   intake: the per-store secret check, dedupe, the durable job row committed. Prints p50, p95,
   p99 and answers per second.
2. Sync: ``BigCommerceAdapter.fetch_catalog_page`` over the ``PlatformClient`` against the fake
   BigCommerce (v3 catalog, ``include=variants,images``, ``--page-size`` a page), unthrottled
   and with a 429 (``X-Rate-Limit-Time-Reset-Ms: 250``) on every fifth catalog call, real
   sleeps. Products per second (fetch and parse; images and assets are not part of it).

    .venv/bin/python scripts/platforms/bench_bigcommerce.py [--port 8290] [--hooks 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import uvicorn

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.main import create_app
from gateway.platforms import installs
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, BigCommerceAdapter, hook_secret
from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import Connection, InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform
from tests.support.fakes.bigcommerce import FakeBigCommerce

CLIENT_ID, SECRET = "bench-client", "bench-secret-" + "0" * 40
STORE_HASH = "bench1"


def bench_hooks(
    *, port: int, hooks: int, threads: int, database_url: str | None
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        settings = GatewaySettings(
            env="test",
            secret_key="bench-" + "x" * 40,
            data_dir=Path(tmp) / "var",
            database_url=url,
            bigcommerce_client_id=CLIENT_ID,
            bigcommerce_client_secret=SECRET,
            public_url=f"http://127.0.0.1:{port}",
            platform_worker=False,
            log_level="WARNING",
        )
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not start")
            time.sleep(0.05)
        try:
            with session_scope(app.state.engine) as session:
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
            fake = FakeBigCommerce(CLIENT_ID, SECRET, redirect_uri="https://x")
            fake.add_store(STORE_HASH)
            headers = {
                "Content-Type": "application/json",
                HOOK_HEADER: hook_secret(client_secret=SECRET, store_hash=STORE_HASH),
            }
            bodies = [
                fake.hook_body(STORE_HASH, "store/order/created", 1000 + i) for i in range(hooks)
            ]
            target = f"http://127.0.0.1:{port}/platforms/bigcommerce/webhooks"
            local = threading.local()

            def post(body: bytes) -> tuple[float, int]:
                client = getattr(local, "client", None)
                if client is None:
                    client = local.client = httpx.Client(timeout=30)
                started = time.perf_counter()
                status = client.post(target, content=body, headers=headers).status_code
                return (time.perf_counter() - started) * 1000, status

            for body in bodies[:10]:  # warm-up (also counted as distinct deliveries)
                post(body)
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(post, bodies[10:]))
            elapsed = time.perf_counter() - started
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.engine.dispose()
    latencies = sorted(ms for ms, _ in results)
    errors = sum(1 for _, status in results if status != 200)
    q = statistics.quantiles(latencies, n=100)
    return {
        "run": "hooks",
        "database": "postgresql" if database_url else "sqlite",
        "hooks": len(results),
        "threads": threads,
        "errors": errors,
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "answers_per_s": round(len(results) / elapsed, 1),
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
        with PlatformClient(base_url=fake.base_url, sleep=sleep, max_attempts=10) as client:
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
    parser.add_argument("--hooks", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=50)
    args = parser.parse_args()
    print(
        json.dumps(
            bench_hooks(
                port=args.port,
                hooks=args.hooks,
                threads=args.threads,
                database_url=args.database_url,
            )
        )
    )
    for throttled in (False, True):
        print(
            json.dumps(
                bench_sync(products=args.products, page_size=args.page_size, throttled=throttled)
            )
        )


if __name__ == "__main__":
    main()
