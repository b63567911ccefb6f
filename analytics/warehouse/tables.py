"""Warehouse tables (SQLAlchemy Core). The same schema on SQLite and PostgreSQL.

* ``seen_event``: every event id ever stored, per merchant: the idempotency key.
* ``fact_event``: one row per event; on PostgreSQL partitioned by day (range on ``day``),
  partitions created on demand (``analytics.warehouse.partitions``).
* ``fact_order`` / ``fact_order_line``: purchases, one row per order (unique per merchant
  and order id, so a re-sent order is never counted twice) and per line. Money is stored as
  integers of 1/10000 of the currency unit (``*_e4``), exact on both databases.
* ``dim_*``: merchants, stores and products as first seen in events.
* ``rollup_*_daily``: counters per merchant and per product and day, updated in the same
  transaction as the facts, only for events stored for the first time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

MONEY_SCALE = 10_000
"""Money columns hold amounts times this (four decimal places, as the schema allows)."""

EVENT_COUNTERS = {
    "impression": "impressions",
    "open": "opens",
    "tryon_started": "tryons_started",
    "tryon_rendered": "tryons_rendered",
    "tryon_failed": "tryons_failed",
    "size_recommended": "size_recommendations",
    "add_to_cart": "add_to_carts",
}
"""Event type -> rollup counter; purchases count ``orders`` and ``units`` instead."""
COUNTERS = (*EVENT_COUNTERS.values(), "orders", "units")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _counter(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, default=0, server_default="0")


def _id(name: str, *, primary_key: bool = False) -> Column[uuid.UUID]:
    return Column(name, Uuid, nullable=False, primary_key=primary_key)


seen_event = Table(
    "seen_event",
    metadata,
    _id("merchant_id", primary_key=True),
    _id("event_id", primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

fact_event = Table(
    "fact_event",
    metadata,
    Column("day", Date, primary_key=True),
    _id("merchant_id", primary_key=True),
    _id("event_id", primary_key=True),
    Column("store", String(255)),
    Column("source", String(8), nullable=False),
    Column("type", String(24), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("client_occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("widget_session_id", String(64)),
    Column("tryon_session_id", String(64)),
    Column("product_id", String(128)),
    Column("variant_id", String(128)),
    Column("mode", String(8)),
    Column("category", String(16)),
    Column("latency_ms", Float),
    Column("reason", String(64)),
    Column("size", String(32)),
    Column("advice_followed", Boolean),
    # tryon_started / tryon_rendered / add_to_cart: opened from the widget's recommendations.
    Column("from_recommendation", Boolean),
    Column("quantity", Integer),
    Column("order_id", String(128)),
    Column("cart_token", String(128)),
    # order_updated: the refunded total in 1/10000 (its status is in ``reason``).
    Column("amount_e4", BigInteger),
    # A holdout experiment's shopper, experiment and arm (docs/analytics.md, "Holdout").
    Column("shopper_id", String(64)),
    Column("experiment_id", Uuid),
    Column("arm", String(9)),
    Index("ix_fact_event_merchant_day_type", "merchant_id", "day", "type"),
    # Orders find the experiment of their widget session through this.
    Index("ix_fact_event_merchant_widget_session", "merchant_id", "widget_session_id"),
    Index("ix_fact_event_merchant_product_day", "merchant_id", "product_id", "day"),
    Index("ix_fact_event_merchant_tryon_session", "merchant_id", "tryon_session_id"),
    Index("ix_fact_event_merchant_cart_token", "merchant_id", "cart_token"),
    postgresql_partition_by="RANGE (day)",
)

fact_order = Table(
    "fact_order",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("order_id", String(128), primary_key=True),
    _id("event_id"),
    Column("day", Date, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("store", String(255)),
    Column("widget_session_id", String(64)),
    Column("currency", String(3), nullable=False),
    Column("revenue_e4", BigInteger, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("cart_token", String(128)),
    # placed, updated, cancelled or refunded (from order_updated events).
    Column("status", String(16), nullable=False, default="placed", server_default="placed"),
    # The largest refunded total an order_updated reported; net revenue subtracts it.
    Column("refunded_e4", BigInteger, nullable=False, default=0, server_default="0"),
    # Inherited from the widget session's events (or the cart token's): the arm it counts in.
    Column("shopper_id", String(64)),
    Column("experiment_id", Uuid),
    Column("arm", String(9)),
    Index("ix_fact_order_merchant_day", "merchant_id", "day"),
    Index("ix_fact_order_merchant_experiment", "merchant_id", "experiment_id"),
    Index("ix_fact_order_merchant_widget_session", "merchant_id", "widget_session_id"),
)

fact_order_line = Table(
    "fact_order_line",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    Column("product_id", String(128), nullable=False),
    Column("variant_id", String(128)),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_e4", BigInteger, nullable=False),
    Column("revenue_e4", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tryon_session_id", String(64)),
    Column("widget_session_id", String(64)),
    Index("ix_fact_order_line_merchant_day_product", "merchant_id", "day", "product_id"),
    Index("ix_fact_order_line_merchant_tryon_session", "merchant_id", "tryon_session_id"),
    Index("ix_fact_order_line_merchant_widget_session", "merchant_id", "widget_session_id"),
)

dim_merchant = Table(
    "dim_merchant",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

dim_store = Table(
    "dim_store",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("store", String(255), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

dim_product = Table(
    "dim_product",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("product_id", String(128), primary_key=True),
    Column("category", String(16)),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

rollup_merchant_daily = Table(
    "rollup_merchant_daily",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("day", Date, primary_key=True),
    *(_counter(name) for name in COUNTERS),
)

rollup_product_daily = Table(
    "rollup_product_daily",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", String(128), primary_key=True),
    *(_counter(name) for name in COUNTERS),
)

rollup_merchant_revenue_daily = Table(
    "rollup_merchant_revenue_daily",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    _counter("orders"),
    _counter("revenue_e4"),
)
"""Order totals as the store reports them (shipping, taxes and discounts included)."""

rollup_product_revenue_daily = Table(
    "rollup_product_revenue_daily",
    metadata,
    _id("merchant_id", primary_key=True),
    Column("day", Date, primary_key=True),
    Column("product_id", String(128), primary_key=True),
    Column("currency", String(3), primary_key=True),
    _counter("units"),
    _counter("revenue_e4"),
)
"""Line revenue (unit price times quantity) per product."""

experiment_shopper = Table(
    "experiment_shopper",
    metadata,
    _id("merchant_id", primary_key=True),
    _id("experiment_id", primary_key=True),
    Column("shopper_id", String(64), primary_key=True),
    Column("arm", String(9), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("eligible_day", Date),
    Column("cart_day", Date),
    Column("tried_day", Date),
)
"""One row per shopper of a holdout experiment: their arm (the first one reported) and the
first day they were eligible (``eligible``), added to cart (``add_to_cart``) and, in the
treatment arm, saw a try-on (``tryon_rendered``). Kept up to date by the writer in the same
transaction as the facts: the experiment report reads this, not millions of events."""

EXPERIMENT_FIRST_DAYS = {
    "eligible": "eligible_day",
    "add_to_cart": "cart_day",
    "tryon_rendered": "tried_day",
}
"""Event type -> the ``experiment_shopper`` column holding its first day."""

dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dead_at", UTCDateTime, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("body", LargeBinary, nullable=False),
)
"""The embedded mode's dead-letter queue (RabbitMQ mode uses a real one)."""
