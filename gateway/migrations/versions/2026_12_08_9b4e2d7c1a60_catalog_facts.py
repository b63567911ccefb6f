"""catalog facts for recommendations: product tags, variant price and stock

Revision ID: 9b4e2d7c1a60
Revises: d5a7c3e19f04
Create Date: 2026-12-08 00:00:00.000000

Tags come with the products (merchant API, platform syncs); a variant's price in 1/10000 of
its currency (as the warehouse's money) and whether it is in stock (null: not known, offered).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b4e2d7c1a60"
down_revision: str | None = "d5a7c3e19f04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("product_variants") as batch:
        batch.add_column(sa.Column("price_e4", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("in_stock", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product_variants") as batch:
        batch.drop_column("in_stock")
        batch.drop_column("price_e4")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("tags")
