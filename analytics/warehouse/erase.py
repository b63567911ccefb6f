"""Erasing warehouse rows: a shop's redaction, a customer's orders, retention.

The gateway calls these (``gateway.platforms.redaction``, ``tryon analytics retention``);
they are the only code that deletes warehouse rows. Each returns how many rows it deleted
per table, so callers and tests can count.

Rollups are left alone: they hold counts per day and product, no order id, session id or
customer reference, and the dashboards' past totals stay as they were (a shop's redaction
deletes its merchant's rollups too when the whole merchant goes).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Engine, Table, delete, select, text

from analytics.warehouse import partitions
from analytics.warehouse import tables as t

ORDER_TABLES = (t.fact_order_line, t.fact_order)
MERCHANT_TABLES = (
    t.fact_order_line,
    t.fact_order,
    t.fact_event,
    t.seen_event,
    t.dim_store,
    t.dim_product,
    t.dim_merchant,
    t.rollup_merchant_daily,
    t.rollup_product_daily,
    t.rollup_merchant_revenue_daily,
    t.rollup_product_revenue_daily,
    t.experiment_shopper,
)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def erase_orders(
    engine: Engine, *, merchant_id: uuid.UUID, order_ids: Iterable[str]
) -> dict[str, int]:
    """Delete the orders (their lines and purchase events) with these ids."""
    ids = sorted({o for o in order_ids if o})
    counts = {"fact_order_line": 0, "fact_order": 0, "fact_event": 0}
    if not ids:
        return counts
    with engine.begin() as conn:
        for table in (*ORDER_TABLES, t.fact_event):
            result = conn.execute(
                delete(table).where(table.c.merchant_id == merchant_id, table.c.order_id.in_(ids))
            )
            counts[table.name] += _count(result)
    return counts


def orders_of(
    engine: Engine, *, merchant_id: uuid.UUID, order_ids: Iterable[str]
) -> list[dict[str, object]]:
    """What the warehouse holds for these orders (a customer data request's answer)."""
    ids = sorted({o for o in order_ids if o})
    if not ids:
        return []
    o, line = t.fact_order, t.fact_order_line
    with engine.connect() as conn:
        orders = conn.execute(
            select(o).where(o.c.merchant_id == merchant_id, o.c.order_id.in_(ids))
        ).mappings()
        out: list[dict[str, object]] = []
        for row in orders:
            lines = conn.execute(
                select(line).where(
                    line.c.merchant_id == merchant_id, line.c.order_id == row["order_id"]
                )
            ).mappings()
            out.append(
                {
                    **{k: _plain(v) for k, v in row.items() if k != "merchant_id"},
                    "lines": [
                        {k: _plain(v) for k, v in li.items() if k not in {"merchant_id"}}
                        for li in lines
                    ],
                }
            )
    return out


def _plain(value: object) -> object:
    if isinstance(value, uuid.UUID | date):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


def erase_store(engine: Engine, *, merchant_id: uuid.UUID, store: str) -> dict[str, int]:
    """Delete the rows one store of a merchant sent (events, orders and their lines, the
    store's dimension row); the merchant's other stores keep theirs."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        orders = select(t.fact_order.c.order_id).where(
            t.fact_order.c.merchant_id == merchant_id, t.fact_order.c.store == store
        )
        line = t.fact_order_line
        counts["fact_order_line"] = _count(
            conn.execute(
                delete(line).where(line.c.merchant_id == merchant_id, line.c.order_id.in_(orders))
            )
        )
        for table in (t.fact_order, t.fact_event, t.dim_store):
            counts[table.name] = _count(
                conn.execute(
                    delete(table).where(table.c.merchant_id == merchant_id, table.c.store == store)
                )
            )
    return counts


def erase_merchant(engine: Engine, *, merchant_id: uuid.UUID) -> dict[str, int]:
    """Delete every row of the merchant (its facts, dimensions, rollups, idempotency keys)."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for table in MERCHANT_TABLES:
            counts[table.name] = _count(
                conn.execute(delete(table).where(table.c.merchant_id == merchant_id))
            )
    return counts


def _delete_before(conn: object, table: Table, merchant_id: uuid.UUID, cutoff: date) -> int:
    return _count(
        conn.execute(  # type: ignore[attr-defined]
            delete(table).where(table.c.merchant_id == merchant_id, table.c.day < cutoff)
        )
    )


def apply_retention(
    engine: Engine, *, cutoffs: dict[uuid.UUID, date], default_cutoff: date | None = None
) -> dict[str, int]:
    """Delete facts and rollups of days before each merchant's cutoff.

    ``cutoffs``: merchant -> first day to keep; merchants not named use ``default_cutoff``
    (None: kept). On PostgreSQL, daily ``fact_event`` partitions entirely before the earliest
    cutoff that applies to every merchant are dropped whole (no row-by-row delete).
    """
    counts = {
        name: 0
        for name in (
            "fact_event",
            "fact_order",
            "fact_order_line",
            "rollup_merchant_daily",
            "rollup_product_daily",
            "rollup_merchant_revenue_daily",
            "rollup_product_revenue_daily",
            "partitions_dropped",
        )
    }
    day_tables = [
        t.fact_order_line,
        t.fact_order,
        t.fact_event,
        t.rollup_merchant_daily,
        t.rollup_product_daily,
        t.rollup_merchant_revenue_daily,
        t.rollup_product_revenue_daily,
    ]
    with engine.begin() as conn:
        merchants = set(conn.execute(select(t.dim_merchant.c.merchant_id)).scalars())
        merchants |= set(conn.execute(select(t.fact_event.c.merchant_id).distinct()).scalars())
        plan = {m: cutoffs.get(m, default_cutoff) for m in merchants | set(cutoffs)}
        if engine.dialect.name == "postgresql" and plan and all(plan.values()):
            floor = min(c for c in plan.values() if c is not None)
            names = conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
                ),
                {"parent": partitions.PARENT},
            ).scalars()
            for name in sorted(names):
                if partitions.is_partition(name) and name < partitions.partition_name(floor):
                    # Names come from the catalogue and match the partition pattern.
                    conn.execute(text(f'DROP TABLE "{name}"'))
                    counts["partitions_dropped"] += 1
        for merchant_id, cutoff in sorted(plan.items(), key=lambda kv: str(kv[0])):
            if cutoff is None:
                continue
            for table in day_tables:
                counts[table.name] += _delete_before(conn, table, merchant_id, cutoff)
    return counts
