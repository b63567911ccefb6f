"""A gateway (SQLite, worker run by hand) and the fake WooCommerce on loopback, wired both
ways: the gateway reaches the fake through the test base URL, the fake's callbacks and
deliveries reach the gateway through the test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from testkit.fakes.woocommerce import FakeWooCommerce
from tests.gateway.platforms import store_support as shared

STORE_URL = "https://shop.example"
OTHER_URL = "https://other-shop.example/wp"
PUBLIC_URL = "https://tryon.test"


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce() as woocommerce:
        woocommerce.add_store(STORE_URL)
        woocommerce.add_store(OTHER_URL)
        yield woocommerce


@pytest.fixture
def wc_settings(
    make_settings: Callable[..., GatewaySettings], tmp_path: Path, fake: FakeWooCommerce
) -> Callable[..., GatewaySettings]:
    return shared.settings_builder(make_settings, tmp_path / "wc.db", fake.base_url, PUBLIC_URL)


@pytest.fixture
def app_client(
    wc_settings: Callable[..., GatewaySettings], fake: FakeWooCommerce
) -> Iterator[TestClient]:
    with shared.app_client(wc_settings(), PUBLIC_URL) as client:

        def send(url: str, headers: dict[str, str], body: bytes) -> int:
            return client.post(url, headers=headers, content=body).status_code

        fake.sender = send
        yield client
        fake.sender = None


drain = shared.drain
jobs_of = shared.jobs_of


def store_of(client: TestClient, shop: str = STORE_URL) -> Store | None:
    return shared.store_of(client, Platform.WOOCOMMERCE, shop)


def authorize_url(client: TestClient, store_url: str = STORE_URL) -> str:
    """The plugin's Connect button: the gateway's redirect to the store's wc-auth page."""
    answer = client.get(
        "/platforms/woocommerce/connect", params={"store_url": store_url}, follow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def connect(
    client: TestClient, fake: FakeWooCommerce, store_url: str = STORE_URL, **approve: Any
) -> tuple[int, str]:
    """Connect the store as the merchant does: button, WooCommerce's approval, callback."""
    return fake.approve(authorize_url(client, store_url), **approve)


__all__ = [
    "OTHER_URL",
    "PUBLIC_URL",
    "STORE_URL",
    "authorize_url",
    "connect",
    "drain",
    "jobs_of",
    "store_of",
]
