from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics.settings import AnalyticsSettings
from analytics.warehouse import migrate
from analytics.warehouse.engine import make_engine
from analytics.warehouse.writer import Warehouse
from tests.support import services


@pytest.fixture(scope="session")
def pg_warehouse_url() -> Iterator[str]:
    """A PostgreSQL warehouse shared by the tests of this run (each uses its own merchants)."""
    with services.postgres_database("tryon_wh") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated warehouse, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'analytics.db'}"
        migrate.upgrade(url)
        return url
    shared: str = request.getfixturevalue("pg_warehouse_url")
    return shared


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[Engine]:
    engine = make_engine(AnalyticsSettings(warehouse_url=warehouse_url))
    yield engine
    engine.dispose()


@pytest.fixture
def warehouse(engine: Engine) -> Warehouse:
    return Warehouse(engine)
