"""order updates: fact_order status and refunded total, fact_event amount

Revision ID: b3d9f2a6c140
Revises: a1c0e5b7d901
Create Date: 2026-12-07 20:10:00.000000

``order_updated`` events (cancellations, refunds from the platforms' order webhooks) set an
order's ``status`` and ``refunded_e4``; their facts keep the refunded amount in
``fact_event.amount_e4``. Plain ADD COLUMNs (a partitioned table passes them to its
partitions).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d9f2a6c140"
down_revision: str | None = "a1c0e5b7d901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "fact_order",
        sa.Column("status", sa.String(length=16), nullable=False, server_default="placed"),
    )
    op.add_column(
        "fact_order",
        sa.Column("refunded_e4", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column("fact_event", sa.Column("amount_e4", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("fact_event", "amount_e4")
    op.drop_column("fact_order", "refunded_e4")
    op.drop_column("fact_order", "status")
