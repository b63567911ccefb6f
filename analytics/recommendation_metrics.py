"""Which recommendations were tried and bought, for one merchant and period.

The widget marks ``tryon_started``, ``tryon_rendered`` and ``add_to_cart`` with
``from_recommendation: true`` when the shopper opened the product from the recommendations
row (``fact_event.from_recommendation``). Per recommended product:

- **tried**: try-on sessions with a rendered result opened from a recommendation;
- **added**: add-to-cart events from a recommendation;
- **bought**: order lines of that product attributed to one of those try-on sessions (the
  line's ``tryon_session_id``), with units and revenue per currency.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, select

from analytics.metrics import Period, money
from analytics.warehouse import tables as t


@dataclass(slots=True)
class RecommendedProduct:
    product_id: str
    tried: int = 0
    added_to_cart: int = 0
    bought_units: int = 0
    orders: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recommendations:
    tried: int
    added_to_cart: int
    orders: int
    bought_units: int
    revenue: dict[str, Decimal]
    products: list[RecommendedProduct]


def recommendations(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, limit: int = 10
) -> Recommendations:
    """Totals and the top ``limit`` recommended products by try-ons (see the module doc)."""
    e = t.fact_event
    where = [
        e.c.merchant_id == merchant_id,
        e.c.day.between(period.start, period.end),
        e.c.from_recommendation.is_(True),
    ]
    rows: dict[str, RecommendedProduct] = {}

    def row(product: str) -> RecommendedProduct:
        return rows.setdefault(product, RecommendedProduct(product))

    for product, tried in conn.execute(
        select(e.c.product_id, func.count(distinct(e.c.tryon_session_id)))
        .where(*where, e.c.type == "tryon_rendered", e.c.product_id.is_not(None))
        .group_by(e.c.product_id)
    ):
        row(product).tried = int(tried)
    for product, added in conn.execute(
        select(e.c.product_id, func.count())
        .where(*where, e.c.type == "add_to_cart", e.c.product_id.is_not(None))
        .group_by(e.c.product_id)
    ):
        row(product).added_to_cart = int(added)
    sessions = (
        select(e.c.tryon_session_id)
        .where(*where, e.c.type.in_(("tryon_started", "tryon_rendered")))
        .where(e.c.tryon_session_id.is_not(None))
        .distinct()
    )
    line = t.fact_order_line
    # Orders may come a little after the period's try-ons: lines are counted by the session,
    # from the period's start on.
    for product, currency, units, revenue, orders in conn.execute(
        select(
            line.c.product_id,
            line.c.currency,
            func.sum(line.c.quantity),
            func.sum(line.c.revenue_e4),
            func.count(distinct(line.c.order_id)),
        )
        .where(
            and_(
                line.c.merchant_id == merchant_id,
                line.c.day >= period.start,
                line.c.tryon_session_id.in_(sessions),
            )
        )
        .group_by(line.c.product_id, line.c.currency)
    ):
        r = row(product)
        r.bought_units += int(units or 0)
        r.orders += int(orders or 0)
        r.revenue[currency] = r.revenue.get(currency, Decimal(0)) + money(int(revenue or 0))
    total_revenue: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows.values():
        for currency, amount in r.revenue.items():
            total_revenue[currency] += amount
    order_count = conn.execute(
        select(func.count(distinct(line.c.order_id))).where(
            line.c.merchant_id == merchant_id,
            line.c.day >= period.start,
            line.c.tryon_session_id.in_(sessions),
        )
    ).scalar_one()
    ranked = sorted(rows.values(), key=lambda r: (-r.tried, -r.bought_units, r.product_id))
    return Recommendations(
        tried=sum(r.tried for r in rows.values()),
        added_to_cart=sum(r.added_to_cart for r in rows.values()),
        orders=int(order_count),
        bought_units=sum(r.bought_units for r in rows.values()),
        revenue=dict(total_revenue),
        products=ranked[:limit],
    )


def recommendations_json(r: Recommendations) -> dict[str, Any]:
    """JSON-ready (money as decimal strings per currency)."""
    return {
        "tried": r.tried,
        "added_to_cart": r.added_to_cart,
        "orders": r.orders,
        "bought_units": r.bought_units,
        "revenue": {k: str(v) for k, v in sorted(r.revenue.items())},
        "products": [
            {
                "product_id": p.product_id,
                "tried": p.tried,
                "added_to_cart": p.added_to_cart,
                "orders": p.orders,
                "bought_units": p.bought_units,
                "revenue": {k: str(v) for k, v in sorted(p.revenue.items())},
            }
            for p in r.products
        ],
    }
