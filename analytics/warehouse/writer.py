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

from sqlalchemy import Connection, Engine, Table, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from analytics.errors import WarehouseUnavailable
from analytics.schema import EventRecord, Purchase
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
        counted = self._insert_orders(conn, [r for r in fresh if _is_purchase(r)])
        fresh = [
            r for r in fresh if not _is_purchase(r) or (r.merchant_id, r.event.event_id) in counted
        ]
        if not fresh:
            return 0
        self._insert_rows(conn, t.fact_event, [_fact_row(r) for r in fresh])
        self._insert_rows(
            conn, t.fact_order_line, [row for r in fresh if _is_purchase(r) for row in _lines(r)]
        )
        self._upsert_dimensions(conn, fresh)
        self._upsert_rollups(conn, fresh)
        return len(fresh)

    # -- idempotency ----------------------------------------------------------------------

    def _claim(
        self, conn: Connection, records: list[EventRecord], now: datetime
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Insert the event ids; return those that were not there before."""
        rows = [
            {"merchant_id": r.merchant_id, "event_id": r.event.event_id, "first_seen_at": now}
            for r in records
        ]
        new: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for chunk in _chunks(rows):
            stmt = (
                self._insert(t.seen_event)
                .values(list(chunk))
                .on_conflict_do_nothing()
                .returning(t.seen_event.c.merchant_id, t.seen_event.c.event_id)
            )
            new.update((m, e) for m, e in conn.execute(stmt))
        return new

    def _insert_orders(
        self, conn: Connection, purchases: list[EventRecord]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Insert orders not seen before; return the (merchant, event id) of those counted."""
        first: dict[tuple[uuid.UUID, str], EventRecord] = {}
        for r in purchases:
            first.setdefault((r.merchant_id, _order_id(r)), r)
        rows = []
        for r in first.values():
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
                }
            )
        counted: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for chunk in _chunks(rows):
            stmt = (
                self._insert(t.fact_order)
                .values(list(chunk))
                .on_conflict_do_nothing()
                .returning(t.fact_order.c.merchant_id, t.fact_order.c.event_id)
            )
            counted.update((m, o) for m, o in conn.execute(stmt))
        return counted

    def _insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            conn.execute(table.insert(), list(chunk))

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
            counter = t.EVENT_COUNTERS[event.type]
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


def _day(record: EventRecord) -> date:
    return record.event.occurred_at.astimezone(UTC).date()


def _is_purchase(record: EventRecord) -> bool:
    return isinstance(record.event, Purchase)


def _order_id(record: EventRecord) -> str:
    assert isinstance(record.event, Purchase)
    return record.event.properties.order_id


def _widen(seen: dict[Any, tuple[datetime, datetime]], key: Any, when: datetime) -> None:
    first, last = seen.get(key, (when, when))
    seen[key] = (min(first, when), max(last, when))


def _products_of(record: EventRecord) -> Iterable[tuple[str, str | None]]:
    event = record.event
    if isinstance(event, Purchase):
        return [(line.product_id, None) for line in event.properties.lines]
    category = getattr(event.properties, "category", None)
    return [(event.product_id, category)]


def _fact_row(record: EventRecord) -> dict[str, Any]:
    event = record.event
    props = event.properties
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
        "mode": getattr(props, "mode", None),
        "category": getattr(props, "category", None),
        "latency_ms": getattr(props, "latency_ms", None),
        "reason": getattr(props, "reason", None),
        "size": getattr(props, "size", None),
        "quantity": getattr(props, "quantity", None),
        "order_id": getattr(props, "order_id", None),
    }


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
