"""Item-to-item co-occurrence (``analytics.cooccurrence``) and the recommendation metrics
(``analytics.recommendation_metrics``): pure counting with numbers worked out by hand, then
the same from a warehouse written by the real writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from analytics import cooccurrence
from analytics.metrics import Period
from analytics.recommendation_metrics import recommendations, recommendations_json
from analytics.warehouse.writer import Warehouse
from tests.analytics.factories import EVENT, event_json, purchase, record

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def basket(*products: str, days_ago: float = 0.0) -> cooccurrence.Basket:
    return cooccurrence.Basket(frozenset(products), NOW - timedelta(days=days_ago))


def test_pairs_below_the_minimum_support_do_not_count() -> None:
    found = cooccurrence.cooccurrence(
        [basket("a", "b"), basket("a", "b"), basket("a", "c")],
        now=NOW,
        half_life_days=30,
        min_support=2,
    )
    assert set(found.of("a")) == {"b"}
    assert found.of("c") == {}
    assert found.baskets == 3
    # a in 3 baskets, b in 2, together in 2: 2 / sqrt(3 * 2)
    assert found.of("a")["b"] == pytest.approx(2 / math.sqrt(6))
    assert found.of("b")["a"] == found.of("a")["b"]  # symmetric


def test_old_baskets_weigh_half_per_half_life() -> None:
    """a-b together twice today, a-c twice 30 days ago (half-life 30): c scores under b."""
    found = cooccurrence.cooccurrence(
        [
            basket("a", "b"),
            basket("a", "b"),
            basket("a", "c", days_ago=30),
            basket("a", "c", days_ago=30),
        ],
        now=NOW,
        half_life_days=30,
        min_support=2,
    )
    # weights: today 1, a month ago 0.5; a: 1 + 1 + 0.5 + 0.5 = 3; b: 2; c: 1
    assert found.of("a")["b"] == pytest.approx(2 / math.sqrt(3 * 2))
    assert found.of("a")["c"] == pytest.approx(1 / math.sqrt(3 * 1))
    flat = cooccurrence.cooccurrence(
        [
            basket("a", "b"),
            basket("a", "b"),
            basket("a", "c", days_ago=30),
            basket("a", "c", days_ago=30),
        ],
        now=NOW,
        half_life_days=0,  # no decay
        min_support=2,
    )
    assert flat.of("a")["b"] == pytest.approx(flat.of("a")["c"])


def test_huge_baskets_are_capped_and_empty_ones_ignored() -> None:
    crawler = basket(*(f"p{i:03d}" for i in range(500)))
    found = cooccurrence.cooccurrence(
        [crawler, crawler, basket()], now=NOW, half_life_days=30, min_support=2
    )
    assert found.baskets == 2
    assert len(found.scores) == cooccurrence.MAX_BASKET
    assert max(len(v) for v in found.scores.values()) <= 50


def events_of(merchant: uuid.UUID, session: str, *products: str, days_ago: int = 0) -> list:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return [
        record(
            merchant,
            "tryon_rendered",
            occurred_at=when,
            widget_session_id=session,
            product_id=p,
            tryon_session_id=f"t-{session}-{p}x",
        )
        for p in products
    ]


def test_baskets_from_the_warehouse(warehouse: Warehouse, engine: Engine) -> None:
    """Sessions and orders are baskets; other merchants, other event types and days outside
    the window are not."""
    merchant, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    records = [
        *events_of(merchant, "wsess-0001", "a", "b"),
        *events_of(merchant, "wsess-0002", "a", "b", "c"),
        *events_of(merchant, "wsess-0003", "a", "c", days_ago=200),  # outside 180 days
        *events_of(other, "wsess-0004", "a", "c"),  # another merchant
        record(merchant, "open", occurred_at=now, widget_session_id="wsess-0005", product_id="c"),
        purchase(
            merchant,
            occurred_at=now,
            order_id="o-1",
            revenue="20.00",
            lines=[
                {"product_id": "a", "quantity": 1, "price": "10.00"},
                {"product_id": "c", "quantity": 1, "price": "10.00"},
            ],
        ),
    ]
    warehouse.store(records)
    with engine.connect() as conn:
        found = cooccurrence.baskets(conn, merchant_id=merchant, now=now, window_days=180)
        neighbours = cooccurrence.load(conn, merchant_id=merchant, now=now, min_support=2)
    assert sorted(sorted(b.products) for b in found) == [["a", "b"], ["a", "b", "c"], ["a", "c"]]
    assert set(neighbours.of("a")) == {"b", "c"}  # a-b in two sessions, a-c in one and an order
    assert neighbours.of("b") == {"a": pytest.approx(neighbours.of("a")["b"])}


def test_the_event_property_is_a_strict_boolean() -> None:
    ok = event_json(
        "tryon_rendered",
        properties={
            "mode": "photo",
            "category": "eyewear",
            "latency_ms": 5,
            "from_recommendation": True,
        },
    )
    assert EVENT.validate_python(ok).properties.from_recommendation is True  # type: ignore[union-attr]
    for bad in ("yes", 1, None, [True]):
        body = event_json("tryon_started", properties={"mode": "photo", "from_recommendation": bad})
        if bad is None:
            EVENT.validate_python(body)  # null is "not said"
            continue
        with pytest.raises(ValidationError):
            EVENT.validate_python(body)
    with pytest.raises(ValidationError):  # not on other events
        EVENT.validate_python(event_json("open", properties={"from_recommendation": True}))


def test_recommendations_tried_and_bought(warehouse: Warehouse, engine: Engine) -> None:
    """Worked out by hand: two try-on sessions opened from recommendations (cat-eye twice,
    in sessions t1 and t2; rect once, t3), one not (t4). Orders: o-1 buys the cat-eye of t1
    (2 units, 2 x 50.00) and the round of t4 (not recommended); o-2 buys rect of t3 (1 x
    30.00). Add to cart: cat-eye once from a recommendation."""
    merchant = uuid.uuid4()
    now = datetime.now(UTC)
    rec = {"from_recommendation": True}

    def rendered(session: str, product: str, recommended: bool) -> object:
        props = {"mode": "photo", "category": "eyewear", "latency_ms": 10.0}
        return record(
            merchant,
            "tryon_rendered",
            occurred_at=now,
            widget_session_id="wsess-0001",
            tryon_session_id=session,
            product_id=product,
            properties={**props, **(rec if recommended else {})},
        )

    records = [
        rendered("tsess-0001", "cateye", True),
        rendered("tsess-0002", "cateye", True),
        rendered("tsess-0003", "rect", True),
        rendered("tsess-0004", "round", False),
        record(
            merchant,
            "add_to_cart",
            occurred_at=now,
            widget_session_id="wsess-0001",
            tryon_session_id="tsess-0001",
            product_id="cateye",
            properties={"quantity": 1, **rec},
        ),
        purchase(
            merchant,
            occurred_at=now,
            order_id="o-1",
            revenue="120.00",
            lines=[
                {
                    "product_id": "cateye",
                    "quantity": 2,
                    "price": "50.00",
                    "tryon_session_id": "tsess-0001",
                },
                {
                    "product_id": "round",
                    "quantity": 1,
                    "price": "20.00",
                    "tryon_session_id": "tsess-0004",
                },
            ],
        ),
        purchase(
            merchant,
            occurred_at=now,
            order_id="o-2",
            revenue="30.00",
            lines=[
                {
                    "product_id": "rect",
                    "quantity": 1,
                    "price": "30.00",
                    "tryon_session_id": "tsess-0003",
                }
            ],
        ),
    ]
    warehouse.store(records)  # type: ignore[arg-type]
    today = now.date()
    with engine.connect() as conn:
        found = recommendations(conn, merchant_id=merchant, period=Period.of(today, today))
        other = recommendations(conn, merchant_id=uuid.uuid4(), period=Period.of(today, today))
    assert (found.tried, found.added_to_cart, found.orders, found.bought_units) == (3, 1, 2, 3)
    assert found.revenue == {"EUR": Decimal("130.00")}
    rows = {p.product_id: p for p in found.products}
    assert set(rows) == {"cateye", "rect"}  # round was not recommended
    assert (rows["cateye"].tried, rows["cateye"].bought_units) == (2, 2)
    assert rows["cateye"].revenue == {"EUR": Decimal("100.00")}
    assert [p.product_id for p in found.products] == ["cateye", "rect"]
    assert recommendations_json(found)["revenue"] == {"EUR": str(Decimal("130.00"))}
    assert (other.tried, other.orders, other.products) == (0, 0, [])
