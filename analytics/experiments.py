"""The report of a randomised holdout experiment, per arm (docs/analytics.md, "Holdout").

The gateway owns experiments (their id, salt, holdout share and period); the warehouse only
sees what events and orders carried. Definitions:

* an *eligible shopper* of experiment E is a shopper id with an ``eligible`` event of E (the
  button was, or in the holdout would have been, shown to them); each counts in the arm the
  SDK assigned, whether or not they tried on (intention to treat);
* they *added to cart* when an ``add_to_cart`` event of E came from them, and *purchased*
  when an order inherited E and their shopper id (through its widget session or cart token:
  docs/attribution.md);
* *revenue* is an order's total less refunds, cancelled orders counting nothing, per currency.

Reads ``experiment_shopper`` (one row per shopper, kept by the writer) and the experiment's
orders, never the events themselves, so the report costs the same on a warehouse of ten
million events as on one of ten thousand (``make bench-experiment``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, case, func, select

from analytics import uplift
from analytics.metrics import money, to_csv
from analytics.warehouse import tables as t

ARMS = ("treatment", "holdout")
DEFAULT_DETECT_UPLIFT = 0.10
"""The relative purchase-rate uplift the "enough data" threshold is sized for."""
ASSUMED_BASE_RATE = 0.02
"""The purchase rate assumed before the holdout has any purchase (a typical shop's)."""


@dataclass(frozen=True, slots=True)
class ArmCounts:
    eligible: int = 0
    added_to_cart: int = 0
    tried_on: int = 0
    purchased: int = 0
    orders: int = 0


@dataclass(frozen=True, slots=True)
class Spend:
    """Per arm: what each purchasing shopper spent in one currency (in 1/10000)."""

    currency: str
    per_shopper_e4: dict[str, list[int]]


def _eligible(s: Any) -> Any:
    return s.c.eligible_day.is_not(None)


def arm_counts(
    conn: Connection, *, merchant_id: uuid.UUID, experiment_id: uuid.UUID
) -> dict[str, ArmCounts]:
    s, o = t.experiment_shopper, t.fact_order
    rows = conn.execute(
        select(s.c.arm, func.count(), func.count(s.c.cart_day), func.count(s.c.tried_day))
        .where(s.c.merchant_id == merchant_id, s.c.experiment_id == experiment_id, _eligible(s))
        .group_by(s.c.arm)
    ).all()
    bought = conn.execute(
        select(s.c.arm, func.count(func.distinct(o.c.shopper_id)), func.count())
        .select_from(o.join(s, _order_of_shopper(o, s)))
        .where(o.c.merchant_id == merchant_id, o.c.experiment_id == experiment_id, _eligible(s))
        .group_by(s.c.arm)
    ).all()
    paid = {arm: (int(n), int(k)) for arm, n, k in bought}
    out = {arm: ArmCounts() for arm in ARMS}
    for arm, n, carted, tried in rows:
        if arm in out:
            p, k = paid.get(arm, (0, 0))
            out[arm] = ArmCounts(int(n), int(carted), int(tried), p, k)
    return out


def _order_of_shopper(o: Any, s: Any) -> Any:
    return and_(
        s.c.merchant_id == o.c.merchant_id,
        s.c.experiment_id == o.c.experiment_id,
        s.c.shopper_id == o.c.shopper_id,
    )


def _net_e4(o: Any) -> Any:
    return case((o.c.status == "cancelled", 0), else_=o.c.revenue_e4 - o.c.refunded_e4)


def spend(
    conn: Connection, *, merchant_id: uuid.UUID, experiment_id: uuid.UUID
) -> list[tuple[str, str, str, int, date]]:
    """(arm, shopper, currency, net spend in 1/10000, first order day) of every eligible
    shopper who ordered."""
    s, o = t.experiment_shopper, t.fact_order
    rows = conn.execute(
        select(
            s.c.arm,
            o.c.shopper_id,
            o.c.currency,
            func.sum(_net_e4(o)),
            func.min(o.c.day),
        )
        .select_from(o.join(s, _order_of_shopper(o, s)))
        .where(o.c.merchant_id == merchant_id, o.c.experiment_id == experiment_id, _eligible(s))
        .group_by(s.c.arm, o.c.shopper_id, o.c.currency)
    ).all()
    return [(arm, sid, cur, max(int(e4 or 0), 0), day) for arm, sid, cur, e4, day in rows]


def _interval_json(i: uplift.Interval) -> dict[str, float | None]:
    return {"estimate": i.estimate, "low": i.low, "high": i.high}


def _rates_json(c: uplift.RateComparison) -> dict[str, Any]:
    return {
        "treatment": _interval_json(c.treatment_rate),
        "holdout": _interval_json(c.holdout_rate),
        "uplift_absolute": _interval_json(c.absolute),
        "uplift_relative": _interval_json(c.relative),
        "significant": c.absolute.excludes_zero(),
    }


def report(
    conn: Connection,
    *,
    merchant_id: uuid.UUID,
    experiment_id: uuid.UUID,
    holdout_share: float,
    detect_uplift: float = DEFAULT_DETECT_UPLIFT,
) -> dict[str, Any]:
    """Everything the dashboard and ``GET /v1/metrics/experiment`` show, JSON-ready."""
    counts = arm_counts(conn, merchant_id=merchant_id, experiment_id=experiment_id)
    spent = spend(conn, merchant_id=merchant_id, experiment_id=experiment_id)
    tr, ho = counts["treatment"], counts["holdout"]
    purchase = uplift.compare_rates(tr.purchased, tr.eligible, ho.purchased, ho.eligible)
    cart = uplift.compare_rates(tr.added_to_cart, tr.eligible, ho.added_to_cart, ho.eligible)
    srm = uplift.sample_ratio(tr.eligible, ho.eligible, holdout_share)
    revenue = []
    by_currency: dict[str, dict[str, list[int]]] = defaultdict(lambda: {a: [] for a in ARMS})
    for arm, _, currency, e4, _ in spent:
        if arm in ARMS:
            by_currency[currency][arm].append(e4)
    # The shop's main currency first (most buyers), then the others.
    for currency, arms in sorted(
        by_currency.items(), key=lambda kv: (-sum(map(len, kv[1].values())), kv[0])
    ):
        m = uplift.compare_means(
            np.array(arms["treatment"], dtype=np.float64) / t.MONEY_SCALE,
            tr.eligible,
            np.array(arms["holdout"], dtype=np.float64) / t.MONEY_SCALE,
            ho.eligible,
        )
        revenue.append(
            {
                "currency": currency,
                "treatment_per_shopper": m.treatment_mean,
                "holdout_per_shopper": m.holdout_mean,
                "uplift_absolute": _interval_json(m.absolute),
                "uplift_relative": _interval_json(m.relative),
                "significant": m.absolute.excludes_zero(),
                "method": m.method,
            }
        )
    base = purchase.holdout_rate.estimate or purchase.treatment_rate.estimate
    base = base if base and base < 1 else ASSUMED_BASE_RATE
    needed = (
        uplift.sample_size(base, detect_uplift, holdout_share) if 0 < holdout_share < 1 else None
    )
    total = tr.eligible + ho.eligible
    enough = needed is not None and total >= needed and ho.eligible > 0 and tr.eligible > 0
    return {
        "experiment_id": str(experiment_id),
        "holdout_share": holdout_share,
        "status": "ready" if enough else "collecting",
        "eligible_shoppers": total,
        "needed_shoppers": needed,
        "detect_uplift": detect_uplift,
        "assumed_base_rate": base,
        "arms": {
            arm: {
                "eligible_shoppers": c.eligible,
                "added_to_cart": c.added_to_cart,
                "tried_on": c.tried_on,
                "purchased": c.purchased,
                "orders": c.orders,
            }
            for arm, c in counts.items()
        },
        "purchase_rate": _rates_json(purchase),
        "add_to_cart_rate": _rates_json(cart),
        "revenue_per_shopper": revenue,
        "sample_ratio": {
            "expected_holdout_share": srm.expected_holdout_share,
            "observed_holdout_share": srm.observed_holdout_share,
            "chi_square": srm.chi_square,
            "p_value": srm.p_value,
            "mismatch": srm.mismatch,
        },
        "method": {
            "rates": "Newcombe hybrid score (difference), MOVER-R (ratio), Wilson per arm",
            "revenue": f"Poisson bootstrap, {uplift.BOOTSTRAP_REPLICATES} replicates, "
            "percentile interval, fixed seed; Welch's normal interval above "
            f"{uplift.BOOTSTRAP_MAX_SPENDERS} buyers per arm",
            "confidence": uplift.CONFIDENCE,
            "sample_ratio_alpha": uplift.SRM_ALPHA,
        },
    }


def daily_csv(conn: Connection, *, merchant_id: uuid.UUID, experiment_id: uuid.UUID) -> str:
    """Per day and arm: new eligible shoppers, new shoppers adding to cart, new purchasing
    shoppers, orders and net revenue per currency, and the figures to date (RFC 4180)."""
    s, o = t.experiment_shopper, t.fact_order
    where = (s.c.merchant_id == merchant_id, s.c.experiment_id == experiment_id)
    cells: dict[tuple[date, str], dict[str, Any]] = defaultdict(
        lambda: {"eligible": 0, "cart": 0, "buyers": 0, "orders": 0, "revenue": defaultdict(int)}
    )
    for column, name in ((s.c.eligible_day, "eligible"), (s.c.cart_day, "cart")):
        rows = conn.execute(
            select(s.c.arm, column, func.count())
            .where(*where, column.is_not(None), _eligible(s))
            .group_by(s.c.arm, column)
        )
        for arm, day, n in rows:
            cells[(day, arm)][name] += int(n)
    orders = conn.execute(
        select(s.c.arm, o.c.day, o.c.currency, func.count(), func.sum(_net_e4(o)))
        .select_from(o.join(s, _order_of_shopper(o, s)))
        .where(o.c.merchant_id == merchant_id, o.c.experiment_id == experiment_id, _eligible(s))
        .group_by(s.c.arm, o.c.day, o.c.currency)
    )
    currencies: set[str] = set()
    for arm, day, currency, n, e4 in orders:
        cell = cells[(day, arm)]
        cell["orders"] += int(n)
        cell["revenue"][currency] += max(int(e4 or 0), 0)
        currencies.add(currency)
    first_buys = {
        (arm, sid, d)
        for arm, sid, _, _, d in spend(conn, merchant_id=merchant_id, experiment_id=experiment_id)
    }
    first_day: dict[tuple[str, str], date] = {}
    for arm, sid, d in first_buys:
        first_day[(arm, sid)] = min(d, first_day.get((arm, sid), d))
    for (arm, _), d in first_day.items():
        cells[(d, arm)]["buyers"] += 1
    header = [
        "day",
        "arm",
        "new_eligible_shoppers",
        "new_cart_shoppers",
        "new_purchasing_shoppers",
        "orders",
        *(f"revenue_{c}" for c in sorted(currencies)),
        "eligible_shoppers_to_date",
        "add_to_cart_rate_to_date",
        "purchase_rate_to_date",
    ]
    rows_out: list[list[Any]] = []
    if cells:
        start, end = min(d for d, _ in cells), max(d for d, _ in cells)
        totals = {arm: [0, 0, 0] for arm in ARMS}
        day = start
        while day <= end:
            for arm in ARMS:
                c = cells.get((day, arm)) or {
                    "eligible": 0,
                    "cart": 0,
                    "buyers": 0,
                    "orders": 0,
                    "revenue": {},
                }
                acc = totals[arm]
                acc[0] += c["eligible"]
                acc[1] += c["cart"]
                acc[2] += c["buyers"]
                rows_out.append(
                    [
                        day.isoformat(),
                        arm,
                        c["eligible"],
                        c["cart"],
                        c["buyers"],
                        c["orders"],
                        *(money(c["revenue"].get(cur, 0)) for cur in sorted(currencies)),
                        acc[0],
                        _ratio(acc[1], acc[0]),
                        _ratio(acc[2], acc[0]),
                    ]
                )
            day += timedelta(days=1)
    return to_csv(header, rows_out)


def _ratio(part: int, whole: int) -> str:
    return "" if whole == 0 else f"{part / whole:.6f}"
