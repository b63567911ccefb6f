"""warehouse

Revision ID: a1c0e5b7d901
Revises:
Create Date: 2026-11-22 02:04:48.156378
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import analytics.warehouse.tables

revision: str = "a1c0e5b7d901"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On PostgreSQL fact_event is a partitioned table (RANGE on day); its daily partitions
    # are created at run time by analytics.warehouse.partitions, and dropped with it.
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dead_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    op.create_table(
        "dim_merchant",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "first_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_dim_merchant")),
    )
    op.create_table(
        "dim_product",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column(
            "first_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("merchant_id", "product_id", name=op.f("pk_dim_product")),
    )
    op.create_table(
        "dim_store",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("store", sa.String(length=255), nullable=False),
        sa.Column(
            "first_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("merchant_id", "store", name=op.f("pk_dim_store")),
    )
    op.create_table(
        "fact_event",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("store", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column(
            "occurred_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "client_occurred_at",
            analytics.warehouse.tables.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "received_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("widget_session_id", sa.String(length=64), nullable=True),
        sa.Column("tryon_session_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=128), nullable=True),
        sa.Column("variant_id", sa.String(length=128), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("size", sa.String(length=32), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("day", "event_id", name=op.f("pk_fact_event")),
        postgresql_partition_by="RANGE (day)",
    )
    op.create_index(
        "ix_fact_event_merchant_day_type",
        "fact_event",
        ["merchant_id", "day", "type"],
        unique=False,
    )
    op.create_index(
        "ix_fact_event_merchant_product_day",
        "fact_event",
        ["merchant_id", "product_id", "day"],
        unique=False,
    )
    op.create_index(
        "ix_fact_event_merchant_tryon_session",
        "fact_event",
        ["merchant_id", "tryon_session_id"],
        unique=False,
    )
    op.create_table(
        "fact_order",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "occurred_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("store", sa.String(length=255), nullable=True),
        sa.Column("widget_session_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("revenue_e4", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "order_id", name=op.f("pk_fact_order")),
    )
    op.create_index(
        "ix_fact_order_merchant_day", "fact_order", ["merchant_id", "day"], unique=False
    )
    op.create_index(
        "ix_fact_order_merchant_widget_session",
        "fact_order",
        ["merchant_id", "widget_session_id"],
        unique=False,
    )
    op.create_table(
        "fact_order_line",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("variant_id", sa.String(length=128), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_e4", sa.BigInteger(), nullable=False),
        sa.Column("revenue_e4", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tryon_session_id", sa.String(length=64), nullable=True),
        sa.Column("widget_session_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint(
            "merchant_id", "order_id", "line_no", name=op.f("pk_fact_order_line")
        ),
    )
    op.create_index(
        "ix_fact_order_line_merchant_day_product",
        "fact_order_line",
        ["merchant_id", "day", "product_id"],
        unique=False,
    )
    op.create_index(
        "ix_fact_order_line_merchant_tryon_session",
        "fact_order_line",
        ["merchant_id", "tryon_session_id"],
        unique=False,
    )
    op.create_index(
        "ix_fact_order_line_merchant_widget_session",
        "fact_order_line",
        ["merchant_id", "widget_session_id"],
        unique=False,
    )
    op.create_table(
        "rollup_merchant_daily",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("opens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_started", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_rendered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_failed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("size_recommendations", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("add_to_carts", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "day", name=op.f("pk_rollup_merchant_daily")),
    )
    op.create_table(
        "rollup_merchant_revenue_daily",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revenue_e4", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "day", "currency", name=op.f("pk_rollup_merchant_revenue_daily")
        ),
    )
    op.create_table(
        "rollup_product_daily",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("opens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_started", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_rendered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tryons_failed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("size_recommendations", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("add_to_carts", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "day", "product_id", name=op.f("pk_rollup_product_daily")
        ),
    )
    op.create_table(
        "rollup_product_revenue_daily",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revenue_e4", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id",
            "day",
            "product_id",
            "currency",
            name=op.f("pk_rollup_product_revenue_daily"),
        ),
    )
    op.create_table(
        "seen_event",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "first_seen_at", analytics.warehouse.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("merchant_id", "event_id", name=op.f("pk_seen_event")),
    )


def downgrade() -> None:
    op.drop_table("seen_event")
    op.drop_table("rollup_product_revenue_daily")
    op.drop_table("rollup_product_daily")
    op.drop_table("rollup_merchant_revenue_daily")
    op.drop_table("rollup_merchant_daily")
    op.drop_index("ix_fact_order_line_merchant_widget_session", table_name="fact_order_line")
    op.drop_index("ix_fact_order_line_merchant_tryon_session", table_name="fact_order_line")
    op.drop_index("ix_fact_order_line_merchant_day_product", table_name="fact_order_line")
    op.drop_table("fact_order_line")
    op.drop_index("ix_fact_order_merchant_widget_session", table_name="fact_order")
    op.drop_index("ix_fact_order_merchant_day", table_name="fact_order")
    op.drop_table("fact_order")
    op.drop_index("ix_fact_event_merchant_tryon_session", table_name="fact_event")
    op.drop_index("ix_fact_event_merchant_product_day", table_name="fact_event")
    op.drop_index("ix_fact_event_merchant_day_type", table_name="fact_event")
    op.drop_table("fact_event")
    op.drop_table("dim_store")
    op.drop_table("dim_product")
    op.drop_table("dim_merchant")
    op.drop_table("dead_letter")
