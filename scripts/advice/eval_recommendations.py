"""Offline evaluation of recommendations (``make eval-recommendations``).

1. **Quality** on generated interaction logs with known structure. A shop of eyewear and hats
   in ``STYLES`` latent styles: a product's frame shape, colour, width, price and tags are
   drawn from its style's preferences (with noise), and each eyewear style goes with one hat
   style. Shoppers have a style; a visit tries 2-5 products, mostly of that style (popular
   ones more often, a Zipf law), sometimes a hat of the matching style, sometimes anything
   popular; over the 180 days each style's favourites change (a "season"), so recent visits
   tell more. One eyewear product in seven is new (launched 25 days before the end, featured
   from then on: few training visits, the cold start). 5 % of products are sold out. The
   last 20 days are the test: in each test visit
   with two or more products the first is the query and the others (in stock) are what a good
   recommender puts first. Hit rate at 5 (a wanted product in the top 5) and NDCG at 10
   (binary relevance) for: popularity (the most tried products of the training days),
   content only, co-occurrence only (half-life 30 days, minimum support 2), and the blend
   (the production scoring), plus variants (blend weights, no decay, minimum supports).
2. **Latency** of ``GET /v1/widget/recommendations`` through the whole app in process
   (Starlette's TestClient: routing, key, origin, limits, JSON; no network) on a shop of
   ``--products`` products with the generated logs in its warehouse: cached (catalog and
   co-occurrence held), the catalog read on every call, and nothing cached (a merchant's first
   call after a start: the catalog read, the co-occurrence read started in the background),
   plus the catalog and co-occurrence reads alone; the reference measured in the same run:
   ``GET /v1/widget/config`` of the same products (the read cache warm).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analytics.cooccurrence import Basket, cooccurrence  # noqa: E402
from gateway.recommendations.scoring import Item, content_similarity, recommend  # noqa: E402

STYLES = 6
SHAPES = ("round", "oval", "square", "rectangular", "cat-eye", "aviator")
COLOURS = ("black", "gold", "brown", "red", "blue", "grey", "green")
TAGS = tuple(f"tag{i}" for i in range(24))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 180
TEST_DAYS = 20
NEW_DAYS = 25
"""One eyewear product in seven is launched this many days before the end: five days of
them in the training logs, then featured (a cold start, where content has to help)."""


@dataclass(frozen=True, slots=True)
class World:
    items: list[Item]
    style_of: dict[str, int]
    visits: list[Basket]


def generate(seed: int, products: int, visits: int) -> World:
    rng = random.Random(seed)
    styles = []
    for _ in range(STYLES):
        styles.append(
            {
                "shape": rng.sample(SHAPES, 2),
                "colour": rng.sample(COLOURS, 2),
                "width": rng.uniform(128, 148),
                "price": rng.choice((79.0, 129.0, 189.0, 259.0)),
                "tags": rng.sample(TAGS, 4),
            }
        )
    items: list[Item] = []
    style_of: dict[str, int] = {}
    launched: dict[str, datetime] = {}
    for n in range(products):
        hat = n % 5 == 4
        s = n % STYLES
        st = styles[s]
        noisy = rng.random() < 0.25  # a product that does not look like its style
        shape = rng.choice(SHAPES) if noisy else rng.choice(st["shape"])
        colour = rng.choice(COLOURS) if noisy else rng.choice(st["colour"])
        tags = set(rng.sample(st["tags"], 2)) | {rng.choice(TAGS)}
        external = f"p{n:04d}"
        if not hat and n % 7 == 3:
            launched[external] = NOW - timedelta(days=NEW_DAYS)
        items.append(
            Item(
                id=uuid.UUID(int=n + 1),
                external_id=external,
                title=external,
                category="hat" if hat else "eyewear",
                image=None,
                has_asset=True,
                in_stock=rng.random() > 0.05,
                frame_shape=None if hat else shape,
                colours=frozenset({colour}),
                width_mm=None if hat else st["width"] + rng.gauss(0, 3),
                price=st["price"] * rng.uniform(0.85, 1.15),
                tags=frozenset(tags),
            )
        )
        style_of[external] = s
    by_style: dict[tuple[int, str], list[str]] = {}
    for item in items:
        by_style.setdefault((style_of[item.external_id], item.category), []).append(
            item.external_id
        )
    popular = [i.external_id for i in items]
    rng.shuffle(popular)
    out: list[Basket] = []
    for _ in range(visits):
        age = rng.uniform(0, DAYS)
        at = NOW - timedelta(days=age)
        s = rng.randrange(STYLES)
        season = int(age // 45)  # favourites change every 45 days
        own = [e for e in by_style[(s, "eyewear")] if launched.get(e, at) <= at]
        # New arrivals first (the shop features them), then the season's favourites.
        ranked = sorted(
            own, key=lambda e: (e not in launched, zlib.crc32(f"{e}:{season}:{seed}".encode()))
        )
        weights = [1 / (k + 1) for k in range(len(ranked))]
        picks: set[str] = set()
        for _ in range(rng.randint(2, 5)):
            r = rng.random()
            if r < 0.75:
                picks.add(rng.choices(ranked, weights)[0])
            elif r < 0.9:
                picks.add(rng.choice(by_style[((s + 1) % STYLES, "hat")]))
            else:
                picks.add(rng.choices(popular[:40])[0])
        out.append(Basket(frozenset(picks), at))
    return World(items, style_of, out)


def dcg(hits: Sequence[bool]) -> float:
    return sum(1 / math.log2(k + 2) for k, h in enumerate(hits) if h)


def evaluate(
    world: World,
    rank: Callable[[Item], list[str]],
    cases: list[tuple[Item, set[str]]],
) -> tuple[float, float]:
    hit5 = 0
    ndcg = 0.0
    for query, wanted in cases:
        ranked = rank(query)
        hit5 += any(r in wanted for r in ranked[:5])
        ideal = dcg([True] * min(len(wanted), 10))
        ndcg += dcg([r in wanted for r in ranked[:10]]) / ideal
    return hit5 / len(cases), ndcg / len(cases)


def quality(seed: int, products: int, visits: int) -> list[tuple[str, float, float]]:
    world = generate(seed, products, visits)
    by_id = {i.external_id: i for i in world.items}
    cutoff = NOW - timedelta(days=TEST_DAYS)
    train = [v for v in world.visits if v.at < cutoff]
    test = [v for v in world.visits if v.at >= cutoff]
    rng = random.Random(seed + 1)
    cases: list[tuple[Item, set[str]]] = []
    for visit in test:
        items = sorted(visit.products)
        rng.shuffle(items)
        if len(items) < 2:
            continue
        query = by_id[items[0]]
        wanted = {p for p in items[1:] if by_id[p].in_stock}
        if wanted:
            cases.append((query, wanted))
    counts = Counter(p for v in train for p in v.products)
    popular = [p for p, _ in counts.most_common() if by_id[p].in_stock]

    def popularity(query: Item) -> list[str]:
        return [p for p in popular if p != query.external_id][:10]

    def content(query: Item) -> list[str]:
        scored = [
            (content_similarity(query, i), i.external_id)
            for i in world.items
            if i.in_stock and i.id != query.id
        ]
        return [e for s, e in sorted(scored, key=lambda t: (-t[0], t[1]))[:10]]

    def neighbours(half_life: float, support: int) -> Callable[[Item], list[str]]:
        n = cooccurrence(train, now=cutoff, half_life_days=half_life, min_support=support)

        def rank(query: Item) -> list[str]:
            near = n.of(query.external_id)
            return [
                p for p, _ in sorted(near.items(), key=lambda t: (-t[1], t[0])) if by_id[p].in_stock
            ][:10]

        return rank

    def blend(
        weight: float, half_life: float = 30.0, support: int = 2
    ) -> Callable[[Item], list[str]]:
        n = cooccurrence(train, now=cutoff, half_life_days=half_life, min_support=support)

        def rank(query: Item) -> list[str]:
            found = recommend(
                query, world.items, n.of(query.external_id), limit=10, content_weight=weight
            )
            return [s.item.external_id for s in found]

        return rank

    rows = [
        ("popularity (most tried, training days)", *evaluate(world, popularity, cases)),
        ("content only", *evaluate(world, content, cases)),
        (
            "co-occurrence only (half-life 30 d, support 2)",
            *evaluate(world, neighbours(30, 2), cases),
        ),
        ("blend 0.4 content + 0.6 co-occurrence (production)", *evaluate(world, blend(0.4), cases)),
    ]
    for weight in (0.1, 0.2, 0.3, 0.6, 0.8):
        rows.append((f"blend, content weight {weight}", *evaluate(world, blend(weight), cases)))
    rows.append(("blend, no time decay", *evaluate(world, blend(0.4, half_life=0.0), cases)))
    for support in (1, 3):
        rows.append(
            (
                f"blend, minimum support {support}",
                *evaluate(world, blend(0.4, support=support), cases),
            )
        )
    print(
        f"quality: {len(world.items)} products ({sum(not i.in_stock for i in world.items)} sold "
        f"out), {len(train)} training visits, {len(cases)} test cases (last {TEST_DAYS} days), "
        f"seed {seed}"
    )
    return rows


def latency(seed: int, products: int, visits: int, calls: int) -> list[tuple[str, list[float]]]:
    """p50/p95 of the widget call, cached and not, and of the config call (reference)."""
    from fastapi.testclient import TestClient  # noqa: PLC0415
    from sqlalchemy import insert  # noqa: PLC0415

    from analytics.warehouse import tables as wt  # noqa: PLC0415
    from analytics.warehouse.migrate import ensure_schema  # noqa: PLC0415
    from gateway.assets.models import TryOnAsset  # noqa: PLC0415
    from gateway.db import migrate  # noqa: PLC0415
    from gateway.db.session import session_scope  # noqa: PLC0415
    from gateway.keys import service as merchants  # noqa: PLC0415
    from gateway.main import create_app  # noqa: PLC0415
    from gateway.products.models import Category, Product, ProductVariant  # noqa: PLC0415
    from gateway.settings import GatewaySettings  # noqa: PLC0415

    world = generate(seed, products, visits)
    tmp = Path(tempfile.mkdtemp(prefix="tryon-recs-bench-"))
    url = f"sqlite:///{tmp / 'gateway.db'}"
    migrate.upgrade(url)
    settings = GatewaySettings(
        env="test",
        secret_key=secrets.token_urlsafe(48),
        data_dir=tmp / "var",
        database_url=url,
        log_json=True,
        log_level="WARNING",
        rate_limit_per_key=10**6,
        rate_limit_per_ip=10**6,
    )
    lens = [[10, 10], [60, 10], [60, 50], [10, 50]]
    # The embedded warehouse follows the data dir: keep it in the temporary directory.
    os.environ["TRYON_DATA_DIR"] = str(tmp / "var")
    app = create_app(settings)
    origin = "https://shop.example"
    out: list[tuple[str, list[float]]] = []
    with TestClient(app) as client:
        with session_scope(app.state.engine) as session:
            m = merchants.create_merchant(session=session, name="Bench", allowed_origins=[origin])
            for item in world.items:
                product = Product(
                    merchant_id=m.merchant.id,
                    external_id=item.external_id,
                    title=item.title,
                    category=Category(item.category),
                    tags=sorted(item.tags),
                    variants=[
                        ProductVariant(
                            external_id=f"{item.external_id}-v",
                            title="v",
                            color=next(iter(item.colours)),
                            price_e4=int((item.price or 0) * 10_000),
                            in_stock=item.in_stock,
                        )
                    ],
                )
                session.add(product)
                session.flush()
                session.add(
                    TryOnAsset(
                        merchant_id=m.merchant.id,
                        product_id=product.id,
                        category=product.category,
                        content_hash=uuid.uuid4().hex,
                        storage_key="unused",
                        anchors={
                            "lenses": [lens, [[x + 100, y] for x, y in lens]],
                            "colour": [30, 30, 30],
                            "width_mm": item.width_mm,
                        },
                    )
                )
        warehouse = app.state.analytics.engine
        ensure_schema(str(warehouse.url))
        rows = []
        shift = datetime.now(UTC) - NOW  # the logs end today: the whole window is read
        for n, visit in enumerate(world.visits):
            for p in visit.products:
                rows.append(
                    {
                        "day": (visit.at + shift).date(),
                        "merchant_id": m.merchant.id,
                        "event_id": uuid.uuid4(),
                        "source": "widget",
                        "type": "tryon_rendered",
                        "occurred_at": visit.at + shift,
                        "client_occurred_at": visit.at + shift,
                        "received_at": visit.at + shift,
                        "widget_session_id": f"w-{n:08d}",
                        "product_id": p,
                    }
                )
        with warehouse.begin() as conn:
            conn.execute(insert(wt.fact_event), rows)
        headers = {"Authorization": f"Bearer {m.publishable_key}", "Origin": origin}
        rng = random.Random(seed)
        refs = [rng.choice(world.items).external_id for _ in range(calls)]
        recommender = None

        def timed(path: str, ref: str, before: Callable[[], None] | None = None) -> float:
            if before:
                before()
            started = time.perf_counter()
            r = client.get(path, params={"product": ref}, headers=headers)
            ms = (time.perf_counter() - started) * 1000
            assert r.status_code == 200, r.text
            return ms

        for ref in refs[:20]:  # warm: caches filled, code paths compiled
            timed("/v1/widget/recommendations", ref)
            timed("/v1/widget/config", ref)
        recommender = app.state.recommender
        recommender.background = False
        cached: list[float] = []
        cold: list[float] = []
        config: list[float] = []
        first: list[float] = []

        def forget_all() -> None:
            recommender.clear()

        def forget_catalog() -> None:
            recommender._catalogs.clear()  # the co-occurrence stays: a later call's state

        for ref in refs:  # interleaved, so load on the machine hits all three alike
            config.append(timed("/v1/widget/config", ref))
            cached.append(timed("/v1/widget/recommendations", ref))
            cold.append(timed("/v1/widget/recommendations", ref, forget_catalog))
            recommender.background = True
            first.append(timed("/v1/widget/recommendations", ref, forget_all))
            recommender.background = False
            recommender.neighbours(m.merchant.id)  # the background read, done before the next
        from analytics import cooccurrence as co  # noqa: PLC0415
        from gateway.recommendations.service import load_catalog  # noqa: PLC0415

        catalog_ms: list[float] = []
        cooc_ms: list[float] = []
        for _ in range(10):
            started = time.perf_counter()
            with session_scope(app.state.engine) as session:
                load_catalog(session, m.merchant.id)
            catalog_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            with warehouse.connect() as conn:
                co.load(conn, merchant_id=m.merchant.id, now=datetime.now(UTC))
            cooc_ms.append((time.perf_counter() - started) * 1000)
        out = [
            ("GET /v1/widget/config (reference, read cache warm)", config),
            ("GET /v1/widget/recommendations, cached", cached),
            ("GET /v1/widget/recommendations, catalog not cached (read each call)", cold),
            (
                "GET /v1/widget/recommendations, nothing cached (first call after a start: "
                "catalog read, co-occurrence read started in the background)",
                first,
            ),
            ("  of which: the catalog read (all products, variants, assets)", catalog_ms),
            ("  of which: the co-occurrence read (warehouse query + counting)", cooc_ms),
        ]
        print(
            f"latency: {len(world.items)} products, {len(rows)} warehouse events in "
            f"{len(world.visits)} visits, {calls} calls each, in process (TestClient, SQLite)"
        )
    app.state.engine.dispose()
    return out


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--visits", type=int, default=6000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3, help="quality runs (seed, seed+1, ...)")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args()
    runs = [quality(args.seed + k, args.products, args.visits) for k in range(args.seeds)]
    print()
    print(f"| method | hit rate@5 | NDCG@10 | (mean of {args.seeds} seeds, min-max)")
    print("|---|---|---|")
    for i, (name, _, _) in enumerate(runs[0]):
        hits = [r[i][1] for r in runs]
        ndcgs = [r[i][2] for r in runs]
        print(
            f"| {name} | {statistics.mean(hits):.3f} ({min(hits):.3f}-{max(hits):.3f}) | "
            f"{statistics.mean(ndcgs):.3f} ({min(ndcgs):.3f}-{max(ndcgs):.3f}) |"
        )
    if args.no_latency:
        return 0
    print()
    timings = latency(args.seed, args.products, args.visits, args.calls)
    reference = statistics.median(timings[0][1])
    print()
    print("| call | p50 ms | p95 ms | p50 / reference p50 |")
    print("|---|---|---|---|")
    for name, values in timings:
        p50 = pct(values, 0.5)
        print(f"| {name} | {p50:.2f} | {pct(values, 0.95):.2f} | {p50 / reference:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
