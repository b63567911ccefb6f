"""magento activations: the integration's credentials until the identity link is confirmed

Revision ID: e5b7a2c94d10
Revises: 9b4e2d7c1a60
Create Date: 2026-12-07 23:10:00.000000

Magento posts the consumer key and secret, the store's base URL and a verifier to the
integration's endpoint; the token exchange happens once the merchant confirms on the identity
link (``gateway.platforms.magento``). Secrets are Fernet ciphertext.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db.base

revision: str = "e5b7a2c94d10"
down_revision: str | None = "9b4e2d7c1a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = gateway.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "magento_activations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consumer_key", sa.String(length=64), nullable=False),
        sa.Column("store_base_url", sa.String(length=255), nullable=False),
        sa.Column("consumer_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consumer_key"),
    )


def downgrade() -> None:
    op.drop_table("magento_activations")
