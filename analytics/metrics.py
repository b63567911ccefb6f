"""Metric queries for one merchant over any range of UTC days, optionally one product.

Counters come from the daily rollups (cheap for any range); what needs sessions, latency
values or the attribution join reads the facts of the range only (on PostgreSQL, only the
partitions of those days).

Definitions (docs/analytics.md says the same for merchants):

* a *session* is a widget session (``widget_session_id``) with widget events in the range;
  *with try-on* when one of them is ``tryon_rendered``;
* a session *added to cart* when it has an ``add_to_cart`` event in the range, and
  *purchased* when an order carries its id (``_tryon_widget_session`` cart attribute),
  whenever the order came;
* a purchase line is *attributed* to try-on when its ``_tryon_session`` property names a
  try-on session the warehouse saw start or render for the same merchant, in the range or in
  the ``ATTRIBUTION_WINDOW_DAYS`` before it.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    select,
)

from analytics.errors import InvalidQuery
from analytics.warehouse import tables as t

MAX_RANGE_DAYS = 3661  # ten years and a day
ATTRIBUTION_WINDOW_DAYS = 30
PERCENTILES = (50, 90, 95, 99)
FUNNEL_STEPS = (
    "impression",
    "open",
    "tryon_started",
    "tryon_rendered",
    "add_to_cart",
    "purchase",
)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date, end: date) -> Period:
        if end < start:
            raise InvalidQuery("the range ends before it starts")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidQuery(f"the range is longer than {MAX_RANGE_DAYS} days")
        return cls(start, end)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def money(e4: int) -> Decimal:
    """An exact decimal amount from the warehouse's integer of 1/10000 units."""
    places = Decimal("0.01") if e4 % 100 == 0 else Decimal("0.0001")
    return (Decimal(e4) / t.MONEY_SCALE).quantize(places)


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * p
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


# -- daily series and totals ---------------------------------------------------------------


@dataclass(slots=True)
class Counters:
    impressions: int = 0
    opens: int = 0
    tryons_started: int = 0
    tryons_rendered: int = 0
    tryons_failed: int = 0
    size_recommendations: int = 0
    add_to_carts: int = 0
    orders: int = 0
    units: int = 0

    def add(self, other: Counters) -> None:
        for name in t.COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class Day:
    day: date
    counters: Counters
    revenue: dict[str, Decimal] = field(default_factory=dict)
    """Per currency: order totals (merchant-wide) or line revenue (one product)."""


def daily(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> list[Day]:
    """One row per day of the period (zeros where nothing happened)."""
    if product_id is None:
        table, rev = t.rollup_merchant_daily, t.rollup_merchant_revenue_daily
        where = [table.c.merchant_id == merchant_id]
        rev_where = [rev.c.merchant_id == merchant_id]
    else:
        table, rev = t.rollup_product_daily, t.rollup_product_revenue_daily
        where = [table.c.merchant_id == merchant_id, table.c.product_id == product_id]
        rev_where = [rev.c.merchant_id == merchant_id, rev.c.product_id == product_id]
    days = {d: Day(d, Counters()) for d in period.days()}
    rows = conn.execute(
        select(table.c.day, *(func.sum(table.c[c]).label(c) for c in t.COUNTERS))
        .where(*where, table.c.day.between(period.start, period.end))
        .group_by(table.c.day)
    )
    for row in rows:
        days[row.day].counters = Counters(**{c: int(getattr(row, c)) for c in t.COUNTERS})
    revenue = conn.execute(
        select(rev.c.day, rev.c.currency, func.sum(rev.c.revenue_e4))
        .where(*rev_where, rev.c.day.between(period.start, period.end))
        .group_by(rev.c.day, rev.c.currency)
    )
    for day, currency, e4 in revenue:
        days[day].revenue[currency] = money(int(e4))
    return list(days.values())


def totals(days: Iterable[Day]) -> tuple[Counters, dict[str, Decimal]]:
    counters, revenue = Counters(), defaultdict[str, Decimal](Decimal)
    for day in days:
        counters.add(day.counters)
        for currency, amount in day.revenue.items():
            revenue[currency] += amount
    return counters, dict(revenue)


# -- funnel --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelStep:
    step: str
    events: int
    sessions: int
    """Distinct widget sessions reaching the step in the range."""


def funnel(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> list[FunnelStep]:
    counters, _ = totals(daily(conn, merchant_id=merchant_id, period=period, product_id=product_id))
    events = {
        "impression": counters.impressions,
        "open": counters.opens,
        "tryon_started": counters.tryons_started,
        "tryon_rendered": counters.tryons_rendered,
        "add_to_cart": counters.add_to_carts,
        "purchase": counters.orders,
    }
    e = t.fact_event
    sessions = dict(
        conn.execute(
            select(e.c.type, func.count(distinct(e.c.widget_session_id)))
            .where(*_event_filter(merchant_id, period, product_id))
            .where(e.c.type.in_(FUNNEL_STEPS[:-1]))
            .group_by(e.c.type)
        ).all()
    )
    sessions["purchase"] = _purchasing_sessions(conn, merchant_id, period, product_id)
    return [FunnelStep(s, events[s], int(sessions.get(s, 0))) for s in FUNNEL_STEPS]


def _purchasing_sessions(
    conn: Connection, merchant_id: uuid.UUID, period: Period, product_id: str | None
) -> int:
    if product_id is None:
        o = t.fact_order
        query = select(func.count(distinct(o.c.widget_session_id))).where(
            o.c.merchant_id == merchant_id, o.c.day.between(period.start, period.end)
        )
    else:
        line = t.fact_order_line
        query = select(func.count(distinct(line.c.widget_session_id))).where(
            line.c.merchant_id == merchant_id,
            line.c.day.between(period.start, period.end),
            line.c.product_id == product_id,
        )
    return int(conn.execute(query).scalar_one())


def _event_filter(
    merchant_id: uuid.UUID, period: Period, product_id: str | None
) -> list[ColumnElement[bool]]:
    e = t.fact_event
    where = [e.c.merchant_id == merchant_id, e.c.day.between(period.start, period.end)]
    if product_id is not None:
        where.append(e.c.product_id == product_id)
    return where


# -- conversion with and without try-on ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionGroup:
    sessions: int
    added_to_cart: int
    purchased: int
    add_to_cart_rate: float | None
    purchase_rate: float | None


@dataclass(frozen=True, slots=True)
class Conversion:
    with_tryon: SessionGroup
    without_tryon: SessionGroup
    purchase_lift: float | None
    """with / without purchase rate (None when either is undefined or zero)."""


def conversion(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> Conversion:
    e = t.fact_event
    per_session = (
        select(
            e.c.widget_session_id.label("wsid"),
            func.max(case((e.c.type == "tryon_rendered", 1), else_=0)).label("tried"),
            func.max(case((e.c.type == "add_to_cart", 1), else_=0)).label("carted"),
        )
        .where(*_event_filter(merchant_id, period, product_id))
        .where(e.c.source == "widget", e.c.widget_session_id.is_not(None))
        .group_by(e.c.widget_session_id)
        .subquery()
    )
    if product_id is None:
        o = t.fact_order
        bought = exists().where(
            o.c.merchant_id == merchant_id, o.c.widget_session_id == per_session.c.wsid
        )
    else:
        line = t.fact_order_line
        bought = exists().where(
            line.c.merchant_id == merchant_id,
            line.c.widget_session_id == per_session.c.wsid,
            line.c.product_id == product_id,
        )
    rows = conn.execute(
        select(
            per_session.c.tried,
            func.count(),
            func.sum(per_session.c.carted),
            func.sum(case((bought, 1), else_=0)),
        ).group_by(per_session.c.tried)
    ).all()
    groups = {
        bool(tried): (int(n), int(carted or 0), int(paid or 0)) for tried, n, carted, paid in rows
    }

    def group(tried: bool) -> SessionGroup:
        n, carted, paid = groups.get(tried, (0, 0, 0))
        return SessionGroup(n, carted, paid, rate(carted, n), rate(paid, n))

    with_, without = group(True), group(False)
    lift = None
    if with_.purchase_rate is not None and without.purchase_rate:
        lift = with_.purchase_rate / without.purchase_rate
    return Conversion(with_, without, lift)


# -- products ------------------------------------------------------------------------------


@dataclass(slots=True)
class ProductRow:
    product_id: str
    category: str | None
    counters: Counters
    tryon_sessions: int = 0
    converted_tryon_sessions: int = 0
    """Try-on sessions of this product whose order contains this product."""

    @property
    def tryon_conversion(self) -> float | None:
        return rate(self.converted_tryon_sessions, self.tryon_sessions)


def top_products(
    conn: Connection,
    *,
    merchant_id: uuid.UUID,
    period: Period,
    by: Literal["tryons", "conversion"] = "tryons",
    limit: int = 10,
    min_tryon_sessions: int = 1,
) -> list[ProductRow]:
    """Products ranked by try-ons rendered, or by the share of try-on sessions that bought."""
    sessions = _tryon_session_conversion(conn, merchant_id, period)
    r = t.rollup_product_daily
    query: Select[Any] = (
        select(r.c.product_id, *(func.sum(r.c[c]).label(c) for c in t.COUNTERS))
        .where(r.c.merchant_id == merchant_id, r.c.day.between(period.start, period.end))
        .group_by(r.c.product_id)
    )
    if by == "tryons":
        query = query.order_by(func.sum(r.c.tryons_rendered).desc(), r.c.product_id).limit(limit)
        ids = None
    else:
        ranked = sorted(
            (
                (pid, converted / n, n)
                for pid, (n, converted) in sessions.items()
                if n >= max(1, min_tryon_sessions)
            ),
            key=lambda item: (-item[1], -item[2], item[0]),
        )[:limit]
        ids = [pid for pid, _, _ in ranked]
        if not ids:
            return []
        query = query.where(r.c.product_id.in_(ids))
    rows = {
        row.product_id: ProductRow(
            product_id=row.product_id,
            category=None,
            counters=Counters(**{c: int(getattr(row, c)) for c in t.COUNTERS}),
        )
        for row in conn.execute(query)
    }
    categories = _categories(conn, merchant_id, list(rows))
    for pid, row in rows.items():
        row.category = categories.get(pid)
        row.tryon_sessions, row.converted_tryon_sessions = sessions.get(pid, (0, 0))
    order = ids if ids is not None else list(rows)
    return [rows[pid] for pid in order if pid in rows]


def _tryon_session_conversion(
    conn: Connection, merchant_id: uuid.UUID, period: Period
) -> dict[str, tuple[int, int]]:
    """product -> (try-on sessions rendered in the range, those whose order has the product)."""
    e, line = t.fact_event, t.fact_order_line
    tried = (
        select(e.c.product_id, e.c.tryon_session_id)
        .where(*_event_filter(merchant_id, period, None))
        .where(e.c.type == "tryon_rendered", e.c.tryon_session_id.is_not(None))
        .distinct()
        .subquery()
    )
    bought = (
        select(line.c.product_id, line.c.tryon_session_id)
        .where(line.c.merchant_id == merchant_id, line.c.tryon_session_id.is_not(None))
        .distinct()
        .subquery()
    )
    rows = conn.execute(
        select(tried.c.product_id, func.count(), func.count(bought.c.tryon_session_id))
        .select_from(
            tried.outerjoin(
                bought,
                and_(
                    bought.c.product_id == tried.c.product_id,
                    bought.c.tryon_session_id == tried.c.tryon_session_id,
                ),
            )
        )
        .group_by(tried.c.product_id)
    )
    return {pid: (int(n), int(converted)) for pid, n, converted in rows}


def _categories(conn: Connection, merchant_id: uuid.UUID, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    d = t.dim_product
    rows = conn.execute(
        select(d.c.product_id, d.c.category).where(
            d.c.merchant_id == merchant_id, d.c.product_id.in_(ids), d.c.category.is_not(None)
        )
    )
    return {pid: category for pid, category in rows}


# -- latency, sizes, attribution -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    mean_ms: float | None
    percentiles_ms: dict[int, float | None]
    by_mode: dict[str, dict[int, float | None]]


def latency(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> Latency:
    """Try-on latency (``tryon_rendered.latency_ms``) percentiles, overall and per mode."""
    e = t.fact_event
    rows = conn.execute(
        select(e.c.mode, e.c.latency_ms)
        .where(*_event_filter(merchant_id, period, product_id))
        .where(e.c.type == "tryon_rendered", e.c.latency_ms.is_not(None))
        .order_by(e.c.latency_ms)
    ).all()
    values = [float(v) for _, v in rows]
    by_mode: defaultdict[str, list[float]] = defaultdict(list)
    for mode, value in rows:
        by_mode[mode or "unknown"].append(float(value))
    return Latency(
        count=len(values),
        mean_ms=(sum(values) / len(values)) if values else None,
        percentiles_ms={p: percentile(values, p / 100) for p in PERCENTILES},
        by_mode={
            mode: {p: percentile(vals, p / 100) for p in PERCENTILES}
            for mode, vals in sorted(by_mode.items())
        },
    )


@dataclass(frozen=True, slots=True)
class SizeRow:
    size: str
    recommended: int
    added_to_cart: int


def sizes(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> list[SizeRow]:
    """How often each size was recommended, and added to cart (when the cart says its size)."""
    e = t.fact_event
    rows = conn.execute(
        select(
            e.c.size,
            func.sum(case((e.c.type == "size_recommended", 1), else_=0)),
            func.sum(case((e.c.type == "add_to_cart", 1), else_=0)),
        )
        .where(*_event_filter(merchant_id, period, product_id))
        .where(e.c.type.in_(("size_recommended", "add_to_cart")), e.c.size.is_not(None))
        .group_by(e.c.size)
    ).all()
    out = [SizeRow(size, int(rec), int(cart)) for size, rec, cart in rows]
    return sorted(out, key=lambda r: (-r.recommended, -r.added_to_cart, r.size))


@dataclass(frozen=True, slots=True)
class Attribution:
    orders: int
    attributed_orders: int
    revenue: dict[str, Decimal]
    """Order totals per currency."""
    attributed_revenue: dict[str, Decimal]
    """Revenue of the attributed lines per currency (unit price times quantity)."""
    attributed_units: int
    net_revenue: dict[str, Decimal] = field(default_factory=dict)
    """Order totals less refunds, cancelled orders counting nothing (merchant-wide); for one
    product, its lines' revenue in orders not cancelled (refunds are not split by line)."""
    cancelled_orders: int = 0


def attribution(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> Attribution:
    """Orders in the range and the part of them that try-on sessions lead to."""
    e, o, line = t.fact_event, t.fact_order, t.fact_order_line
    window_start = period.start - timedelta(days=ATTRIBUTION_WINDOW_DAYS)
    tried = (
        select(e.c.tryon_session_id)
        .where(
            e.c.merchant_id == merchant_id,
            e.c.day.between(window_start, period.end),
            e.c.type.in_(("tryon_started", "tryon_rendered")),
            e.c.tryon_session_id.is_not(None),
        )
        .distinct()
        .subquery()
    )
    line_where: list[ColumnElement[bool]] = [
        line.c.merchant_id == merchant_id,
        line.c.day.between(period.start, period.end),
    ]
    if product_id is not None:
        line_where.append(line.c.product_id == product_id)
    attributed = conn.execute(
        select(
            line.c.currency,
            func.coalesce(func.sum(line.c.revenue_e4), 0),
            func.coalesce(func.sum(line.c.quantity), 0),
        )
        .select_from(line.join(tried, tried.c.tryon_session_id == line.c.tryon_session_id))
        .where(*line_where)
        .group_by(line.c.currency)
    ).all()
    attributed_orders = conn.execute(
        select(func.count(distinct(line.c.order_id)))
        .select_from(line.join(tried, tried.c.tryon_session_id == line.c.tryon_session_id))
        .where(*line_where)
    ).scalar_one()
    if product_id is None:
        totals_rows = conn.execute(
            select(o.c.currency, func.count(), func.sum(o.c.revenue_e4))
            .where(o.c.merchant_id == merchant_id, o.c.day.between(period.start, period.end))
            .group_by(o.c.currency)
        ).all()
    else:
        totals_rows = conn.execute(
            select(
                line.c.currency, func.count(distinct(line.c.order_id)), func.sum(line.c.revenue_e4)
            )
            .where(*line_where)
            .group_by(line.c.currency)
        ).all()
    if product_id is None:
        net_expr = case((o.c.status == "cancelled", 0), else_=o.c.revenue_e4 - o.c.refunded_e4)
        net_rows = conn.execute(
            select(
                o.c.currency,
                func.coalesce(func.sum(net_expr), 0),
                func.coalesce(func.sum(case((o.c.status == "cancelled", 1), else_=0)), 0),
            )
            .where(o.c.merchant_id == merchant_id, o.c.day.between(period.start, period.end))
            .group_by(o.c.currency)
        ).all()
    else:
        net_rows = conn.execute(
            select(
                line.c.currency,
                func.coalesce(
                    func.sum(case((o.c.status == "cancelled", 0), else_=line.c.revenue_e4)), 0
                ),
                func.count(distinct(case((o.c.status == "cancelled", line.c.order_id)))),
            )
            .select_from(
                line.join(
                    o, (o.c.merchant_id == line.c.merchant_id) & (o.c.order_id == line.c.order_id)
                )
            )
            .where(*line_where)
            .group_by(line.c.currency)
        ).all()
    return Attribution(
        net_revenue={cur: money(max(int(e4), 0)) for cur, e4, _ in net_rows},
        cancelled_orders=sum(int(n) for _, _, n in net_rows),
        orders=sum(int(n) for _, n, _ in totals_rows),
        attributed_orders=int(attributed_orders),
        revenue={cur: money(int(e4)) for cur, _, e4 in totals_rows},
        attributed_revenue={cur: money(int(e4)) for cur, e4, _ in attributed},
        attributed_units=sum(int(u) for _, _, u in attributed),
    )


# -- summary and CSV -----------------------------------------------------------------------


def summary(
    conn: Connection, *, merchant_id: uuid.UUID, period: Period, product_id: str | None = None
) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-ready data."""
    days = daily(conn, merchant_id=merchant_id, period=period, product_id=product_id)
    counters, revenue = totals(days)
    args: dict[str, Any] = {"merchant_id": merchant_id, "period": period, "product_id": product_id}
    conv = conversion(conn, **args)
    lat = latency(conn, **args)
    return {
        "range": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "product_id": product_id,
        "totals": {**asdict(counters), "revenue": _money_map(revenue)},
        "daily": [
            {"day": d.day.isoformat(), **asdict(d.counters), "revenue": _money_map(d.revenue)}
            for d in days
        ],
        "funnel": [asdict(step) for step in funnel(conn, **args)],
        "conversion": asdict(conv),
        "attribution": attribution_json(attribution(conn, **args)),
        "latency": latency_json(lat),
        "sizes": [asdict(row) for row in sizes(conn, **args)],
    }


def products_json(rows: Iterable[ProductRow]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": row.product_id,
            "category": row.category,
            **asdict(row.counters),
            "tryon_sessions": row.tryon_sessions,
            "converted_tryon_sessions": row.converted_tryon_sessions,
            "tryon_conversion": row.tryon_conversion,
        }
        for row in rows
    ]


def _money_map(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in sorted(amounts.items())}


def attribution_json(a: Attribution) -> dict[str, Any]:
    return {
        "orders": a.orders,
        "attributed_orders": a.attributed_orders,
        "revenue": _money_map(a.revenue),
        "attributed_revenue": _money_map(a.attributed_revenue),
        "attributed_units": a.attributed_units,
        "net_revenue": _money_map(a.net_revenue),
        "cancelled_orders": a.cancelled_orders,
    }


def latency_json(lat: Latency) -> dict[str, Any]:
    return {
        "count": lat.count,
        "mean_ms": lat.mean_ms,
        "percentiles_ms": {f"p{p}": v for p, v in lat.percentiles_ms.items()},
        "by_mode": {
            mode: {f"p{p}": v for p, v in values.items()} for mode, values in lat.by_mode.items()
        },
    }


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula (product ids come from shoppers)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


CsvReport = Literal["daily", "products", "sizes"]


def export_csv(
    conn: Connection,
    *,
    report: CsvReport,
    merchant_id: uuid.UUID,
    period: Period,
    product_id: str | None = None,
) -> str:
    """One report as CSV (RFC 4180, CRLF line ends)."""
    if report == "daily":
        days = daily(conn, merchant_id=merchant_id, period=period, product_id=product_id)
        currencies = sorted({c for d in days for c in d.revenue})
        return to_csv(
            ["day", *t.COUNTERS, *(f"revenue_{c}" for c in currencies)],
            (
                [
                    d.day.isoformat(),
                    *(getattr(d.counters, c) for c in t.COUNTERS),
                    *(d.revenue.get(c, Decimal(0)) for c in currencies),
                ]
                for d in days
            ),
        )
    if report == "products":
        rows = top_products(conn, merchant_id=merchant_id, period=period, limit=10_000)
        return to_csv(
            ["product_id", "category", *t.COUNTERS, "tryon_sessions", "converted_tryon_sessions"],
            (
                [
                    r.product_id,
                    r.category,
                    *(getattr(r.counters, c) for c in t.COUNTERS),
                    r.tryon_sessions,
                    r.converted_tryon_sessions,
                ]
                for r in rows
            ),
        )
    size_rows = sizes(conn, merchant_id=merchant_id, period=period, product_id=product_id)
    return to_csv(
        ["size", "recommended", "added_to_cart"],
        ([r.size, r.recommended, r.added_to_cart] for r in size_rows),
    )
