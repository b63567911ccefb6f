"""add_to_cart: whether the shopper followed the size advice

Revision ID: b7d2e4a91c30
Revises: b3d9f2a6c140
Create Date: 2026-12-07 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2e4a91c30"
down_revision: str | None = "b3d9f2a6c140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On PostgreSQL the column reaches every daily partition of fact_event with the parent.
    op.add_column("fact_event", sa.Column("advice_followed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fact_event") as batch:
        batch.drop_column("advice_followed")
