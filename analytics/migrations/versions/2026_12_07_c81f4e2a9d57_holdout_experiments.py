"""holdout experiments: shopper, experiment and arm on events and orders; experiment_shopper

Revision ID: c81f4e2a9d57
Revises: b7d2e4a91c30
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from analytics.warehouse.tables import UTCDateTime

revision: str = "c81f4e2a9d57"
down_revision: str | None = "b7d2e4a91c30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("shopper_id", sa.String(64)),
    ("experiment_id", sa.Uuid()),
    ("arm", sa.String(9)),
)


def upgrade() -> None:
    # On PostgreSQL columns and indexes of fact_event reach every daily partition.
    for table in ("fact_event", "fact_order"):
        for name, kind in _COLUMNS:
            op.add_column(table, sa.Column(name, kind, nullable=True))
    op.create_index(
        "ix_fact_event_merchant_widget_session", "fact_event", ["merchant_id", "widget_session_id"]
    )
    op.create_index(
        "ix_fact_order_merchant_experiment", "fact_order", ["merchant_id", "experiment_id"]
    )
    op.create_table(
        "experiment_shopper",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("shopper_id", sa.String(64), nullable=False),
        sa.Column("arm", sa.String(9), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("eligible_day", sa.Date(), nullable=True),
        sa.Column("cart_day", sa.Date(), nullable=True),
        sa.Column("tried_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint(
            "merchant_id", "experiment_id", "shopper_id", name="pk_experiment_shopper"
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_shopper")
    op.drop_index("ix_fact_order_merchant_experiment", table_name="fact_order")
    op.drop_index("ix_fact_event_merchant_widget_session", table_name="fact_event")
    for table in ("fact_order", "fact_event"):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(_COLUMNS):
                batch.drop_column(name)
