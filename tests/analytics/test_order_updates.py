"""Order updates (cancellations, refunds) applied to purchases in the warehouse, in either
order of arrival, idempotent on event id; net revenue in the attribution metrics; erasure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from analytics import metrics
from analytics.schema import EventRecord, OrderUpdated, OrderUpdatedProperties
from analytics.warehouse import erase
from analytics.warehouse import tables as t
from analytics.warehouse.writer import Warehouse
from tests.analytics.factories import purchase


def update(
    m: uuid.UUID, order_id: str, status: str, refunded: str | None, at: datetime
) -> EventRecord:
    # The gateway's order_update() derives the id from order, status and amount; so here.
    event = OrderUpdated(
        schema_version=1,
        event_id=uuid.uuid5(m, f"{order_id}:{status}:{refunded}"),
        type="order_updated",
        occurred_at=at,
        properties=OrderUpdatedProperties(
            order_id=order_id,
            status=status,  # type: ignore[arg-type]
            refunded=Decimal(refunded) if refunded else None,
            currency="EUR",
        ),
    )
    return EventRecord(
        merchant_id=m, source="server", received_at=at, client_occurred_at=at, event=event
    )


def order(m: uuid.UUID, order_id: str, at: datetime, revenue: str = "100.00") -> EventRecord:
    return purchase(
        m,
        occurred_at=at,
        order_id=order_id,
        revenue=revenue,
        lines=[
            {"product_id": "p1", "quantity": 1, "price": revenue, "tryon_session_id": "tryon-s-1"}
        ],
    )


def row(engine: Engine, m: uuid.UUID, order_id: str) -> tuple[str, int]:
    with engine.connect() as conn:
        found = conn.execute(
            select(t.fact_order.c.status, t.fact_order.c.refunded_e4).where(
                t.fact_order.c.merchant_id == m, t.fact_order.c.order_id == order_id
            )
        ).one()
    return found.status, found.refunded_e4


def test_refunds_and_cancellations_update_the_purchase(
    warehouse: Warehouse, engine: Engine
) -> None:
    m = uuid.uuid4()
    now = datetime.now(UTC)
    warehouse.store([order(m, "A", now), order(m, "B", now), order(m, "C", now)])
    assert row(engine, m, "A") == ("placed", 0)
    warehouse.store([update(m, "A", "refunded", "30.00", now + timedelta(minutes=1))])
    # The same refund delivered again, and a smaller (older) amount after a larger one.
    warehouse.store([update(m, "A", "refunded", "30.00", now + timedelta(minutes=1))])
    warehouse.store([update(m, "A", "refunded", "10.00", now)])
    assert row(engine, m, "A") == ("refunded", 300_000)
    warehouse.store([update(m, "B", "cancelled", None, now + timedelta(minutes=2))])
    assert row(engine, m, "B") == ("cancelled", 0)
    with engine.connect() as conn:
        stored_updates = conn.execute(
            select(func.count())
            .select_from(t.fact_event)
            .where(t.fact_event.c.merchant_id == m, t.fact_event.c.type == "order_updated")
        ).scalar_one()
        # Rollups count placed orders only: three, whatever happened to them since.
        orders = conn.execute(
            select(func.sum(t.rollup_merchant_daily.c.orders)).where(
                t.rollup_merchant_daily.c.merchant_id == m
            )
        ).scalar_one()
        got = metrics.attribution(
            conn,
            merchant_id=m,
            period=metrics.Period(now.date() - timedelta(days=1), now.date() + timedelta(days=1)),
        )
    assert stored_updates == 3  # the repeated refund was one event
    assert orders == 3
    assert got.revenue == {"EUR": Decimal("300")}
    # A: 100 - 30, B: cancelled, C: 100.
    assert got.net_revenue == {"EUR": Decimal("170")}
    assert got.cancelled_orders == 1


def test_an_update_before_its_order_is_applied_when_the_order_arrives(
    warehouse: Warehouse, engine: Engine
) -> None:
    m = uuid.uuid4()
    now = datetime.now(UTC)
    warehouse.store([update(m, "Z", "refunded", "100.00", now)])
    warehouse.store([order(m, "Z", now - timedelta(minutes=5))])
    assert row(engine, m, "Z") == ("refunded", 1_000_000)


def test_erasing_orders_a_store_and_a_merchant(warehouse: Warehouse, engine: Engine) -> None:
    m, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    warehouse.store([order(m, "A", now), order(m, "B", now), order(other, "A", now)])
    assert erase.erase_orders(engine, merchant_id=m, order_ids=["A"]) == {
        "fact_order_line": 1,
        "fact_order": 1,
        "fact_event": 1,
    }
    report = erase.orders_of(engine, merchant_id=m, order_ids=["B", "A"])
    assert [o["order_id"] for o in report] == ["B"]
    erase.erase_merchant(engine, merchant_id=m)
    with engine.connect() as conn:
        for table in (t.fact_order, t.fact_event, t.seen_event, t.rollup_merchant_daily):
            left = conn.execute(
                select(func.count()).select_from(table).where(table.c.merchant_id == m)
            ).scalar_one()
            assert left == 0, table.name
        assert (
            conn.execute(
                select(func.count())
                .select_from(t.fact_order)
                .where(t.fact_order.c.merchant_id == other)
            ).scalar_one()
            == 1
        )


def test_retention_drops_old_days_only(warehouse: Warehouse, engine: Engine) -> None:
    m = uuid.uuid4()
    now = datetime.now(UTC)
    warehouse.store([order(m, "old", now - timedelta(days=50)), order(m, "new", now)])
    counts = erase.apply_retention(
        engine, cutoffs={m: (now - timedelta(days=30)).date()}, default_cutoff=None
    )
    assert counts["fact_order"] == 1
    with engine.connect() as conn:
        left = (
            conn.execute(select(t.fact_order.c.order_id).where(t.fact_order.c.merchant_id == m))
            .scalars()
            .all()
        )
    assert left == ["new"]
