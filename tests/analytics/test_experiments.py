"""Holdout experiments in the warehouse: events carry shopper, experiment and arm; orders
inherit them through their widget session (or cart token), in either order of arrival; the
report counts eligible shoppers per arm (intention to treat). On SQLite and PostgreSQL.

The seeded experiment, worked by hand:

* treatment: t1 (eligible, tried on, added to cart, ordered 100.00 EUR), t2 (eligible, added
  to cart), t3 (eligible only), t4 (events but never eligible: not counted);
* holdout: h1 (eligible, added to cart from the page, ordered 40.00 EUR, its order arriving
  before its events), h2 (eligible), h3 (eligible, ordered through a cart token 60.00 EUR).

So treatment 3 eligible, 2 added to cart, 1 tried on, 1 purchased; holdout 3 eligible,
2 added to cart (h1, h3), 2 purchased (h1 and h3): 100.00 EUR per arm.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from analytics import experiments
from analytics.warehouse import tables as t
from analytics.warehouse.writer import Warehouse
from tests.analytics.factories import purchase, record

DAY = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _ev(merchant: uuid.UUID, exp: uuid.UUID, type_: str, shopper: str, arm: str, **kw: object):
    return record(
        merchant,
        type_,
        occurred_at=kw.pop("occurred_at", DAY),  # type: ignore[arg-type]
        widget_session_id=kw.pop("widget_session_id", f"wsession-{shopper}"),
        experiment={"id": str(exp), "arm": arm, "shopper_id": f"shopper-{shopper}"},
        **kw,
    )


def _line(price: str) -> list[dict[str, object]]:
    return [{"product_id": "glasses-a", "quantity": 1, "price": price}]


@pytest.fixture
def seeded(warehouse: Warehouse) -> tuple[uuid.UUID, uuid.UUID]:
    m, e = uuid.uuid4(), uuid.uuid4()
    later = DAY + timedelta(days=1)
    # h1's order first: its events arrive in a later batch.
    warehouse.store(
        [
            purchase(
                m,
                occurred_at=later,
                order_id="H1",
                revenue="40.00",
                lines=_line("40.00"),
                widget_session_id="wsession-h1",
            )
        ]
    )
    warehouse.store(
        [
            _ev(m, e, "eligible", "t1", "treatment"),
            _ev(m, e, "impression", "t1", "treatment"),
            _ev(m, e, "tryon_rendered", "t1", "treatment"),
            _ev(m, e, "add_to_cart", "t1", "treatment"),
            _ev(m, e, "eligible", "t2", "treatment"),
            _ev(m, e, "eligible", "t2", "treatment", occurred_at=later),
            _ev(m, e, "add_to_cart", "t2", "treatment", occurred_at=later),
            _ev(m, e, "eligible", "t3", "treatment"),
            _ev(m, e, "open", "t4", "treatment"),
            _ev(m, e, "eligible", "h1", "holdout"),
            _ev(m, e, "add_to_cart", "h1", "holdout"),
            _ev(m, e, "eligible", "h2", "holdout", occurred_at=later),
            _ev(m, e, "eligible", "h3", "holdout"),
            _ev(
                m,
                e,
                "add_to_cart",
                "h3",
                "holdout",
                widget_session_id="wsession-h3b",
                properties={"cart_token": "cart-h3"},
            ),
            purchase(
                m,
                occurred_at=later,
                order_id="T1",
                revenue="100.00",
                lines=_line("100.00"),
                widget_session_id="wsession-t1",
            ),
        ]
    )
    warehouse.store(
        [
            purchase(
                m,
                occurred_at=later,
                order_id="H3",
                revenue="60.00",
                lines=_line("60.00"),
                cart_token="cart-h3",
            )
        ]
    )
    return m, e


def test_orders_inherit_the_arm_of_their_session(
    engine: Engine, seeded: tuple[uuid.UUID, uuid.UUID]
) -> None:
    m, e = seeded
    o = t.fact_order
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.c.order_id, o.c.shopper_id, o.c.experiment_id, o.c.arm).where(
                o.c.merchant_id == m
            )
        ).all()
    assert sorted(rows) == [
        ("H1", "shopper-h1", e, "holdout"),  # the order came first; its session's events adopted it
        ("H3", "shopper-h3", e, "holdout"),  # through the cart token's add to cart
        ("T1", "shopper-t1", e, "treatment"),
    ]


def test_report_counts_eligible_shoppers_per_arm(
    engine: Engine, seeded: tuple[uuid.UUID, uuid.UUID]
) -> None:
    m, e = seeded
    with engine.connect() as conn:
        got = experiments.report(conn, merchant_id=m, experiment_id=e, holdout_share=0.5)
    assert got["arms"] == {
        "treatment": {
            "eligible_shoppers": 3,
            "added_to_cart": 2,
            "tried_on": 1,
            "purchased": 1,
            "orders": 1,
        },
        "holdout": {
            "eligible_shoppers": 3,
            "added_to_cart": 2,
            "tried_on": 0,
            "purchased": 2,
            "orders": 2,
        },
    }
    rate = got["purchase_rate"]
    assert rate["treatment"]["estimate"] == pytest.approx(1 / 3)
    assert rate["uplift_absolute"]["estimate"] == pytest.approx(1 / 3 - 2 / 3)
    assert rate["uplift_relative"]["estimate"] == pytest.approx(-0.5)
    revenue = got["revenue_per_shopper"]
    assert [r["currency"] for r in revenue] == ["EUR"]
    assert revenue[0]["treatment_per_shopper"] == pytest.approx(100 / 3)
    assert revenue[0]["holdout_per_shopper"] == pytest.approx(100 / 3)
    # Six shoppers are far from enough: the report says so and how many it needs.
    assert got["status"] == "collecting"
    assert got["needed_shoppers"] > 1000
    assert got["sample_ratio"]["mismatch"] is False


def test_a_redelivered_batch_changes_nothing(warehouse: Warehouse, engine: Engine) -> None:
    m, e = uuid.uuid4(), uuid.uuid4()
    batch = [_ev(m, e, "eligible", "x1", "holdout"), _ev(m, e, "add_to_cart", "x1", "holdout")]
    warehouse.store(batch)
    warehouse.store(batch)
    with engine.connect() as conn:
        got = experiments.report(conn, merchant_id=m, experiment_id=e, holdout_share=0.1)
    assert got["arms"]["holdout"]["eligible_shoppers"] == 1
    assert got["arms"]["holdout"]["added_to_cart"] == 1


def test_a_later_event_cannot_move_a_shopper_to_the_other_arm(
    warehouse: Warehouse, engine: Engine
) -> None:
    m, e = uuid.uuid4(), uuid.uuid4()
    warehouse.store([_ev(m, e, "eligible", "x1", "holdout")])
    warehouse.store([_ev(m, e, "eligible", "x1", "treatment", occurred_at=DAY - timedelta(days=1))])
    s = t.experiment_shopper
    with engine.connect() as conn:
        arm, day = conn.execute(select(s.c.arm, s.c.eligible_day).where(s.c.merchant_id == m)).one()
    assert (arm, day) == ("holdout", (DAY - timedelta(days=1)).date())


def test_periods_and_merchants_never_mix(
    engine: Engine, seeded: tuple[uuid.UUID, uuid.UUID], warehouse: Warehouse
) -> None:
    m, e = seeded
    other = uuid.uuid4()
    warehouse.store([_ev(m, other, "eligible", "t1", "holdout")])  # the same shopper, a new period
    warehouse.store([_ev(uuid.uuid4(), e, "eligible", "zz", "holdout")])  # another merchant
    with engine.connect() as conn:
        first = experiments.report(conn, merchant_id=m, experiment_id=e, holdout_share=0.5)
        second = experiments.report(conn, merchant_id=m, experiment_id=other, holdout_share=0.5)
    assert first["arms"]["holdout"]["eligible_shoppers"] == 3
    assert second["arms"] == {
        "treatment": {
            "eligible_shoppers": 0,
            "added_to_cart": 0,
            "tried_on": 0,
            "purchased": 0,
            "orders": 0,
        },
        "holdout": {
            "eligible_shoppers": 1,
            "added_to_cart": 0,
            "tried_on": 0,
            "purchased": 0,
            "orders": 0,
        },
    }


def test_daily_csv(engine: Engine, seeded: tuple[uuid.UUID, uuid.UUID]) -> None:
    m, e = seeded
    with engine.connect() as conn:
        body = experiments.daily_csv(conn, merchant_id=m, experiment_id=e)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["day"], r["arm"]) for r in rows] == [
        ("2026-11-20", "treatment"),
        ("2026-11-20", "holdout"),
        ("2026-11-21", "treatment"),
        ("2026-11-21", "holdout"),
    ]
    first_t, first_h, second_t, second_h = rows
    assert (first_t["new_eligible_shoppers"], first_h["new_eligible_shoppers"]) == ("3", "2")
    assert (second_h["new_eligible_shoppers"], second_h["eligible_shoppers_to_date"]) == ("1", "3")
    assert (second_t["orders"], second_t["revenue_EUR"]) == ("1", "100.00")
    assert (second_h["orders"], second_h["revenue_EUR"], second_h["new_purchasing_shoppers"]) == (
        "2",
        "100.00",
        "2",
    )
    assert second_h["purchase_rate_to_date"] == "0.666667"
    assert body.endswith("\r\n")


def test_an_incomplete_experiment_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"experiment\.arm"):
        record(
            uuid.uuid4(),
            "eligible",
            occurred_at=DAY,
            experiment={"id": str(uuid.uuid4()), "shopper_id": "shopper-abc"},
        )
