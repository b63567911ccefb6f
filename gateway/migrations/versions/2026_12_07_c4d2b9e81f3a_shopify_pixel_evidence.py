"""shopify pixel evidence: try-on session ids the web pixel saw on an order's checkout

Revision ID: c4d2b9e81f3a
Revises: a7c3e1f05b21
Create Date: 2026-12-07 21:00:00.000000

The web pixel's ``checkout_completed`` is kept as evidence keyed by (store, order id); the
order webhook's purchase takes the ids it lacks from it (``gateway.platforms.shopify.pixel``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.base

revision: str = "c4d2b9e81f3a"
down_revision: str | None = "a7c3e1f05b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = gateway.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "shopify_pixel_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("widget_session_id", sa.String(length=64), nullable=True),
        sa.Column("line_sessions", sa.JSON(), nullable=False),
        sa.Column("consumed_at", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "order_id"),
    )
    op.create_index(
        op.f("ix_shopify_pixel_evidence_merchant_id"),
        "shopify_pixel_evidence",
        ["merchant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_shopify_pixel_evidence_store_id"),
        "shopify_pixel_evidence",
        ["store_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shopify_pixel_evidence_store_id"), table_name="shopify_pixel_evidence")
    op.drop_index(
        op.f("ix_shopify_pixel_evidence_merchant_id"), table_name="shopify_pixel_evidence"
    )
    op.drop_table("shopify_pixel_evidence")
