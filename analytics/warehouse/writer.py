"""Idempotent batch writes: facts, dimensions and rollups in one transaction.

An event is stored once per (merchant, event id): the ``seen_event`` insert decides which
events of a batch are new, and only those reach the facts and the rollup counters, in the
same transaction. A batch delivered twice (a consumer killed before its ack, a publisher
retrying after a lost confirm) therefore changes nothing the second time. Orders are also
unique per (merchant, order id), so an order re-sent under another event id counts once.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from analytics.errors import WarehouseUnavailable
from analytics.schema import (
    EventRecord,
    ExperimentTag,
    OrderUpdated,
    OrderUpdatedProperties,
    Purchase,
)
from analytics.warehouse import tables as t
from analytics.warehouse.partitions import PartitionManager

_CHUNK = 500  # rows per statement: under SQLite's bound-parameter limit for every table


@dataclass(frozen=True, slots=True)
class StoreResult:
    stored: int
    """Events stored for the first time."""
    duplicates: int
    """Events already stored (same merchant and event id, or an order already counted)."""


def to_e4(amount: Decimal) -> int:
    """Money as an exact integer of 1/10000 units (the schema allows four decimals)."""
    return int((amount * t.MONEY_SCALE).to_integral_exact())


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def is_transient(exc: BaseException) -> bool:
    """Errors that say the warehouse is unreachable now, as opposed to refusing the data."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Warehouse:
    """Writes records to the warehouse; one instance per process (it caches partitions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.partitions = PartitionManager(engine)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._copy = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        """PostgreSQL through psycopg 3: new facts and the dedupe claims go by ``COPY``."""

    def store(self, records: Sequence[EventRecord], *, now: datetime | None = None) -> StoreResult:
        """Store ``records`` once each; ``WarehouseUnavailable`` if it cannot be reached.

        Errors that reject the data itself (``IntegrityError``, ``DataError``) propagate
        unchanged so the caller can isolate the record responsible.
        """
        unique: dict[tuple[uuid.UUID, uuid.UUID], EventRecord] = {}
        for record in records:
            unique.setdefault((record.merchant_id, record.event.event_id), record)
        if not unique:
            return StoreResult(0, len(records))
        now = now or datetime.now(UTC)
        try:
            self.partitions.ensure({_day(r) for r in unique.values()})
            with self.engine.begin() as conn:
                stored = self._store(conn, list(unique.values()), now)
        except Exception as exc:
            if is_transient(exc):
                raise WarehouseUnavailable(f"warehouse unavailable: {type(exc).__name__}") from exc
            raise
        return StoreResult(stored, len(records) - stored)

    def _store(self, conn: Connection, records: list[EventRecord], now: datetime) -> int:
        new_keys = self._claim(conn, records, now)
        fresh = [r for r in records if (r.merchant_id, r.event.event_id) in new_keys]
        updates = [r for r in fresh if isinstance(r.event, OrderUpdated)]
        others = [r for r in fresh if not isinstance(r.event, Purchase | OrderUpdated)]
        self._insert_rows(conn, t.fact_event, [_fact_row(r) for r in others + updates])
        self._upsert_experiment_shoppers(conn, others)
        # After the batch's own add_to_cart facts, so an order can join to them.
        purchases = self._resolve_carts(conn, [r for r in fresh if _is_purchase(r)])
        purchases = self._resolve_experiments(conn, purchases)
        counted = self._insert_orders(conn, purchases)
        purchases = [r for r in purchases if (r.merchant_id, r.event.event_id) in counted]
        self._insert_rows(conn, t.fact_event, [_fact_row(r) for r in purchases])
        self._insert_rows(conn, t.fact_order_line, [row for r in purchases for row in _lines(r)])
        # Updates apply to orders stored before and to the ones this batch just stored; an
        # order arriving after its update picks it up here from the update's fact row.
        self._apply_order_updates(conn, updates, purchases)
        self._adopt_orders(conn, others)
        fresh = others + purchases
        if fresh:
            self._upsert_dimensions(conn, fresh)
            self._upsert_rollups(conn, fresh)
        return len(fresh) + len(updates)

    # -- idempotency ----------------------------------------------------------------------

    def _claim(
        self, conn: Connection, records: list[EventRecord], now: datetime
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Insert the event ids; return those that were not there before."""
        if self._copy:
            return self._claim_by_copy(conn, records, now)
        # Ascending key order: two consumers claiming overlapping batches wait on each other
        # in the same order instead of deadlocking.
        rows = sorted(
            (
                {"merchant_id": r.merchant_id, "event_id": r.event.event_id, "first_seen_at": now}
                for r in records
            ),
            key=lambda row: (str(row["merchant_id"]), str(row["event_id"])),
        )
        # executemany with RETURNING: SQLAlchemy batches the rows into multi-row INSERTs
        # ("insertmanyvalues") from one cached statement.
        stmt = (
            self._insert(t.seen_event)
            .on_conflict_do_nothing()
            .returning(t.seen_event.c.merchant_id, t.seen_event.c.event_id)
        )
        return {(m, e) for m, e in conn.execute(stmt, rows)}

    def _insert_orders(
        self, conn: Connection, purchases: list[EventRecord]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Insert orders not seen before; return the (merchant, event id) of those counted."""
        first: dict[tuple[uuid.UUID, str], EventRecord] = {}
        for r in purchases:
            first.setdefault((r.merchant_id, _order_id(r)), r)
        rows = []
        for _, r in sorted(first.items(), key=lambda item: (str(item[0][0]), item[0][1])):
            assert isinstance(r.event, Purchase)
            p = r.event.properties
            rows.append(
                {
                    "merchant_id": r.merchant_id,
                    "order_id": p.order_id,
                    "event_id": r.event.event_id,
                    "day": _day(r),
                    "occurred_at": r.event.occurred_at,
                    "store": r.store,
                    "widget_session_id": r.event.widget_session_id,
                    "currency": p.currency,
                    "revenue_e4": to_e4(p.revenue),
                    "lines": len(p.lines),
                    "cart_token": p.cart_token,
                    **_experiment_columns(r.event.experiment),
                }
            )
        if not rows:
            return set()
        stmt = (
            self._insert(t.fact_order)
            .on_conflict_do_nothing()
            .returning(t.fact_order.c.merchant_id, t.fact_order.c.event_id)
        )
        return {(m, e) for m, e in conn.execute(stmt, rows)}

    def _apply_order_updates(
        self, conn: Connection, updates: list[EventRecord], purchases: list[EventRecord]
    ) -> None:
        """Set each touched order's status (the latest update's) and refunded total (the
        largest seen), from every ``order_updated`` fact stored for it."""
        touched = {(r.merchant_id, _order_id(r)) for r in updates} | {
            (r.merchant_id, _order_id(r)) for r in purchases
        }
        e, o = t.fact_event, t.fact_order
        for merchant_id, order_id in sorted(touched, key=lambda k: (str(k[0]), k[1])):
            rows = conn.execute(
                select(e.c.reason, e.c.amount_e4)
                .where(
                    e.c.merchant_id == merchant_id,
                    e.c.type == "order_updated",
                    e.c.order_id == order_id,
                )
                .order_by(e.c.occurred_at, e.c.received_at)
            ).all()
            if not rows:
                continue
            conn.execute(
                o.update()
                .where(o.c.merchant_id == merchant_id, o.c.order_id == order_id)
                .values(
                    status=rows[-1].reason,
                    refunded_e4=max(int(r.amount_e4 or 0) for r in rows),
                )
            )

    def _resolve_carts(self, conn: Connection, purchases: list[EventRecord]) -> list[EventRecord]:
        """Fill the session ids an order lacks from the add-to-carts of the same cart token.

        For stores that cannot carry our ids into their orders (BigCommerce): the order's
        widget session is that of the latest add_to_cart with its cart token, and each line
        without a ``tryon_session_id`` takes the latest one added to that cart for its product.
        """
        wanted = {
            (r.merchant_id, r.event.properties.cart_token)
            for r in purchases
            if isinstance(r.event, Purchase) and r.event.properties.cart_token and _needs_ids(r)
        }
        if not wanted:
            return purchases
        e = t.fact_event
        found: dict[tuple[uuid.UUID, str], list[Any]] = defaultdict(list)
        for merchant_id in {m for m, _ in wanted}:
            tokens = sorted(token for m, token in wanted if m == merchant_id)
            rows = conn.execute(
                select(e.c.cart_token, e.c.product_id, e.c.widget_session_id, e.c.tryon_session_id)
                .where(
                    e.c.merchant_id == merchant_id,
                    e.c.type == "add_to_cart",
                    e.c.cart_token.in_(tokens),
                )
                .order_by(e.c.occurred_at)
            )
            for row in rows:
                found[(merchant_id, row.cart_token)].append(row)
        return [_with_cart_ids(r, found) for r in purchases]

    # -- holdout experiments ---------------------------------------------------------------

    def _upsert_experiment_shoppers(self, conn: Connection, records: list[EventRecord]) -> None:
        """Each experiment shopper's row: created by their first event, the first day of
        each step (eligible, add to cart, try-on shown) kept as the earliest seen."""
        rows: dict[tuple[uuid.UUID, uuid.UUID, str], dict[str, Any]] = {}
        for r in records:
            event = r.event
            tag = event.experiment
            if tag is None:
                continue
            key = (r.merchant_id, tag.id, tag.shopper_id)
            row = rows.setdefault(
                key,
                {
                    "merchant_id": r.merchant_id,
                    **_experiment_columns(tag),
                    "first_seen_at": event.occurred_at,
                    **dict.fromkeys(t.EXPERIMENT_FIRST_DAYS.values()),
                },
            )
            row["first_seen_at"] = min(row["first_seen_at"], event.occurred_at)
            column = t.EXPERIMENT_FIRST_DAYS.get(event.type)
            if column is not None:
                day = _day(r)
                row[column] = day if row[column] is None else min(row[column], day)
        if not rows:
            return
        table = t.experiment_shopper
        stmt = self._insert(table)
        ex = stmt.excluded
        updates: dict[str, Any] = {
            # The arm a shopper was first reported in stays: a later event cannot move them.
            "first_seen_at": case(
                (ex.first_seen_at < table.c.first_seen_at, ex.first_seen_at),
                else_=table.c.first_seen_at,
            ),
        }
        for column in t.EXPERIMENT_FIRST_DAYS.values():
            updates[column] = case(
                (table.c[column].is_(None), ex[column]),
                (ex[column].is_(None), table.c[column]),
                (ex[column] < table.c[column], ex[column]),
                else_=table.c[column],
            )
        upsert = stmt.on_conflict_do_update(
            index_elements=["merchant_id", "experiment_id", "shopper_id"], set_=updates
        )
        ordered = [rows[k] for k in sorted(rows, key=lambda k: (str(k[0]), str(k[1]), k[2]))]
        for chunk in _chunks(ordered):
            conn.execute(upsert, list(chunk))

    def _resolve_experiments(
        self, conn: Connection, purchases: list[EventRecord]
    ) -> list[EventRecord]:
        """An order inherits the shopper, experiment and arm of its widget session's latest
        event that carried them (the session id came from the cart attribute or the cart
        token's add to cart)."""
        wanted = {
            (r.merchant_id, r.event.widget_session_id)
            for r in purchases
            if r.event.widget_session_id is not None and r.event.experiment is None
        }
        if not wanted:
            return purchases
        found = self._session_experiments(conn, wanted)
        out = []
        for r in purchases:
            hit = found.get((r.merchant_id, r.event.widget_session_id or ""))
            if hit is None or r.event.experiment is not None:
                out.append(r)
                continue
            tag = ExperimentTag.model_validate({"id": hit[1], "arm": hit[2], "shopper_id": hit[0]})
            event = r.event.model_copy(update={"experiment": tag})
            out.append(r.model_copy(update={"event": event}))
        return out

    def _session_experiments(
        self, conn: Connection, sessions: set[tuple[uuid.UUID, str]]
    ) -> dict[tuple[uuid.UUID, str], tuple[str, uuid.UUID, str]]:
        e = t.fact_event
        found: dict[tuple[uuid.UUID, str], tuple[str, uuid.UUID, str]] = {}
        for merchant_id in sorted({m for m, _ in sessions}, key=str):
            ids = sorted(s for m, s in sessions if m == merchant_id)
            for start in range(0, len(ids), _CHUNK):
                rows = conn.execute(
                    select(e.c.widget_session_id, e.c.shopper_id, e.c.experiment_id, e.c.arm)
                    .where(
                        e.c.merchant_id == merchant_id,
                        e.c.widget_session_id.in_(ids[start : start + _CHUNK]),
                        e.c.experiment_id.is_not(None),
                    )
                    .order_by(e.c.occurred_at)
                )
                for row in rows:
                    found[(merchant_id, row.widget_session_id)] = (
                        row.shopper_id,
                        row.experiment_id,
                        row.arm,
                    )
        return found

    def _adopt_orders(self, conn: Connection, records: list[EventRecord]) -> None:
        """Orders stored before their session's experiment events arrived take them now."""
        sessions: dict[tuple[uuid.UUID, str], tuple[str, uuid.UUID, str]] = {}
        for r in records:
            ev = r.event
            if ev.widget_session_id and ev.experiment:
                tag = ev.experiment
                sessions[(r.merchant_id, ev.widget_session_id)] = (tag.shopper_id, tag.id, tag.arm)
        o = t.fact_order
        for (merchant_id, session_id), (shopper, experiment, arm) in sorted(
            sessions.items(), key=lambda item: (str(item[0][0]), item[0][1])
        ):
            conn.execute(
                o.update()
                .where(
                    o.c.merchant_id == merchant_id,
                    o.c.widget_session_id == session_id,
                    o.c.experiment_id.is_(None),
                )
                .values(shopper_id=shopper, experiment_id=experiment, arm=arm)
            )

    def _insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        if self._copy and rows:
            copy_rows(conn, table, rows)
            return
        for chunk in _chunks(rows):
            conn.execute(table.insert(), list(chunk))

    def _claim_by_copy(
        self, conn: Connection, records: list[EventRecord], now: datetime
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """``_claim`` on PostgreSQL: the batch's ids are copied into a temporary table shaped
        like ``seen_event`` (``LIKE``: columns added later come along), then inserted from
        there in one statement that returns the new ones. Three round trips per batch,
        whatever its size, and no SQL text as long as the batch to build and parse."""
        staging = "tryon_claim_staging"
        # Every batch: a batch that rolled back took the table's creation with it.
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
            f"(LIKE {t.seen_event.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        rows = [
            {"merchant_id": r.merchant_id, "event_id": r.event.event_id, "first_seen_at": now}
            for r in records
        ]
        names = copy_rows(conn, t.seen_event, rows, into=staging)
        source = Table(staging, MetaData(), *(Column(c.name, c.type) for c in t.seen_event.c))
        # Ascending key order: two consumers claiming overlapping batches wait on each other
        # in the same order instead of deadlocking.
        claim = (
            postgresql.insert(t.seen_event)
            .from_select(
                names,
                select(*(source.c[n] for n in names)).order_by(
                    source.c.merchant_id, source.c.event_id
                ),
            )
            .on_conflict_do_nothing()
            .returning(t.seen_event.c.merchant_id, t.seen_event.c.event_id)
        )
        return {(m, e) for m, e in conn.execute(claim)}

    # -- dimensions and rollups -----------------------------------------------------------

    def _upsert_dimensions(self, conn: Connection, records: list[EventRecord]) -> None:
        merchants: dict[uuid.UUID, tuple[datetime, datetime]] = {}
        stores: dict[tuple[uuid.UUID, str], tuple[datetime, datetime]] = {}
        products: dict[tuple[uuid.UUID, str], list[Any]] = {}
        for r in records:
            when = r.event.occurred_at
            _widen(merchants, r.merchant_id, when)
            if r.store:
                _widen(stores, (r.merchant_id, r.store), when)
            for product_id, category in _products_of(r):
                key = (r.merchant_id, product_id)
                entry = products.setdefault(key, [when, when, None])
                entry[0], entry[1] = min(entry[0], when), max(entry[1], when)
                entry[2] = category or entry[2]
        self._upsert_seen(
            conn,
            t.dim_merchant,
            ["merchant_id"],
            [
                {"merchant_id": m, "first_seen_at": a, "last_seen_at": b}
                for m, (a, b) in sorted(merchants.items())
            ],
        )
        self._upsert_seen(
            conn,
            t.dim_store,
            ["merchant_id", "store"],
            [
                {"merchant_id": m, "store": s, "first_seen_at": a, "last_seen_at": b}
                for (m, s), (a, b) in sorted(stores.items())
            ],
        )
        self._upsert_seen(
            conn,
            t.dim_product,
            ["merchant_id", "product_id"],
            [
                {
                    "merchant_id": m,
                    "product_id": p,
                    "first_seen_at": a,
                    "last_seen_at": b,
                    "category": c,
                }
                for (m, p), (a, b, c) in sorted(products.items())
            ],
        )

    def _upsert_seen(
        self, conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        ex = stmt.excluded
        updates: dict[str, Any] = {
            "first_seen_at": case(
                (ex.first_seen_at < table.c.first_seen_at, ex.first_seen_at),
                else_=table.c.first_seen_at,
            ),
            "last_seen_at": case(
                (ex.last_seen_at > table.c.last_seen_at, ex.last_seen_at),
                else_=table.c.last_seen_at,
            ),
        }
        if "category" in table.c:
            updates["category"] = func.coalesce(ex.category, table.c.category)
        upsert = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
        for chunk in _chunks(rows):
            conn.execute(upsert, list(chunk))

    def _upsert_rollups(self, conn: Connection, records: list[EventRecord]) -> None:
        merchant: defaultdict[tuple[uuid.UUID, date], Counter[str]] = defaultdict(Counter)
        product: defaultdict[tuple[uuid.UUID, date, str], Counter[str]] = defaultdict(Counter)
        merchant_rev: defaultdict[tuple[uuid.UUID, date, str], Counter[str]] = defaultdict(Counter)
        product_rev: defaultdict[tuple[uuid.UUID, date, str, str], Counter[str]] = defaultdict(
            Counter
        )
        for r in records:
            day, m = _day(r), r.merchant_id
            event = r.event
            if isinstance(event, Purchase):
                p = event.properties
                merchant[(m, day)]["orders"] += 1
                merchant_rev[(m, day, p.currency)].update(orders=1, revenue_e4=to_e4(p.revenue))
                in_order: set[str] = set()
                for line in p.lines:
                    units = line.quantity
                    merchant[(m, day)]["units"] += units
                    product[(m, day, line.product_id)]["units"] += units
                    if line.product_id not in in_order:
                        in_order.add(line.product_id)
                        product[(m, day, line.product_id)]["orders"] += 1
                    product_rev[(m, day, line.product_id, p.currency)].update(
                        units=units, revenue_e4=to_e4(line.price) * units
                    )
                continue
            if isinstance(event, OrderUpdated):
                continue  # applied to fact_order; rollups count placed orders
            counter = t.EVENT_COUNTERS.get(event.type)
            if counter is None:
                continue  # eligible: counted per experiment shopper, not in the rollups
            merchant[(m, day)][counter] += 1
            product[(m, day, event.product_id)][counter] += 1
        # Sorted keys: concurrent consumers then lock rows in the same order (no deadlock).
        self._add(conn, t.rollup_merchant_daily, ("merchant_id", "day"), merchant)
        self._add(conn, t.rollup_product_daily, ("merchant_id", "day", "product_id"), product)
        self._add(
            conn, t.rollup_merchant_revenue_daily, ("merchant_id", "day", "currency"), merchant_rev
        )
        self._add(
            conn,
            t.rollup_product_revenue_daily,
            ("merchant_id", "day", "product_id", "currency"),
            product_rev,
        )

    def _add(
        self,
        conn: Connection,
        table: Table,
        keys: tuple[str, ...],
        increments: dict[Any, Counter[str]],
    ) -> None:
        if not increments:
            return
        counters = [c.name for c in table.c if c.name not in keys]
        rows = [
            {**dict(zip(keys, key, strict=True)), **{c: inc.get(c, 0) for c in counters}}
            for key, inc in sorted(increments.items(), key=lambda item: tuple(map(str, item[0])))
        ]
        stmt = self._insert(table)
        upsert = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: table.c[c] + stmt.excluded[c] for c in counters},
        )
        for chunk in _chunks(rows):
            conn.execute(upsert, list(chunk))


def copy_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, into: str | None = None
) -> list[str]:
    """``COPY`` ``rows`` into ``table`` (or the table ``into``, shaped like it) on PostgreSQL
    through psycopg 3, in the transaction of ``conn``; returns the column names used.

    The columns are the table's own, in its metadata's order, that the rows carry (a column
    added to the table and to the rows comes along with no change here); each value goes
    through its column type's bind processing, as an ``INSERT`` would (UTC timestamps)."""
    keys = set(rows[0])
    unknown = keys - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    columns = [c for c in table.c if c.name in keys]
    dialect = conn.dialect
    processors = [c.type.bind_processor(dialect) for c in columns]
    names = [c.name for c in columns]
    sql = f"COPY {into or table.name} ({', '.join(names)}) FROM STDIN"
    dbapi = dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    [
                        process(row.get(name)) if process else row.get(name)
                        for name, process in zip(names, processors, strict=True)
                    ]
                )
    except dbapi.Error as exc:
        # As SQLAlchemy would raise it: a refused row is an IntegrityError or DataError (the
        # batch is then stored record by record), an outage an OperationalError (retried).
        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()
    return names


def _day(record: EventRecord) -> date:
    return record.event.occurred_at.astimezone(UTC).date()


def _is_purchase(record: EventRecord) -> bool:
    return isinstance(record.event, Purchase)


def _order_id(record: EventRecord) -> str:
    assert isinstance(record.event, Purchase | OrderUpdated)
    return record.event.properties.order_id


def _needs_ids(record: EventRecord) -> bool:
    event = record.event
    assert isinstance(event, Purchase)
    return event.widget_session_id is None or any(
        line.tryon_session_id is None for line in event.properties.lines
    )


def _with_cart_ids(
    record: EventRecord, found: dict[tuple[uuid.UUID, str], list[Any]]
) -> EventRecord:
    event = record.event
    assert isinstance(event, Purchase)
    token = event.properties.cart_token
    carts = found.get((record.merchant_id, token)) if token else None
    if not carts:
        return record
    by_product = {row.product_id: row.tryon_session_id for row in carts if row.tryon_session_id}
    lines = [
        line
        if line.tryon_session_id
        else line.model_copy(update={"tryon_session_id": by_product.get(line.product_id)})
        for line in event.properties.lines
    ]
    resolved = event.model_copy(
        update={
            "widget_session_id": event.widget_session_id or carts[-1].widget_session_id,
            "properties": event.properties.model_copy(update={"lines": lines}),
        }
    )
    return record.model_copy(update={"event": resolved})


def _widen(seen: dict[Any, tuple[datetime, datetime]], key: Any, when: datetime) -> None:
    first, last = seen.get(key, (when, when))
    seen[key] = (min(first, when), max(last, when))


def _products_of(record: EventRecord) -> Iterable[tuple[str, str | None]]:
    event = record.event
    if isinstance(event, Purchase):
        return [(line.product_id, None) for line in event.properties.lines]
    if isinstance(event, OrderUpdated):
        return []
    category = getattr(event.properties, "category", None)
    return [(event.product_id, category)]


def _fact_row(record: EventRecord) -> dict[str, Any]:
    event = record.event
    props = event.properties
    update = props if isinstance(props, OrderUpdatedProperties) else None
    # The properties' fields by name: ``getattr`` with a default costs an exception for
    # each field a type does not have, which was half of this function's time.
    p: dict[str, Any] = getattr(props, "__dict__", None) or {}
    return {
        "day": _day(record),
        "event_id": event.event_id,
        "merchant_id": record.merchant_id,
        "store": record.store,
        "source": record.source,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "client_occurred_at": record.client_occurred_at,
        "received_at": record.received_at,
        "widget_session_id": event.widget_session_id,
        "tryon_session_id": event.tryon_session_id,
        "product_id": event.product_id,
        "variant_id": event.variant_id,
        "mode": p.get("mode"),
        "category": p.get("category"),
        "latency_ms": p.get("latency_ms"),
        "reason": update.status if update else p.get("reason"),
        "size": p.get("size"),
        "advice_followed": p.get("advice_followed"),
        "from_recommendation": p.get("from_recommendation"),
        "quantity": p.get("quantity"),
        "order_id": p.get("order_id"),
        "cart_token": p.get("cart_token"),
        "amount_e4": to_e4(update.refunded) if update and update.refunded is not None else None,
        **_experiment_columns(event.experiment),
    }


def _experiment_columns(tag: ExperimentTag | None) -> dict[str, Any]:
    """The ``shopper_id``, ``experiment_id`` and ``arm`` columns of facts and orders."""
    if tag is None:
        return {"shopper_id": None, "experiment_id": None, "arm": None}
    return {"shopper_id": tag.shopper_id, "experiment_id": tag.id, "arm": tag.arm}


def _lines(record: EventRecord) -> list[dict[str, Any]]:
    event = record.event
    assert isinstance(event, Purchase)
    p = event.properties
    return [
        {
            "merchant_id": record.merchant_id,
            "order_id": p.order_id,
            "line_no": number,
            "day": _day(record),
            "product_id": line.product_id,
            "variant_id": line.variant_id,
            "quantity": line.quantity,
            "unit_price_e4": to_e4(line.price),
            "revenue_e4": to_e4(line.price) * line.quantity,
            "currency": p.currency,
            "tryon_session_id": line.tryon_session_id,
            "widget_session_id": event.widget_session_id,
        }
        for number, line in enumerate(p.lines, start=1)
    ]
