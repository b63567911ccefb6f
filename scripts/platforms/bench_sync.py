"""Benchmark: Shopify catalog sync throughput (products per second) against the fake Shopify.

Pages through a shop's whole catalog with the ``ShopifyAdapter`` (GraphQL Admin API, cursor
pagination, ``TRYON_SHOPIFY_PAGE_SIZE`` products a page) over the ``PlatformClient`` (the one
outbound client: retries, Shopify's cost throttle), on loopback, twice:

- unthrottled: the fake's cost bucket is effectively unlimited;
- throttled: Shopify's standard plan bucket (2,000 points, 100 points/s restore): the client
  must wait for the bucket, so the rate is bounded by restore rate / cost per product.

Real time, real sleeps (the throttled run takes about (products x cost - bucket) / rate
seconds). Prints one JSON line per run.

    .venv/bin/python scripts/platforms/bench_sync.py [--products 400] [--throttled-products 120]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import Connection
from gateway.platforms.shopify.adapter import ShopifyAdapter
from testkit.fakes.shopify import FakeShopify

KEY, SECRET = "bench-key", "bench-secret-" + "0" * 40
SHOP = "bench-shop.myshopify.com"


def run(*, products: int, page_size: int, bucket: tuple[float, float] | None) -> dict[str, object]:
    with FakeShopify(KEY, SECRET) as fake:
        fake.add_shop(SHOP)
        image = fake.add_image("p.png")
        for i in range(products):
            fake.add_product(
                SHOP,
                title=f"Frame {i}",
                product_type="Sunglasses",
                tags=("summer", "metal"),
                collections=("eyewear",),
                images=(image,),
                variants=[
                    {"title": c, "sku": f"F{i}-{c}", "price": "125.00", "options": {"Color": c}}
                    for c in ("Gold", "Silver", "Black")
                ],
            )
        if bucket is None:
            fake.set_bucket(SHOP, maximum=1e12, available=1e12, restore_rate=1e12)
        else:
            fake.set_bucket(SHOP, maximum=bucket[0], available=bucket[0], restore_rate=bucket[1])
        connection = Connection(shop=SHOP, access_token=fake.issue_token(SHOP))
        adapter = ShopifyAdapter(
            api_key=KEY, api_secret=SECRET, api_version="2025-10", page_size=page_size
        )
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        seen, pages, cursor = 0, 0, None
        started = time.perf_counter()
        with PlatformClient(base_url=fake.base_url, sleep=sleep, platform="shopify") as client:
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
        throttled = sum(1 for r in fake.requests if r.path.endswith("graphql.json")) - pages
    assert seen == products, (seen, products)
    return {
        "run": "throttled" if bucket else "unthrottled",
        "bucket": {"maximum": bucket[0], "restore_rate": bucket[1]} if bucket else None,
        "products": seen,
        "pages": pages,
        "page_size": page_size,
        "seconds": round(elapsed, 2),
        "products_per_s": round(seen / elapsed, 1),
        "client_waits": len(waits),
        "waited_s": round(sum(waits), 2),
        "throttled_answers": throttled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--throttled-products", type=int, default=120)
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--bucket", type=float, default=2000.0)
    parser.add_argument("--restore-rate", type=float, default=100.0)
    args = parser.parse_args()
    print(json.dumps(run(products=args.products, page_size=args.page_size, bucket=None)))
    print(
        json.dumps(
            run(
                products=args.throttled_products,
                page_size=args.page_size,
                bucket=(args.bucket, args.restore_rate),
            )
        )
    )


if __name__ == "__main__":
    main()
