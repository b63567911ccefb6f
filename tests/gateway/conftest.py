from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.main import create_app
from gateway.merchants import service as merchants
from gateway.settings import GatewaySettings


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(make_settings: Callable[..., GatewaySettings], db_url: str) -> GatewaySettings:
    migrate.upgrade(db_url)
    return make_settings(database_url=db_url)


@pytest.fixture
def client(settings: GatewaySettings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.fixture
def new_merchant(client: TestClient) -> Callable[..., merchants.NewMerchant]:
    """Create a merchant (with keys) in the client's database."""

    def create(name: str = "Merchant", **kwargs: Any) -> merchants.NewMerchant:
        with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
            return merchants.create(session=session, name=name, **kwargs)

    return create


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
