"""try-ons and add to carts: whether the product was opened from a recommendation

Revision ID: e5a17c3d9b42
Revises: c81f4e2a9d57
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a17c3d9b42"
down_revision: str | None = "c81f4e2a9d57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On PostgreSQL the column reaches every daily partition of fact_event with the parent.
    op.add_column("fact_event", sa.Column("from_recommendation", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fact_event") as batch:
        batch.drop_column("from_recommendation")
