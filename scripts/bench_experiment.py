"""The holdout experiment's report on a warehouse of 10 million events (PostgreSQL).

``make bench-experiment`` (``EXPERIMENT_BENCH_EVENTS``, default 10,000,000):

1. a throwaway PostgreSQL database, migrated (daily ``fact_event`` partitions, indexes);
2. one merchant's holdout experiment over 30 days: 2 million shoppers (a tenth held out)
   with five events each, generated inside PostgreSQL (``INSERT ... SELECT`` over
   ``generate_series``: no row crosses the socket, faster than ``COPY`` from a client), the
   ``experiment_shopper`` rows the writer would have kept, and the shoppers' orders
   (2.5 % of the treatment arm, 2.0 % of the holdout buy);
3. ``analytics.experiments.report`` (counts, intervals, the 2000-replicate bootstrap) and
   ``daily_csv``, five runs each: p50 and p95;
4. the reference in the same run: the same per-arm counts computed from the raw events
   (grouping 10 million rows by shopper), which is what the report would cost without the
   ``experiment_shopper`` rollup; the two must agree.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import uuid
from datetime import date
from typing import Any

from sqlalchemy import create_engine, text

from analytics import experiments
from analytics.warehouse import migrate
from analytics.warehouse.partitions import PartitionManager
from testkit.postgres import throwaway_database

EVENTS_PER_SHOPPER = 5
DAYS = 30
START = date(2026, 11, 1)
HOLDOUT_PERMILLE = 100

# Shopper s (0-based): its arm, whether it added to cart, tried on and bought, all from
# multiplicative hashes of s, so events, rollup rows and orders agree.
# PostgreSQL's own 64-bit hash with a seed per property: independent draws per shopper.
HELD = f"(abs(hashint8extended(s, 1)) % 1000 < {HOLDOUT_PERMILLE})"
ARM = f"CASE WHEN {HELD} THEN 'holdout' ELSE 'treatment' END"
CARTED = f"(abs(hashint8extended(s, 2)) % 1000 < CASE WHEN {HELD} THEN 70 ELSE 90 END)"
TRIED = f"(NOT {HELD} AND abs(hashint8extended(s, 3)) % 100 < 25)"
BOUGHT = f"(abs(hashint8extended(s, 4)) % 1000 < CASE WHEN {HELD} THEN 20 ELSE 25 END)"
DAY = f"(DATE '{START.isoformat()}' + (s % {DAYS})::int)"


def _events_sql(lo: int, hi: int, shoppers: int) -> str:
    held = HELD
    kind = (
        "CASE k WHEN 0 THEN 'eligible' "
        f"WHEN 1 THEN CASE WHEN {held} THEN 'eligible' ELSE 'impression' END "
        f"WHEN 2 THEN CASE WHEN {held} THEN 'eligible' ELSE 'open' END "
        f"WHEN 3 THEN CASE WHEN {TRIED} THEN 'tryon_rendered' WHEN {held} THEN 'eligible' "
        "ELSE 'impression' END "
        f"ELSE CASE WHEN {CARTED} THEN 'add_to_cart' WHEN {held} THEN 'eligible' "
        "ELSE 'impression' END END"
    )
    return f"""
        INSERT INTO fact_event (day, merchant_id, event_id, store, source, type, occurred_at,
            client_occurred_at, received_at, widget_session_id, product_id, shopper_id,
            experiment_id, arm)
        SELECT {DAY}, CAST(:m AS uuid), md5(CAST(:m AS text) || ':' || i)::uuid,
            'https://shop.example', 'widget', {kind},
            {DAY} + interval '10 hours' + k * interval '1 minute',
            {DAY} + interval '10 hours' + k * interval '1 minute',
            {DAY} + interval '10 hours' + k * interval '1 minute',
            'w-' || s, 'product-' || (s % 500), 's-' || s, CAST(:e AS uuid), {ARM}
        FROM (SELECT i, (i - 1)::bigint % {shoppers} AS s, (i - 1) / {shoppers} AS k
              FROM generate_series({lo}, {hi}) AS i) AS g
    """


def _shoppers_sql(shoppers: int) -> str:
    return f"""
        INSERT INTO experiment_shopper (merchant_id, experiment_id, shopper_id, arm,
            first_seen_at, eligible_day, cart_day, tried_day)
        SELECT CAST(:m AS uuid), CAST(:e AS uuid), 's-' || s, {ARM},
            {DAY} + interval '10 hours', {DAY},
            CASE WHEN {CARTED} THEN {DAY} END, CASE WHEN {TRIED} THEN {DAY} END
        FROM generate_series(0::bigint, {shoppers - 1}) AS s
    """


def _orders_sql(shoppers: int) -> str:
    # Skewed order values: 20 to 420 EUR, most of them small.
    draw = "(abs(hashint8extended(s, 5)) % 1000)"
    revenue = f"(200000 + {draw} * {draw} * 40)"
    return f"""
        INSERT INTO fact_order (merchant_id, order_id, event_id, day, occurred_at, store,
            widget_session_id, currency, revenue_e4, lines, shopper_id, experiment_id, arm)
        SELECT CAST(:m AS uuid), 'o-' || s, md5('order:' || s)::uuid, {DAY} + 1,
            {DAY} + interval '1 day 11 hours', 'https://shop.example', 'w-' || s, 'EUR',
            {revenue}, 1, 's-' || s, CAST(:e AS uuid), {ARM}
        FROM generate_series(0::bigint, {shoppers - 1}) AS s WHERE {BOUGHT}
    """


REFERENCE = """
    SELECT arm, count(*), count(*) FILTER (WHERE carted), count(*) FILTER (WHERE tried)
    FROM (
        SELECT min(arm) AS arm, bool_or(type = 'add_to_cart') AS carted,
               bool_or(type = 'tryon_rendered') AS tried
        FROM fact_event WHERE merchant_id = CAST(:m AS uuid) AND experiment_id = CAST(:e AS uuid)
        GROUP BY shopper_id HAVING bool_or(type = 'eligible')
    ) AS per_shopper GROUP BY arm
"""


def _timed(fn: object, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--existing",
        metavar="URL",
        help="time the report on a warehouse this script generated before (not dropped)",
    )
    args = parser.parse_args()
    if args.existing:
        measure(create_engine(args.existing), args.runs, generated_s=None)
        return
    shoppers = args.events // EVENTS_PER_SHOPPER
    merchant, experiment = uuid.uuid4(), uuid.uuid4()
    params = {"m": str(merchant), "e": str(experiment)}
    with throwaway_database("tryon_bench_experiment") as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        PartitionManager(engine).ensure(
            START.fromordinal(START.toordinal() + d) for d in range(DAYS + 2)
        )
        started = time.perf_counter()
        step = 1_000_000
        for lo in range(1, args.events + 1, step):
            with engine.begin() as conn:
                conn.execute(
                    text(_events_sql(lo, min(args.events, lo + step - 1), shoppers)), params
                )
        with engine.begin() as conn:
            conn.execute(text(_shoppers_sql(shoppers)), params)
            conn.execute(text(_orders_sql(shoppers)), params)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        generated_s = time.perf_counter() - started
        measure(engine, args.runs, generated_s=generated_s)


def measure(engine: Any, runs: int, *, generated_s: float | None) -> None:
    """Time the report, the CSV and the reference on the generated warehouse."""
    with engine.connect() as conn:
        merchant, experiment = conn.execute(
            text("SELECT merchant_id, experiment_id FROM experiment_shopper LIMIT 1")
        ).one()
    params = {"m": str(merchant), "e": str(experiment)}
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM fact_event")).scalar_one()
        shoppers = conn.execute(text("SELECT count(*) FROM experiment_shopper")).scalar_one()
        orders = conn.execute(text("SELECT count(*) FROM fact_order")).scalar_one()
    print(
        f"warehouse: {events:,} events, {shoppers:,} shoppers, {orders:,} orders "
        + (f"(generated and indexed in {generated_s:.0f} s)" if generated_s else "")
    )
    with engine.connect() as conn:
        report_ms, report = _timed(
            lambda: experiments.report(
                conn, merchant_id=merchant, experiment_id=experiment, holdout_share=0.1
            ),
            runs,
        )
        csv_ms, body = _timed(
            lambda: experiments.daily_csv(conn, merchant_id=merchant, experiment_id=experiment),
            runs,
        )
        ref_ms, ref_rows = _timed(
            lambda: conn.execute(text(REFERENCE), params).all(), max(1, runs // 2)
        )
    assert isinstance(report, dict)
    arms = report["arms"]
    reference = {arm: (int(n), int(c), int(t)) for arm, n, c, t in ref_rows}  # type: ignore[union-attr]
    got = {
        arm: (a["eligible_shoppers"], a["added_to_cart"], a["tried_on"]) for arm, a in arms.items()
    }
    assert got == reference, (got, reference)
    engine.dispose()
    rate = report["purchase_rate"]
    print(
        f"report (counts, rate intervals, revenue interval): "
        f"p50 {_p(report_ms, 0.5):.0f} ms, p95 {_p(report_ms, 0.95):.0f} ms ({runs} runs)"
    )
    print(
        f"daily CSV ({len(str(body).splitlines()) - 1} rows): p50 {_p(csv_ms, 0.5):.0f} ms, "
        f"p95 {_p(csv_ms, 0.95):.0f} ms"
    )
    print(
        f"reference, the same counts from the raw events: p50 {statistics.median(ref_ms):.0f} ms"
        f" -> the report is {statistics.median(ref_ms) / _p(report_ms, 0.5):.0f}x faster"
    )
    print(
        f"figures: treatment {arms['treatment']['eligible_shoppers']:,} shoppers, purchase rate "
        f"{rate['treatment']['estimate']:.4f}; holdout {arms['holdout']['eligible_shoppers']:,},"
        f" {rate['holdout']['estimate']:.4f}; uplift {rate['uplift_absolute']['estimate']:+.4f} "
        f"[{rate['uplift_absolute']['low']:+.4f}, {rate['uplift_absolute']['high']:+.4f}]; "
        f"status {report['status']}"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
