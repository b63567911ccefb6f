"""orders:write scope for existing full secret keys

Revision ID: 5c1e7d9a2b40
Revises: 8582bc1a6b10
Create Date: 2026-11-23 09:00:00.000000

``orders:write`` (``POST /v1/orders``) joins the scopes a new secret key gets by default.
Secret keys that hold every scope there was before it were made with the default (or with
every scope on purpose): they get it too, as they would have had it. Keys restricted to
fewer scopes stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e7d9a2b40"
down_revision: str | None = "8582bc1a6b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_SCOPE = "orders:write"
FULL_BEFORE = {"products:read", "products:write", "keys:write", "usage:read"}

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
    for key_id, scopes in _secret_keys():
        if set(scopes) >= FULL_BEFORE and NEW_SCOPE not in scopes:
            _set(key_id, [*scopes, NEW_SCOPE])


def downgrade() -> None:
    for key_id, scopes in _secret_keys():
        if NEW_SCOPE in scopes:
            _set(key_id, [s for s in scopes if s != NEW_SCOPE])
