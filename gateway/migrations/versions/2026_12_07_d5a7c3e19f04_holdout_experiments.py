"""holdout experiments: one row per period of a merchant's holdout; experiments:write scope

Revision ID: d5a7c3e19f04
Revises: 3f6a1c9e8b72
Create Date: 2026-12-07 23:30:00.000000

``experiments:write`` (``PUT /v1/experiment``) joins the scopes a new secret key gets by
default; secret keys holding every scope there was before it get it too (as
``5c1e7d9a2b40`` did for ``orders:write``); restricted keys stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.base

revision: str = "d5a7c3e19f04"
down_revision: str | None = "3f6a1c9e8b72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_SCOPE = "experiments:write"
FULL_BEFORE = {"products:read", "products:write", "keys:write", "usage:read", "orders:write"}

_keys = sa.table(
    "api_keys",
    sa.column("id", sa.Uuid()),
    sa.column("kind", sa.String(16)),
    sa.column("scopes", sa.JSON()),
)


def _secret_keys() -> list[tuple[object, list[str]]]:
    rows = op.get_bind().execute(
        sa.select(_keys.c.id, _keys.c.scopes).where(_keys.c.kind == "secret")
    )
    return [(key_id, list(scopes or [])) for key_id, scopes in rows]


def _set(key_id: object, scopes: list[str]) -> None:
    op.get_bind().execute(_keys.update().where(_keys.c.id == key_id).values(scopes=scopes))


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("holdout_basis_points", sa.Integer(), nullable=False),
        sa.Column("started_at", gateway.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", gateway.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_experiments_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    op.create_index(op.f("ix_experiments_merchant_id"), "experiments", ["merchant_id"])
    op.create_index("ix_experiments_merchant_started", "experiments", ["merchant_id", "started_at"])
    for key_id, scopes in _secret_keys():
        if set(scopes) >= FULL_BEFORE and NEW_SCOPE not in scopes:
            _set(key_id, [*scopes, NEW_SCOPE])


def downgrade() -> None:
    for key_id, scopes in _secret_keys():
        if NEW_SCOPE in scopes:
            _set(key_id, [s for s in scopes if s != NEW_SCOPE])
    op.drop_index("ix_experiments_merchant_started", table_name="experiments")
    op.drop_index(op.f("ix_experiments_merchant_id"), table_name="experiments")
    op.drop_table("experiments")
