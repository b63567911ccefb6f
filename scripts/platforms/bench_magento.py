"""Benchmark: Magento order post answers and REST catalog sync, against BigCommerce's in the
same run as the reference.

1. Posts: one gateway app in-process (SQLite in a temp dir, the job worker off, so only the
   answer is timed), one Magento and one BigCommerce store installed. ``--posts`` distinct
   signed Magento order posts (``POST /platforms/magento/orders``: store lookup, decrypt the
   consumer secret, HMAC check, order read, dedupe, commit) and as many distinct BigCommerce
   light hooks (``POST /platforms/bigcommerce/webhooks``: the reference), interleaved. Prints
   p50/p95 per route, throughput, the ratio to the reference, and the process's max RSS.
2. Sync: ``MagentoAdapter.fetch_catalog_page`` over the ``PlatformClient`` against the fake
   Magento (OAuth 1.0a checked by oauthlib on every call; products, storeConfigs, categories
   and configurable children per page) and ``BigCommerceAdapter.fetch_catalog_page`` against
   the fake BigCommerce, ``--products`` products each, 50 a page. Products per second (fetch
   and parse; images and assets are not part of it) and the ratio.

    .venv/bin/python scripts/platforms/bench_magento.py [--posts 400] [--products 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fastapi.testclient import TestClient

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.main import create_app
from gateway.platforms import crypto, installs
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, BigCommerceAdapter, hook_secret
from gateway.platforms.http import PlatformClient
from gateway.platforms.magento import oauth, signing
from gateway.platforms.magento.adapter import (
    CONSUMER_KEY,
    STORE_BASE_URL,
    MagentoAdapter,
    pack_secrets,
)
from gateway.platforms.protocol import CatalogPage, Connection, InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform
from testkit.fakes.bigcommerce import FakeBigCommerce
from testkit.fakes.magento import FakeMagento

HOST = "bench-magento.example"
STORE_HASH = "bench1"
BC_SECRET = "bench-secret-" + "0" * 40
CONSUMER, CONSUMER_SECRET = "c" * 32, "s" * 32


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def bench_posts(posts: int, tmp: Path) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(url)
    settings = GatewaySettings(
        env="test",
        secret_key="bench-" + "k" * 48,
        data_dir=tmp / "var",
        database_url=url,
        platform_worker=False,
        bigcommerce_client_id="bench-client",
        bigcommerce_client_secret=BC_SECRET,
        log_level="WARNING",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        with session_scope(app.state.engine) as session:
            store = installs.complete_install(
                session=session,
                settings=settings,
                platform=Platform.MAGENTO,
                grant=InstallGrant(
                    shop=HOST,
                    tokens=Tokens(access_token="t" * 32, scopes=()),
                    extra={STORE_BASE_URL: f"https://{HOST}", CONSUMER_KEY: CONSUMER},
                ),
            )
            store.secret_encrypted = crypto.encrypt(
                settings, pack_secrets(consumer_secret=CONSUMER_SECRET, token_secret="x" * 32)
            )
            installs.complete_install(
                session=session,
                settings=settings,
                platform=Platform.BIGCOMMERCE,
                grant=InstallGrant(
                    shop=f"store-{STORE_HASH}.mybigcommerce.com",
                    tokens=Tokens(access_token="b" * 32, scopes=()),
                    extra={"store_hash": STORE_HASH},
                ),
            )
        hook = hook_secret(client_secret=BC_SECRET, store_hash=STORE_HASH)
        timings: dict[str, list[float]] = {"magento": [], "bigcommerce": []}

        def magento(n: int) -> int:
            order = {
                "entity_id": n,
                "increment_id": f"{n:09d}",
                "state": "new",
                "grand_total": 125.5,
                "order_currency_code": "EUR",
                "items": [{"item_id": n, "product_id": 7, "qty_ordered": 1, "price": 125.5}],
            }
            body = json.dumps({"order": order}).encode()
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Tryon-Magento-Shop": HOST,
                "X-Tryon-Magento-Consumer": CONSUMER,
                "X-Tryon-Magento-Timestamp": stamp,
                "X-Tryon-Magento-Signature": signing.signature(
                    CONSUMER_SECRET, timestamp=stamp, shop=HOST, consumer_key=CONSUMER, body=body
                ),
            }
            return client.post(
                "/platforms/magento/orders", content=body, headers=headers
            ).status_code

        def bigcommerce(n: int) -> int:
            body = json.dumps(
                {
                    "scope": "store/order/created",
                    "store_id": "1",
                    "producer": f"stores/{STORE_HASH}",
                    "data": {"type": "order", "id": n},
                    "hash": f"h{n}",
                    "created_at": int(time.time()),
                }
            ).encode()
            headers = {"Content-Type": "application/json", HOOK_HEADER: hook}
            return client.post(
                "/platforms/bigcommerce/webhooks", content=body, headers=headers
            ).status_code

        runs: dict[str, Callable[[int], int]] = {"magento": magento, "bigcommerce": bigcommerce}
        errors = 0
        for n in range(1, posts + 11):
            for name, run in runs.items():
                started = time.perf_counter()
                status = run(n)
                elapsed = time.perf_counter() - started
                if n > 10:  # warm-up
                    timings[name].append(elapsed)
                    errors += status != 200
    app.state.engine.dispose()
    out: dict[str, Any] = {"errors": errors}
    for name, samples in timings.items():
        p50, p95 = _percentiles(samples)
        out[name] = {
            "p50_ms": p50 * 1000,
            "p95_ms": p95 * 1000,
            "per_s": len(samples) / sum(samples),
        }
    return out


def _drain(fetch: Callable[[str | None], CatalogPage]) -> tuple[int, float]:
    started = time.perf_counter()
    cursor: str | None = None
    count = 0
    while True:
        page = fetch(cursor)
        count += len(page.products)
        cursor = page.next_cursor
        if cursor is None:
            return count, time.perf_counter() - started


def bench_sync(products: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with (
        FakeMagento() as fake,
        PlatformClient(base_url=fake.base_url, max_attempts=1, platform="magento") as client,
    ):
        integration = fake.create_integration(HOST)
        category = fake.add_category(HOST, "Sunglasses")
        for n in range(products):
            children = [{"name": f"P{n} S", "sku": f"P{n}-S"}] if n % 5 == 0 else []
            fake.add_product(HOST, name=f"Product {n}", categories=[category], children=children)
        base = f"https://{HOST}"
        requested = oauth.request_token(client, base, oauth.Credentials(*integration[:2]))
        granted = oauth.access_token(client, base, requested, verifier=integration[2])
        connection = Connection(
            shop=HOST,
            access_token=granted.token or "",
            extra={STORE_BASE_URL: base, CONSUMER_KEY: integration[0]},
            secret=pack_secrets(
                consumer_secret=integration[1], token_secret=granted.token_secret or ""
            ),
        )
        adapter = MagentoAdapter(page_size=50)
        seen, took = _drain(
            lambda c: adapter.fetch_catalog_page(client=client, connection=connection, cursor=c)
        )
        out["magento"] = {"products": seen, "seconds": took, "per_s": seen / took}
    with FakeBigCommerce("bench-client", BC_SECRET, redirect_uri="https://x/auth") as fake_bc:
        fake_bc.add_store(STORE_HASH)
        category_id = fake_bc.add_category(STORE_HASH, "Sunglasses")
        for n in range(products):
            fake_bc.add_product(STORE_HASH, name=f"Product {n}", categories=[category_id])
        with PlatformClient(
            base_url=fake_bc.base_url, max_attempts=1, platform="bigcommerce"
        ) as client:
            code = fake_bc.install_code(STORE_HASH, scope="store_v2_products_read_only")
            token = (
                BigCommerceAdapter(client_id="bench-client", client_secret=BC_SECRET)
                .exchange_code(
                    client=client,
                    code=code,
                    scope="store_v2_products_read_only",
                    context=f"stores/{STORE_HASH}",
                    redirect_uri="https://x/auth",
                )
                .access_token
            )
            bc = BigCommerceAdapter(client_id="bench-client", client_secret=BC_SECRET, page_size=50)
            bc_connection = Connection(
                shop=f"store-{STORE_HASH}.mybigcommerce.com",
                access_token=token,
                extra={"store_hash": STORE_HASH},
            )
            seen, took = _drain(
                lambda c: bc.fetch_catalog_page(client=client, connection=bc_connection, cursor=c)
            )
            out["bigcommerce"] = {"products": seen, "seconds": took, "per_s": seen / took}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--products", type=int, default=300)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        posts = bench_posts(args.posts, Path(tmp))
    sync = bench_sync(args.products)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m, b = posts["magento"], posts["bigcommerce"]
    print(f"order posts ({args.posts} each, in-process ASGI, SQLite), errors {posts['errors']}:")
    for label, row in (("magento orders   ", m), ("bigcommerce hooks", b)):
        print(
            f"  {label} p50 {row['p50_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms"
            f"  {row['per_s']:.0f}/s"
        )
    p50_ratio, p95_ratio = m["p50_ms"] / b["p50_ms"], m["p95_ms"] / b["p95_ms"]
    print(f"  ratio magento/reference p50 {p50_ratio:.2f}, p95 {p95_ratio:.2f}")
    sm, sb = sync["magento"], sync["bigcommerce"]
    print(f"catalog sync ({args.products} products, 50 a page, loopback fakes):")
    print(f"  magento REST      {sm['per_s']:.0f} products/s ({sm['seconds']:.2f} s)")
    print(f"  bigcommerce v3    {sb['per_s']:.0f} products/s ({sb['seconds']:.2f} s)")
    print(f"  ratio magento/reference {sm['per_s'] / sb['per_s']:.2f}")
    print(f"max RSS {rss_mb:.0f} MiB")
    return 0 if posts["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
