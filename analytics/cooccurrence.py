"""Item-to-item co-occurrence from the warehouse: products tried or bought together.

A *basket* is what one shopper visit or one order holds: the products of a widget session's
``tryon_rendered`` and ``add_to_cart`` events, and the products of an order's lines. Two
products co-occur once per basket holding both; each basket weighs ``0.5 ** (age /
half_life)`` so last month's taste counts more than last year's. A pair needs ``min_support``
baskets (undecayed) before it counts: one shopper's whim is not a pattern.

The score of ``j`` for ``i`` is the decayed co-count over ``sqrt(n_i * n_j)`` (the decayed
basket counts of each product: a cosine), so a product in every basket does not top every
list. Products are the store's ids as events carry them (``fact_event.product_id``).

``baskets`` reads one merchant's window with two grouped queries; ``cooccurrence`` is pure.
Nothing here reads a shopper's identity: baskets are keyed by random session ids and order
ids, and only product ids leave this module.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import combinations

from sqlalchemy import Connection, and_, func, select

from analytics.warehouse.tables import fact_event, fact_order_line

BASKET_EVENTS = ("tryon_rendered", "add_to_cart")
MAX_BASKET = 50
"""Products per basket kept (the first by id): a crawler trying everything makes no pairs."""
MAX_ROWS = 200_000
"""Rows read per query at most, so a refresh has a bounded cost (a shop beyond it sees a
part of its window: lower ``window_days`` instead)."""


@dataclass(frozen=True, slots=True)
class Basket:
    products: frozenset[str]
    at: datetime


@dataclass(frozen=True, slots=True)
class Neighbours:
    """One merchant's co-occurrence: product -> {other product: score in 0..1}."""

    scores: Mapping[str, Mapping[str, float]]
    baskets: int
    computed_at: datetime

    def of(self, product: str) -> Mapping[str, float]:
        return self.scores.get(product, {})


def baskets(
    conn: Connection, *, merchant_id: uuid.UUID, now: datetime, window_days: int
) -> list[Basket]:
    """The merchant's baskets of the last ``window_days`` days (see the module docstring)."""
    since = (now - timedelta(days=window_days)).astimezone(UTC)
    sessions = conn.execute(
        select(
            fact_event.c.widget_session_id,
            fact_event.c.product_id,
            func.max(fact_event.c.day),
        )
        .where(
            and_(
                fact_event.c.merchant_id == merchant_id,
                fact_event.c.day >= since.date(),
                fact_event.c.type.in_(BASKET_EVENTS),
                fact_event.c.widget_session_id.is_not(None),
                fact_event.c.product_id.is_not(None),
            )
        )
        .group_by(fact_event.c.widget_session_id, fact_event.c.product_id)
        .limit(MAX_ROWS)
    )
    orders = conn.execute(
        select(fact_order_line.c.order_id, fact_order_line.c.product_id, fact_order_line.c.day)
        .where(
            and_(
                fact_order_line.c.merchant_id == merchant_id,
                fact_order_line.c.day >= since.date(),
            )
        )
        .limit(MAX_ROWS)
    )
    # Days, not times: a 30-day half-life does not need the hour, and a date is cheaper to
    # read than a timestamp (about a third of the time on 20,000 rows).
    items: dict[tuple[str, str], set[str]] = defaultdict(set)
    last: dict[tuple[str, str], date] = {}
    for kind, rows in (("s", sessions), ("o", orders)):
        for basket, product, day in rows:
            key = (kind, basket)
            items[key].add(product)
            if day is not None and (key not in last or day > last[key]):
                last[key] = day
    return [
        Basket(frozenset(found), _noon(last[key])) for key, found in items.items() if key in last
    ]


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def cooccurrence(
    found: Iterable[Basket],
    *,
    now: datetime,
    half_life_days: float,
    min_support: int,
    top: int = 50,
) -> Neighbours:
    """Scores of products tried or bought together (pure; see the module docstring)."""
    pair_weight: dict[tuple[str, str], float] = defaultdict(float)
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    item_weight: dict[str, float] = defaultdict(float)
    total = 0
    for basket in found:
        items = sorted(basket.products)[:MAX_BASKET]
        if not items:
            continue
        total += 1
        age_days = max((now - basket.at).total_seconds() / 86400.0, 0.0)
        weight = 0.5 ** (age_days / half_life_days) if half_life_days > 0 else 1.0
        for item in items:
            item_weight[item] += weight
        for a, b in combinations(items, 2):
            pair_weight[a, b] += weight
            pair_count[a, b] += 1
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for (a, b), count in pair_count.items():
        if count < min_support:
            continue
        score = pair_weight[a, b] / math.sqrt(item_weight[a] * item_weight[b])
        scores[a][b] = scores[b][a] = min(score, 1.0)
    trimmed = {
        item: dict(sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
        for item, others in scores.items()
    }
    return Neighbours(scores=trimmed, baskets=total, computed_at=now)


def load(
    conn: Connection,
    *,
    merchant_id: uuid.UUID,
    now: datetime,
    window_days: int = 180,
    half_life_days: float = 30.0,
    min_support: int = 2,
) -> Neighbours:
    """The merchant's co-occurrence now (``baskets`` then ``cooccurrence``)."""
    found = baskets(conn, merchant_id=merchant_id, now=now, window_days=window_days)
    return cooccurrence(found, now=now, half_life_days=half_life_days, min_support=min_support)
