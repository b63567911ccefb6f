"""The PostgreSQL write path by ``COPY`` (``analytics.warehouse.writer.copy_rows`` and the
claim through a temporary table): the columns come from the table's metadata, values go
through the column types, refused rows surface as SQLAlchemy's errors (so the batch is
stored record by record), and the facts equal those of the multi-row INSERT path."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select
from sqlalchemy.exc import DataError

from analytics.settings import AnalyticsSettings
from analytics.warehouse import tables as t
from analytics.warehouse.engine import make_engine
from analytics.warehouse.writer import Warehouse, copy_rows
from tests.analytics.factories import record


@pytest.fixture
def pg_engine(pg_warehouse_url: str) -> Iterator[Engine]:
    engine = make_engine(AnalyticsSettings(warehouse_url=pg_warehouse_url), writer=True)
    yield engine
    engine.dispose()


def test_columns_come_from_the_table_metadata(pg_engine: Engine) -> None:
    """A column added to a table (and to the rows) is copied with no change to the writer;
    one the rows do not carry takes its default; one the table lacks is refused."""
    name = f"copy_probe_{uuid.uuid4().hex[:8]}"
    probe = Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("label", String(8)),
        Column("added_later", String(16), server_default="none"),
    )
    probe.create(pg_engine)
    try:
        with pg_engine.begin() as conn:
            names = copy_rows(conn, probe, [{"id": 1, "label": "a"}, {"id": 2, "label": "b"}])
            assert names == ["id", "label"]
            copy_rows(conn, probe, [{"id": 3, "label": "c", "added_later": "new"}])
            rows = conn.execute(select(probe).order_by(probe.c.id)).all()
        assert [tuple(r) for r in rows] == [(1, "a", "none"), (2, "b", "none"), (3, "c", "new")]
        with pg_engine.begin() as conn, pytest.raises(ValueError, match="no column nope"):
            copy_rows(conn, probe, [{"id": 4, "nope": 1}])
        with pg_engine.begin() as conn, pytest.raises(DataError):
            copy_rows(conn, probe, [{"id": 5, "label": "far too long for eight"}])
    finally:
        probe.drop(pg_engine)


def test_copy_and_insert_paths_store_the_same_facts(pg_engine: Engine) -> None:
    by_copy = Warehouse(pg_engine)
    assert by_copy._copy
    by_insert = Warehouse(pg_engine)
    by_insert._copy = False
    now = datetime.now(UTC)
    facts = []
    for writer in (by_copy, by_insert):
        m = uuid.uuid4()
        batch = [
            record(m, "impression", occurred_at=now),
            record(m, "tryon_started", occurred_at=now, properties={"mode": "live"}),
            record(
                m,
                "tryon_rendered",
                occurred_at=now,
                properties={"mode": "photo", "category": "eyewear", "latency_ms": 41.5},
            ),
        ]
        assert writer.store(batch).stored == 3
        again = writer.store(batch)  # a redelivery: claimed before, stored nothing
        assert (again.stored, again.duplicates) == (0, 3)
        with pg_engine.connect() as conn:
            rows = conn.execute(
                select(t.fact_event)
                .where(t.fact_event.c.merchant_id == m)
                .order_by(t.fact_event.c.type)
            ).mappings()
            facts.append(
                [{k: v for k, v in r.items() if k not in ("merchant_id", "event_id")} for r in rows]
            )
    assert facts[0] == facts[1]
    assert len(facts[0]) == 3
    assert facts[0][1]["occurred_at"] == now


def test_a_refused_batch_leaves_the_connection_ready_for_the_next(pg_engine: Engine) -> None:
    """The claim's temporary table is created in the batch's transaction: a batch the
    database refuses (rolled back) must not leave the next one without it."""
    writer = Warehouse(pg_engine)
    m = uuid.uuid4()
    now = datetime.now(UTC)
    for _ in range(2):
        with pytest.raises(DataError):
            writer.store([record(m, "impression", occurred_at=now, store="shop\x00.example")])
        assert writer.store([record(m, "impression", occurred_at=now)]).stored == 1
