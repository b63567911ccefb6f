from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms import store_support as shared

CLIENT_ID = "bc-client-id-123"
CLIENT_SECRET = "bc-client-secret-0123456789abcdef0123456789"
STORE_HASH = "abc123"
SHOP = f"store-{STORE_HASH}.mybigcommerce.com"
PUBLIC_URL = "https://tryon.test"
SCOPES = (
    "store_v2_products_read_only store_v2_orders_read_only store_v2_content "
    "store_v2_information_read_only"
)


@pytest.fixture
def fake() -> Iterator[FakeBigCommerce]:
    with FakeBigCommerce(
        CLIENT_ID, CLIENT_SECRET, redirect_uri=f"{PUBLIC_URL}/platforms/bigcommerce/auth"
    ) as bigcommerce:
        bigcommerce.add_store(STORE_HASH, secure_url="https://shop.example")
        yield bigcommerce


@pytest.fixture
def bc_settings(
    make_settings: Callable[..., GatewaySettings], tmp_path: Path, fake: FakeBigCommerce
) -> Callable[..., GatewaySettings]:
    return shared.settings_builder(
        make_settings,
        tmp_path / "bc.db",
        fake.base_url,
        PUBLIC_URL,
        bigcommerce_client_id=CLIENT_ID,
        bigcommerce_client_secret=CLIENT_SECRET,
    )


@pytest.fixture
def app_client(bc_settings: Callable[..., GatewaySettings]) -> Iterator[TestClient]:
    with shared.app_client(bc_settings(), PUBLIC_URL) as client:
        yield client


drain = shared.drain
jobs_of = shared.jobs_of


def store_of(client: TestClient, shop: str = SHOP) -> Store | None:
    return shared.store_of(client, Platform.BIGCOMMERCE, shop)


def install(client: TestClient, fake: FakeBigCommerce, store_hash: str = STORE_HASH) -> Any:
    """The auth callback as BigCommerce opens it after the merchant approves."""
    code = fake.install_code(store_hash, scope=SCOPES)
    return client.get(
        "/platforms/bigcommerce/auth",
        params={
            "code": code,
            "scope": SCOPES,
            "context": f"stores/{store_hash}",
            "account_uuid": "5f0c9b1e-0000-4000-8000-000000000001",
        },
    )


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PUBLIC_URL",
    "SCOPES",
    "SHOP",
    "STORE_HASH",
    "drain",
    "install",
    "jobs_of",
    "store_of",
]
