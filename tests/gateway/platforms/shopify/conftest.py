from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.db.session import session_scope
from gateway.platforms import installs
from gateway.platforms.protocol import InstallGrant, Tokens
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from testkit.fakes.shopify import FakeShopify
from tests.gateway.platforms import store_support as shared
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET

SHOP = "a-shop.myshopify.com"
PUBLIC_URL = "https://tryon.test"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify(API_KEY, API_SECRET) as shopify:
        shopify.add_shop(SHOP, primary_host="shop.example")
        yield shopify


@pytest.fixture
def shopify_settings(
    make_settings: Callable[..., GatewaySettings], tmp_path: Path, fake: FakeShopify
) -> Callable[..., GatewaySettings]:
    """Settings for an app talking to ``fake`` (SQLite unless ``database_url`` is given)."""
    return shared.settings_builder(
        make_settings,
        tmp_path / "shopify.db",
        fake.base_url,
        PUBLIC_URL,
        shopify_api_key=API_KEY,
        shopify_api_secret=API_SECRET,
    )


@pytest.fixture
def app_client(shopify_settings: Callable[..., GatewaySettings]) -> Iterator[TestClient]:
    """The gateway on SQLite, reached as https://tryon.test (Secure cookies travel)."""
    with shared.app_client(shopify_settings(), PUBLIC_URL) as client:
        yield client


def install_store(
    client: TestClient, fake: FakeShopify, shop: str = SHOP, *, expires_in_s: int | None = 3600
) -> Store:
    """An active installation of ``shop`` with a live token from the fake (no OAuth dance)."""
    settings: GatewaySettings = client.app.state.settings  # type: ignore[attr-defined]
    token = fake.issue_token(shop, scopes=settings.shopify_scopes)
    now = datetime.now(UTC)
    tokens = Tokens(
        access_token=token,
        scopes=tuple(settings.shopify_scopes.split(",")),
        expires_at=now + timedelta(seconds=expires_in_s) if expires_in_s is not None else None,
        refresh_token="shprt_unused" if expires_in_s is not None else None,
    )
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = installs.complete_install(
            session=session,
            settings=settings,
            platform=Platform.SHOPIFY,
            grant=InstallGrant(shop=shop, tokens=tokens),
        )
        session.flush()
        session.expunge(store)
    return store


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_client(
    request: pytest.FixtureRequest, shopify_settings: Callable[..., GatewaySettings]
) -> Iterator[TestClient]:
    """``app_client``, once on SQLite and once on PostgreSQL."""
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("fresh_postgres_url")
    with shared.app_client(shopify_settings(**overrides), PUBLIC_URL) as client:
        yield client
