"""Metrics on a seeded warehouse equal the numbers worked out by hand below.

The story (merchant M; products A = glasses-a, eyewear, and B = hat-b, hat; days D1-D3):

=====  ===  ==========================================================================
sess.  day  events
=====  ===  ==========================================================================
s1     D1   impression A, open A, tryon t1 A (live) started + rendered 100 ms,
            size M recommended A, add_to_cart A (size M). Order o1 on D2: A x1 @120.00
            (line property t1), total 130.00 EUR (shipping).
s2     D1   impression A, open A, tryon t2 A (photo) started, failed (no_face).
s3     D2   impression A, impression B, open B, tryon t3 B (live) started + rendered
            300 ms, add_to_cart B x2. Order o2 on D3: B x2 @25.00 (t3), A x1 @120.00
            (no property), total 170.00 EUR.
s4     D2   impression B, add_to_cart B (no try-on). Order o3 on D2: B x1 @25.00, 25.00 EUR.
s5     D3   impression A, open A, tryon t5 A (model) started, rendered 200 ms, size L
            recommended, rendered again 400 ms.
s6     D3   impression A.
-      D3   Order o4 without a widget session: A x1 @120.00 USD, line property naming a
            try-on session nobody saw (t-unknown).
-      D2   Order o1 sent again under another event id (a webhook retry): not counted.
=====  ===  ==========================================================================

Merchant X has events of its own on the same products; they must never show up for M.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from analytics import metrics
from analytics.errors import InvalidQuery
from analytics.metrics import Period
from analytics.warehouse.writer import Warehouse
from tests.analytics.factories import purchase, record

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
A, B = "glasses-a", "hat-b"
ALL = Period(D1, D3)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def seed(warehouse: Warehouse) -> uuid.UUID:
    m = uuid.uuid4()
    r = []

    def ev(kind: str, day: date, hour: int, session: str, product: str, **kw: object) -> None:
        r.append(
            record(
                m,
                kind,
                occurred_at=at(day, hour),
                widget_session_id=session,
                product_id=product,
                **kw,
            )
        )

    live = {"mode": "live", "category": "eyewear"}
    ev("impression", D1, 10, "s1-session", A)
    ev("open", D1, 10, "s1-session", A)
    ev(
        "tryon_started",
        D1,
        10,
        "s1-session",
        A,
        tryon_session_id="t1-tryon",
        properties={"mode": "live"},
    )
    ev(
        "tryon_rendered",
        D1,
        10,
        "s1-session",
        A,
        tryon_session_id="t1-tryon",
        properties={**live, "latency_ms": 100},
    )
    ev("size_recommended", D1, 10, "s1-session", A, properties={"size": "M"})
    ev(
        "add_to_cart",
        D1,
        11,
        "s1-session",
        A,
        tryon_session_id="t1-tryon",
        properties={"quantity": 1, "size": "M"},
    )
    ev("impression", D1, 12, "s2-session", A)
    ev("open", D1, 12, "s2-session", A)
    ev(
        "tryon_started",
        D1,
        12,
        "s2-session",
        A,
        tryon_session_id="t2-tryon",
        properties={"mode": "photo"},
    )
    ev(
        "tryon_failed",
        D1,
        12,
        "s2-session",
        A,
        tryon_session_id="t2-tryon",
        properties={"reason": "no_face", "mode": "photo"},
    )
    ev("impression", D2, 9, "s3-session", A)
    ev("impression", D2, 9, "s3-session", B)
    ev("open", D2, 9, "s3-session", B)
    ev(
        "tryon_started",
        D2,
        9,
        "s3-session",
        B,
        tryon_session_id="t3-tryon",
        properties={"mode": "live"},
    )
    ev(
        "tryon_rendered",
        D2,
        9,
        "s3-session",
        B,
        tryon_session_id="t3-tryon",
        properties={"mode": "live", "category": "hat", "latency_ms": 300},
    )
    ev(
        "add_to_cart",
        D2,
        9,
        "s3-session",
        B,
        tryon_session_id="t3-tryon",
        properties={"quantity": 2},
    )
    ev("impression", D2, 15, "s4-session", B)
    ev("add_to_cart", D2, 15, "s4-session", B)
    ev("impression", D3, 8, "s5-session", A)
    ev("open", D3, 8, "s5-session", A)
    ev(
        "tryon_started",
        D3,
        8,
        "s5-session",
        A,
        tryon_session_id="t5-tryon",
        properties={"mode": "model"},
    )
    ev(
        "tryon_rendered",
        D3,
        8,
        "s5-session",
        A,
        tryon_session_id="t5-tryon",
        properties={"mode": "model", "category": "eyewear", "latency_ms": 200},
    )
    ev("size_recommended", D3, 8, "s5-session", A, properties={"size": "L"})
    ev(
        "tryon_rendered",
        D3,
        8,
        "s5-session",
        A,
        tryon_session_id="t5-tryon",
        properties={"mode": "model", "category": "eyewear", "latency_ms": 400},
    )
    ev("impression", D3, 20, "s6-session", A)
    o1 = {
        "order_id": "o1",
        "revenue": "130.00",
        "widget_session_id": "s1-session",
        "lines": [
            {"product_id": A, "quantity": 1, "price": "120.00", "tryon_session_id": "t1-tryon"}
        ],
    }
    r.append(purchase(m, occurred_at=at(D2, 18), **o1))  # type: ignore[arg-type]
    r.append(purchase(m, occurred_at=at(D2, 19), **o1))  # type: ignore[arg-type]
    r.append(
        purchase(
            m,
            occurred_at=at(D3, 10),
            order_id="o2",
            revenue="170.00",
            widget_session_id="s3-session",
            lines=[
                {"product_id": B, "quantity": 2, "price": "25.00", "tryon_session_id": "t3-tryon"},
                {"product_id": A, "quantity": 1, "price": "120.00"},
            ],
        )
    )
    r.append(
        purchase(
            m,
            occurred_at=at(D2, 16),
            order_id="o3",
            revenue="25.00",
            widget_session_id="s4-session",
            lines=[{"product_id": B, "quantity": 1, "price": "25.00"}],
        )
    )
    r.append(
        purchase(
            m,
            occurred_at=at(D3, 11),
            order_id="o4",
            revenue="120.00",
            currency="USD",
            lines=[
                {"product_id": A, "quantity": 1, "price": "120.00", "tryon_session_id": "t-unknown"}
            ],
        )
    )
    # Split across batches, with one batch delivered twice: the totals must not move.
    first = warehouse.store(r[:17])
    again = warehouse.store(r[:17])
    rest = warehouse.store(r[17:])
    assert (first.stored, again.stored, again.duplicates) == (17, 0, 17)
    assert rest.stored == len(r) - 17 - 1  # the re-sent o1 is a duplicate

    x = uuid.uuid4()
    warehouse.store(
        [
            record(
                x,
                "impression",
                occurred_at=at(D2, 10),
                widget_session_id="s1-session",
                product_id=A,
            ),
            record(
                x,
                "tryon_rendered",
                occurred_at=at(D2, 10),
                widget_session_id="s1-session",
                product_id=A,
                tryon_session_id="t1-tryon",
                properties={**live, "latency_ms": 9000},
            ),
            purchase(
                x,
                occurred_at=at(D2, 11),
                order_id="o1",
                revenue="999.00",
                widget_session_id="s2-session",
                lines=[
                    {
                        "product_id": A,
                        "quantity": 5,
                        "price": "199.80",
                        "tryon_session_id": "t2-tryon",
                    }
                ],
            ),
        ]
    )
    return m


@pytest.fixture
def merchant(warehouse: Warehouse) -> uuid.UUID:
    return seed(warehouse)


def test_daily_series_and_revenue(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        days = metrics.daily(conn, merchant_id=merchant, period=ALL)
    got = [
        (
            d.day,
            d.counters.impressions,
            d.counters.opens,
            d.counters.tryons_started,
            d.counters.tryons_rendered,
            d.counters.tryons_failed,
            d.counters.size_recommendations,
            d.counters.add_to_carts,
            d.counters.orders,
            d.counters.units,
            d.revenue,
        )
        for d in days
    ]
    assert got == [
        (D1, 2, 2, 2, 1, 1, 1, 1, 0, 0, {}),
        (D2, 3, 1, 1, 1, 0, 0, 2, 2, 2, {"EUR": Decimal("155.00")}),
        (D3, 2, 1, 1, 2, 0, 1, 0, 2, 4, {"EUR": Decimal("170.00"), "USD": Decimal("120.00")}),
    ]


def test_days_without_events_are_zero(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        days = metrics.daily(conn, merchant_id=merchant, period=Period(date(2026, 2, 27), D1))
    assert [d.counters.impressions for d in days] == [0, 0, 2]  # 27 and 28 February


def test_product_daily_uses_line_revenue(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        days = metrics.daily(conn, merchant_id=merchant, period=ALL, product_id=B)
    assert [(d.counters.impressions, d.counters.orders, d.counters.units) for d in days] == [
        (0, 0, 0),
        (2, 1, 1),
        (0, 1, 2),
    ]
    assert [d.revenue for d in days] == [{}, {"EUR": Decimal("25.00")}, {"EUR": Decimal("50.00")}]


def test_funnel(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        steps = metrics.funnel(conn, merchant_id=merchant, period=ALL)
    assert [(s.step, s.events, s.sessions) for s in steps] == [
        ("impression", 7, 6),
        ("open", 4, 4),
        ("tryon_started", 4, 4),
        ("tryon_rendered", 4, 3),
        ("add_to_cart", 3, 3),
        ("purchase", 4, 3),  # o4 has no widget session
    ]


def test_conversion_with_and_without_tryon(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        conv = metrics.conversion(conn, merchant_id=merchant, period=ALL)
    assert conv.with_tryon == metrics.SessionGroup(3, 2, 2, 2 / 3, 2 / 3)  # s1 s3 s5
    assert conv.without_tryon == metrics.SessionGroup(3, 1, 1, 1 / 3, 1 / 3)  # s2 s4 s6
    assert conv.purchase_lift == pytest.approx(2.0)


def test_conversion_for_one_product(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        conv = metrics.conversion(conn, merchant_id=merchant, period=ALL, product_id=A)
    # Sessions with A events: s1 s2 s3 s5 s6. Tried A: s1 s5 (s1 bought A). Not: s2 s3 s6
    # (s3 bought A in o2 without trying it).
    assert conv.with_tryon == metrics.SessionGroup(2, 1, 1, 0.5, 0.5)
    assert conv.without_tryon == metrics.SessionGroup(3, 0, 1, 0.0, 1 / 3)
    assert conv.purchase_lift == pytest.approx(1.5)


def test_conversion_on_one_day(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        conv = metrics.conversion(conn, merchant_id=merchant, period=Period(D2, D2))
    assert conv.with_tryon == metrics.SessionGroup(1, 1, 1, 1.0, 1.0)  # s3
    assert conv.without_tryon == metrics.SessionGroup(1, 1, 1, 1.0, 1.0)  # s4


def test_top_products_by_tryons_and_by_conversion(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        by_tryons = metrics.top_products(conn, merchant_id=merchant, period=ALL, by="tryons")
        by_conv = metrics.top_products(conn, merchant_id=merchant, period=ALL, by="conversion")
        limited = metrics.top_products(conn, merchant_id=merchant, period=ALL, limit=1)
    a, b = by_tryons
    assert (a.product_id, a.category, a.counters.tryons_rendered) == (A, "eyewear", 3)
    assert (b.product_id, b.category, b.counters.tryons_rendered) == (B, "hat", 1)
    assert (a.counters.impressions, a.counters.opens, a.counters.add_to_carts) == (5, 3, 1)
    assert (a.counters.orders, a.counters.units) == (3, 3)  # o1, o2, o4
    assert (b.counters.orders, b.counters.units) == (2, 3)  # o2 (x2), o3
    assert (a.tryon_sessions, a.converted_tryon_sessions, a.tryon_conversion) == (2, 1, 0.5)
    assert (b.tryon_sessions, b.converted_tryon_sessions, b.tryon_conversion) == (1, 1, 1.0)
    assert [p.product_id for p in by_conv] == [B, A]
    assert [p.product_id for p in limited] == [A]


def test_top_products_by_conversion_respects_the_minimum(
    engine: Engine, merchant: uuid.UUID
) -> None:
    with engine.connect() as conn:
        rows = metrics.top_products(
            conn, merchant_id=merchant, period=ALL, by="conversion", min_tryon_sessions=2
        )
    assert [p.product_id for p in rows] == [A]


def test_latency_percentiles(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        lat = metrics.latency(conn, merchant_id=merchant, period=ALL)
    # Sorted: 100 200 300 400; percentile_cont interpolates between closest ranks.
    assert lat.count == 4
    assert lat.mean_ms == 250
    assert lat.percentiles_ms == pytest.approx({50: 250, 90: 370, 95: 385, 99: 397})
    assert lat.by_mode.keys() == {"live", "model"}
    assert lat.by_mode["live"] == pytest.approx({50: 200, 90: 280, 95: 290, 99: 298})
    assert lat.by_mode["model"] == pytest.approx({50: 300, 90: 380, 95: 390, 99: 398})


def test_size_distribution(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        rows = metrics.sizes(conn, merchant_id=merchant, period=ALL)
    assert rows == [metrics.SizeRow("M", 1, 1), metrics.SizeRow("L", 1, 0)]


def test_attribution_joins_purchases_to_tryon_sessions(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        att = metrics.attribution(conn, merchant_id=merchant, period=ALL)
        one_day = metrics.attribution(conn, merchant_id=merchant, period=Period(D2, D2))
    assert att.orders == 4
    assert att.revenue == {"EUR": Decimal("325.00"), "USD": Decimal("120.00")}
    # o1's line (t1) and o2's B line (t3); o4's t-unknown was never a try-on session.
    assert att.attributed_orders == 2
    assert att.attributed_revenue == {"EUR": Decimal("170.00")}
    assert att.attributed_units == 3
    assert (one_day.orders, one_day.attributed_orders) == (2, 1)
    assert one_day.revenue == {"EUR": Decimal("155.00")}
    assert one_day.attributed_revenue == {"EUR": Decimal("120.00")}


def test_other_merchants_see_nothing_of_it(engine: Engine, merchant: uuid.UUID) -> None:
    stranger = uuid.uuid4()
    with engine.connect() as conn:
        summary = metrics.summary(conn, merchant_id=stranger, period=ALL)
        products = metrics.top_products(conn, merchant_id=stranger, period=ALL)
    assert summary["totals"]["impressions"] == 0
    assert summary["attribution"]["orders"] == 0
    assert summary["latency"]["count"] == 0
    assert products == []


def test_summary_is_json_ready(engine: Engine, merchant: uuid.UUID) -> None:
    import json

    with engine.connect() as conn:
        summary = metrics.summary(conn, merchant_id=merchant, period=ALL, product_id=A)
    text = json.dumps(summary)
    assert summary["totals"]["tryons_rendered"] == 3
    assert summary["totals"]["revenue"] == {"EUR": "240.00", "USD": "120.00"}
    assert "t1-tryon" not in text  # aggregates only: no session ids leak into the summary


def test_csv_export(engine: Engine, merchant: uuid.UUID) -> None:
    with engine.connect() as conn:
        daily = metrics.export_csv(conn, report="daily", merchant_id=merchant, period=ALL)
        products = metrics.export_csv(conn, report="products", merchant_id=merchant, period=ALL)
        sizes = metrics.export_csv(conn, report="sizes", merchant_id=merchant, period=ALL)
    lines = daily.split("\r\n")
    assert lines[0].startswith("day,impressions,opens,")
    assert lines[0].endswith("revenue_EUR,revenue_USD")
    assert lines[3] == "2026-03-03,2,1,1,2,0,1,0,2,4,170.00,120.00"
    assert products.split("\r\n")[1].startswith("glasses-a,eyewear,5,3,3,3,1,2,1,3,3,2,1")
    assert sizes == "size,recommended,added_to_cart\r\nM,1,1\r\nL,1,0\r\n"


def test_csv_cells_cannot_become_formulas() -> None:
    assert metrics.csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert metrics.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert metrics.csv_cell("-12.5") == "-12.5"
    assert metrics.csv_cell(None) == ""


@pytest.mark.parametrize(("start", "end"), [(D3, D1), (date(2000, 1, 1), date(2026, 1, 1))])
def test_bad_ranges_are_refused(start: date, end: date) -> None:
    with pytest.raises(InvalidQuery):
        Period.of(start, end)


def test_percentile_matches_linear_interpolation() -> None:
    assert metrics.percentile([], 0.5) is None
    assert metrics.percentile([7.0], 0.99) == 7.0
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert metrics.percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
