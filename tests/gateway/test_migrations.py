"""Migrations upgrade and downgrade cleanly, and agree with the models, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from gateway.db import migrate
from gateway.db.models import Base

EXPECTED_TABLES = {
    "merchants",
    "experiments",
    "stores",
    "api_keys",
    "products",
    "product_variants",
    "tryon_assets",
    "brand_model_photos",
    "tryon_sessions",
    "usage_daily",
    "platform_jobs",
    "category_rules",
    "shopify_pixel_evidence",
    "quota_use",
    "magento_activations",
}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    assert _tables(empty_db) == EXPECTED_TABLES
    migrate.downgrade(empty_db, "base")
    assert _tables(empty_db) == set()
    migrate.upgrade(empty_db)
    assert _tables(empty_db) == EXPECTED_TABLES


def test_models_and_migrations_agree(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    assert _diff(empty_db) == []


def test_the_agreement_check_can_fail(empty_db: str, make_settings: Callable[..., object]) -> None:
    """Guard for the test above: a schema missing a table is reported as a difference."""
    migrate.upgrade(empty_db)
    engine = create_engine(empty_db)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tryon_sessions")
    engine.dispose()
    assert any(d[0] == "add_table" for d in _diff(empty_db))  # type: ignore[index]


def test_the_app_alone_knows_every_table() -> None:
    """A server process that never ran migrations must still map every table (a foreign key
    to a model nobody imported fails at the first insert, on PostgreSQL in production)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, gateway.main\n"
        "from gateway.db.base import Base\n"
        "print(json.dumps(sorted(Base.metadata.tables)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert set(json.loads(out)) == EXPECTED_TABLES


def test_full_secret_keys_get_the_orders_scope(empty_db: str) -> None:
    """Keys made with every scope there was get ``orders:write``; restricted ones do not."""
    from sqlalchemy.orm import Session

    from gateway.db.base import new_id, utcnow
    from gateway.keys import service as keys
    from gateway.keys.models import ApiKey, KeyKind

    before = ["products:read", "products:write", "keys:write", "usage:read"]
    migrate.upgrade(empty_db, "8582bc1a6b10")
    engine = create_engine(empty_db)
    try:
        with Session(engine) as session, session.begin():
            # The merchants table as it was at that revision (the model has grown since).
            merchant_id = new_id()
            session.execute(
                sa.table(
                    "merchants",
                    sa.column("id", sa.Uuid()),
                    sa.column("name", sa.String()),
                    sa.column("status", sa.String()),
                    sa.column("monthly_tryon_quota", sa.Integer()),
                    sa.column("created_at", sa.DateTime()),
                ).insert(),
                [
                    {
                        "id": merchant_id,
                        "name": "Old",
                        "status": "active",
                        "monthly_tryon_quota": 10,
                        "created_at": utcnow(),
                    }
                ],
            )
            made = {
                name: keys.create(
                    session=session, merchant_id=merchant_id, kind=kind, scopes=scopes
                )[0].id
                for name, kind, scopes in [
                    ("full", KeyKind.SECRET, before),
                    ("read-only", KeyKind.SECRET, ["usage:read"]),
                    ("publishable", KeyKind.PUBLISHABLE, ["widget"]),
                ]
            }

        def scopes() -> dict[str, list[str]]:
            with Session(engine) as session:
                return {n: list(session.get_one(ApiKey, i).scopes) for n, i in made.items()}

        migrate.upgrade(empty_db)
        assert scopes() == {
            "full": [*before, "orders:write", "experiments:write"],
            "read-only": ["usage:read"],
            "publishable": ["widget"],
        }
        migrate.downgrade(empty_db, "8582bc1a6b10")
        assert scopes()["full"] == before
    finally:
        engine.dispose()
