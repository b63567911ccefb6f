"""The warehouse: its own migrations, idempotent writes, incremental rollups, partitions."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, inspect, select, text

from analytics.settings import AnalyticsSettings
from analytics.warehouse import migrate
from analytics.warehouse import tables as t
from analytics.warehouse.engine import make_engine
from analytics.warehouse.migrate import include_object
from analytics.warehouse.writer import Warehouse
from tests.analytics.factories import purchase, record

TABLES = {table.name for table in t.metadata.sorted_tables}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_up_down_up_and_agree_with_the_tables(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _tables(empty_url) == TABLES | {migrate.VERSION_TABLE}
    migrate.downgrade(empty_url, "base")
    assert _tables(empty_url) == {migrate.VERSION_TABLE}
    migrate.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_object": include_object,
                    "version_table": migrate.VERSION_TABLE,
                },
            )
            assert compare_metadata(ctx, t.metadata) == []
    finally:
        engine.dispose()


def test_the_warehouse_can_share_the_gateways_database(empty_url: str) -> None:
    """Separate version tables: each side migrates without seeing the other's revisions."""
    from gateway.db import migrate as gateway_migrate
    from gateway.settings import get_settings

    try:
        gateway_migrate.upgrade(empty_url)
    finally:
        get_settings.cache_clear()  # its env.py caches settings read from this test's env
    migrate.upgrade(empty_url)
    assert {"alembic_version", migrate.VERSION_TABLE, "merchants", "fact_event"} <= _tables(
        empty_url
    )
    migrate.downgrade(empty_url, "base")
    assert "merchants" in _tables(empty_url)


def test_a_batch_stored_twice_counts_once(warehouse: Warehouse, engine: Engine) -> None:
    m = uuid.uuid4()
    now = datetime.now(UTC)
    records = [record(m, "impression", occurred_at=now) for _ in range(5)]
    assert warehouse.store(records).stored == 5
    again = warehouse.store(records + records[:2])
    assert (again.stored, again.duplicates) == (0, 7)
    with engine.connect() as conn:
        facts = conn.execute(
            select(func.count()).where(t.fact_event.c.merchant_id == m)
        ).scalar_one()
        impressions = conn.execute(
            select(t.rollup_merchant_daily.c.impressions).where(
                t.rollup_merchant_daily.c.merchant_id == m
            )
        ).scalar_one()
    assert (facts, impressions) == (5, 5)


def test_event_ids_are_scoped_by_merchant(warehouse: Warehouse) -> None:
    """Another merchant reusing an event id (by chance or malice) cannot hide an event."""
    now = datetime.now(UTC)
    a = record(uuid.uuid4(), "open", occurred_at=now)
    b = a.model_copy(update={"merchant_id": uuid.uuid4()})
    assert warehouse.store([a]).stored == 1
    assert warehouse.store([b]).stored == 1


def test_dimensions_widen_and_keep_the_category(warehouse: Warehouse, engine: Engine) -> None:
    m = uuid.uuid4()
    d1 = datetime(2026, 1, 10, tzinfo=UTC)
    warehouse.store([record(m, "impression", occurred_at=d1 + timedelta(days=2))])
    warehouse.store(
        [
            record(m, "tryon_rendered", occurred_at=d1 + timedelta(days=1)),
            record(m, "impression", occurred_at=d1, store="https://other.example"),
        ]
    )
    warehouse.store([record(m, "impression", occurred_at=d1 + timedelta(days=3))])
    with engine.connect() as conn:
        product = conn.execute(select(t.dim_product).where(t.dim_product.c.merchant_id == m)).one()
        stores = conn.execute(
            select(t.dim_store.c.store).where(t.dim_store.c.merchant_id == m)
        ).scalars()
        merchant = conn.execute(
            select(t.dim_merchant).where(t.dim_merchant.c.merchant_id == m)
        ).one()
    assert (product.first_seen_at, product.last_seen_at) == (d1, d1 + timedelta(days=3))
    assert product.category == "eyewear"  # a later event without a category keeps it
    assert set(stores) == {"https://shop.example", "https://other.example"}
    assert merchant.first_seen_at == d1


def test_order_lines_and_money_are_exact(warehouse: Warehouse, engine: Engine) -> None:
    m = uuid.uuid4()
    now = datetime.now(UTC)
    warehouse.store(
        [
            purchase(
                m,
                occurred_at=now,
                order_id="A-1",
                revenue="0.3",
                currency="JPY",
                lines=[{"product_id": "p", "quantity": 3, "price": "0.1"}],
            )
        ]
    )
    with engine.connect() as conn:
        line = conn.execute(
            select(t.fact_order_line).where(t.fact_order_line.c.merchant_id == m)
        ).one()
        revenue = conn.execute(
            select(t.rollup_product_revenue_daily.c.revenue_e4).where(
                t.rollup_product_revenue_daily.c.merchant_id == m
            )
        ).scalar_one()
    assert (line.unit_price_e4, line.revenue_e4, revenue) == (1000, 3000, 3000)


def test_concurrent_writers_store_each_event_once(warehouse_url: str) -> None:
    """Two consumers handed overlapping batches at the same time (a redelivery race)."""
    m = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(days=1)
    records = [
        record(m, "impression", occurred_at=start + timedelta(minutes=i), product_id=f"p{i % 7}")
        for i in range(600)
    ]
    engines = [
        make_engine(AnalyticsSettings(warehouse_url=warehouse_url), writer=True) for _ in range(2)
    ]
    results: list[int] = []
    errors: list[BaseException] = []

    def work(engine: Engine, seed: int) -> None:
        batch = records[:]
        random.Random(seed).shuffle(batch)
        writer = Warehouse(engine)
        try:
            for i in range(0, len(batch), 100):
                results.append(writer.store(batch[i : i + 100]).stored)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e, n)) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert sum(results) == 600
    check = create_engine(warehouse_url)
    with check.connect() as conn:
        total = conn.execute(
            select(func.sum(t.rollup_product_daily.c.impressions)).where(
                t.rollup_product_daily.c.merchant_id == m
            )
        ).scalar_one()
    check.dispose()
    assert total == 600


def test_postgres_partitions_by_day(pg_warehouse_url: str) -> None:
    engine = make_engine(AnalyticsSettings(warehouse_url=pg_warehouse_url))
    m = uuid.uuid4()
    days = [date(2025, 6, 1) + timedelta(days=i) for i in range(3)]
    Warehouse(engine).store(
        [
            record(m, "open", occurred_at=datetime(d.year, d.month, d.day, 23, 59, tzinfo=UTC))
            for d in days
        ]
    )
    with engine.connect() as conn:
        kind = conn.execute(
            text("SELECT relkind FROM pg_class WHERE relname = 'fact_event'")
        ).scalar_one()
        partitions = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'fact_event'"
                )
            ).scalars()
        )
        # Each row sits in the partition of its own day.
        rows = conn.execute(
            text("SELECT tableoid::regclass::text, day FROM fact_event WHERE merchant_id = :m"),
            {"m": m},
        )
        placed = {partition: day for partition, day in rows}
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN SELECT count(*) FROM fact_event WHERE day = '2025-06-02'")
            ).scalars()
        )
    engine.dispose()
    assert kind == "p"  # a partitioned table
    assert {"fact_event_p20250601", "fact_event_p20250602", "fact_event_p20250603"} <= partitions
    assert placed == {f"fact_event_p{d:%Y%m%d}": d for d in days}
    assert "fact_event_p20250602" in plan
    assert "fact_event_p20250601" not in plan  # pruned


@pytest.mark.parametrize("same_batch", [False, True])
def test_orders_join_their_cart_by_token(
    warehouse: Warehouse, engine: Engine, same_batch: bool
) -> None:
    """BigCommerce: the order only knows its cart id; the add_to_cart carried it too."""
    from analytics import metrics

    m = uuid.uuid4()
    now = datetime.now(UTC) - timedelta(minutes=5)
    carted = [
        record(
            m,
            "tryon_rendered",
            occurred_at=now,
            widget_session_id="wsession-bc",
            tryon_session_id="tryon-bc-1",
            product_id="p1",
        ),
        record(
            m,
            "add_to_cart",
            occurred_at=now + timedelta(seconds=5),
            widget_session_id="wsession-bc",
            tryon_session_id="tryon-bc-1",
            product_id="p1",
            properties={"quantity": 1, "cart_token": "4c0ffee-cart"},
        ),
    ]
    order = purchase(
        m,
        occurred_at=now + timedelta(minutes=1),
        order_id="bc-100",
        revenue="60.00",
        cart_token="4c0ffee-cart",
        lines=[
            {"product_id": "p1", "quantity": 1, "price": "50.00"},
            {"product_id": "p2", "quantity": 1, "price": "10.00"},
        ],
    )
    if same_batch:
        warehouse.store([order, *carted])
    else:
        warehouse.store(carted)
        warehouse.store([order])
    with engine.connect() as conn:
        stored = conn.execute(
            select(t.fact_order.c.widget_session_id).where(t.fact_order.c.merchant_id == m)
        ).scalar_one()
        lines = conn.execute(
            select(t.fact_order_line.c.product_id, t.fact_order_line.c.tryon_session_id)
            .where(t.fact_order_line.c.merchant_id == m)
            .order_by(t.fact_order_line.c.line_no)
        ).all()
        period = metrics.Period(now.date(), datetime.now(UTC).date())
        att = metrics.attribution(conn, merchant_id=m, period=period)
        conv = metrics.conversion(conn, merchant_id=m, period=period)
    assert stored == "wsession-bc"
    assert [tuple(row) for row in lines] == [("p1", "tryon-bc-1"), ("p2", None)]
    assert (att.attributed_orders, att.attributed_revenue) == (1, {"EUR": Decimal("50.00")})
    assert conv.with_tryon.purchased == 1


def test_a_fresh_embedded_warehouse_equals_a_migrated_one(tmp_path: Path) -> None:
    """``ensure_schema`` creates the tables at once and stamps head: same as migrating."""
    from alembic.script import ScriptDirectory

    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"
    migrate.ensure_schema(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_object": include_object,
                    "version_table": migrate.VERSION_TABLE,
                },
            )
            assert compare_metadata(ctx, t.metadata) == []
            head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
            assert ctx.get_current_revision() == head
    finally:
        engine.dispose()
    migrate.downgrade(url, "base")  # an existing, older database is migrated instead
    migrate.ensure_schema(url)
    assert _tables(url) == TABLES | {migrate.VERSION_TABLE}
