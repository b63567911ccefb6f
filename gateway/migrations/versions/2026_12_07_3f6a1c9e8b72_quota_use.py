"""quota use: try-ons reserved per merchant and month, taken by conditional updates

Revision ID: 3f6a1c9e8b72
Revises: c4d2b9e81f3a
Create Date: 2026-12-07 20:10:00.000000

The rows are made on first use in a month, from that month's ``usage_daily`` counts: nothing
to copy here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f6a1c9e8b72"
down_revision: str | None = "c4d2b9e81f3a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quota_use",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_quota_use_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", "month", name=op.f("pk_quota_use")),
    )


def downgrade() -> None:
    op.drop_table("quota_use")
