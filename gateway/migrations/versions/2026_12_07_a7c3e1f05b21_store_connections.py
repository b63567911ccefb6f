"""store connections: installation record, platform jobs, category rules, retention

Revision ID: a7c3e1f05b21
Revises: 5c1e7d9a2b40
Create Date: 2026-12-07 20:00:00.000000

The installation record (``stores``) gains encrypted refresh token and second secret, token
expiry, ``extra``, the shop's widget key, redaction time and sync state; ``platform_jobs`` is
the durable queue behind webhook intake and syncs; ``category_rules`` maps a store's product
types, tags and collections to our categories; merchants get a warehouse retention setting.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.base

revision: str = "a7c3e1f05b21"
down_revision: str | None = "5c1e7d9a2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = gateway.db.base.UTCDateTime
_CATEGORY = sa.Enum(
    "eyewear", "hat", "earrings", "necklace", "top", name="category", native_enum=False, length=16
)


def upgrade() -> None:
    op.create_table(
        "category_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "product_type", "tag", "collection", name="rulefield", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("category", _CATEGORY, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_category_rules_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_category_rules_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_rules")),
        sa.UniqueConstraint(
            "store_id", "field", "value", name=op.f("uq_category_rules_store_id_field_value")
        ),
    )
    op.create_index(
        op.f("ix_category_rules_merchant_id"), "category_rules", ["merchant_id"], unique=False
    )
    op.create_index(
        op.f("ix_category_rules_store_id"), "category_rules", ["store_id"], unique=False
    )

    op.create_table(
        "platform_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "webhook",
                "sync_store",
                "sync_product",
                "ensure_webhooks",
                name="jobkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("store_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "running", "done", "dead", name="jobstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", _UTC(timezone=True), nullable=False),
        sa.Column("locked_until", _UTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_platform_jobs_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_platform_jobs_dedupe_key")),
    )
    op.create_index("ix_platform_jobs_due", "platform_jobs", ["status", "run_after"], unique=False)
    op.create_index(op.f("ix_platform_jobs_store_id"), "platform_jobs", ["store_id"], unique=False)

    # Plain ADD COLUMNs, no batch: on SQLite a batch rebuilds the table, and dropping the old
    # ``merchants`` or ``stores`` would fire the ON DELETE actions of every table that
    # references them.
    op.add_column("merchants", sa.Column("analytics_retention_days", sa.Integer(), nullable=True))
    for column in (
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("token_expires_at", _UTC(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", _UTC(timezone=True), nullable=True),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("redacted_at", _UTC(timezone=True), nullable=True),
        sa.Column("widget_key_id", sa.Uuid(), nullable=True),
        sa.Column("widget_key_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "sync_status",
            sa.Enum(
                "never",
                "queued",
                "running",
                "succeeded",
                "partial",
                "failed",
                name="syncstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
            server_default="never",
        ),
        sa.Column("sync_started_at", _UTC(timezone=True), nullable=True),
        sa.Column("sync_finished_at", _UTC(timezone=True), nullable=True),
        sa.Column("sync_counts", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("sync_failures", sa.JSON(), nullable=False, server_default="[]"),
    ):
        op.add_column("stores", column)


def downgrade() -> None:
    # DROP COLUMN (SQLite 3.35+) without a batch, for the reason given in ``upgrade``.
    for column in (
        "sync_failures",
        "sync_counts",
        "sync_finished_at",
        "sync_started_at",
        "sync_status",
        "widget_key_encrypted",
        "widget_key_id",
        "redacted_at",
        "extra",
        "secret_encrypted",
        "refresh_expires_at",
        "token_expires_at",
        "refresh_token_encrypted",
    ):
        op.drop_column("stores", column)
    op.drop_column("merchants", "analytics_retention_days")
    op.drop_index(op.f("ix_platform_jobs_store_id"), table_name="platform_jobs")
    op.drop_index("ix_platform_jobs_due", table_name="platform_jobs")
    op.drop_table("platform_jobs")
    op.drop_index(op.f("ix_category_rules_store_id"), table_name="category_rules")
    op.drop_index(op.f("ix_category_rules_merchant_id"), table_name="category_rules")
    op.drop_table("category_rules")
