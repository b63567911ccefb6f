from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.platforms.magento import signing
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store
from testkit.fakes.magento import FakeMagento
from tests.gateway.platforms import store_support as shared

HOST = "magento.test"
BASE = f"https://{HOST}"
PUBLIC_URL = "https://tryon.test"
ORDERS = "/platforms/magento/orders"
SESSION = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"


@pytest.fixture
def fake() -> Iterator[FakeMagento]:
    with FakeMagento() as magento:
        magento.add_store(HOST)
        yield magento


@pytest.fixture
def mg_settings(
    make_settings: Callable[..., GatewaySettings], tmp_path: Path, fake: FakeMagento
) -> Callable[..., GatewaySettings]:
    return shared.settings_builder(make_settings, tmp_path / "mg.db", fake.base_url, PUBLIC_URL)


@pytest.fixture
def app_client(mg_settings: Callable[..., GatewaySettings]) -> Iterator[TestClient]:
    with shared.app_client(mg_settings(), PUBLIC_URL) as client:
        yield client


drain = shared.drain
jobs_of = shared.jobs_of


def store_of(client: TestClient, shop: str = HOST) -> Store | None:
    return shared.store_of(client, Platform.MAGENTO, shop)


def activate(
    client: TestClient, fake: FakeMagento, host: str = HOST, **form: str
) -> tuple[tuple[str, str, str], Any]:
    """Magento's post to the endpoint URL for a new integration: (credentials, answer)."""
    integration = fake.create_integration(host)
    body = fake.activation_form(host, integration) | form
    return integration, client.post("/platforms/magento/activate", data=body)


def identity_form(client: TestClient, consumer_key: str, callback: str) -> dict[str, str]:
    """Open the identity link as Magento does; the confirm form's fields."""
    page = client.get(
        "/platforms/magento/identity",
        params={"oauth_consumer_key": consumer_key, "success_call_back": callback},
    )
    assert page.status_code == 200, page.text
    return dict(re.findall(r'name=(\w+) value="([^"]*)"', page.text))


def install(client: TestClient, fake: FakeMagento, host: str = HOST) -> tuple[str, str, str]:
    """Activate, open the identity link, confirm: the integration's credentials."""
    integration, answer = activate(client, fake, host)
    assert answer.status_code == 200, answer.text
    callback = f"https://{host}/admin/admin/integration/loginSuccessCallback/"
    fields = identity_form(client, integration[0], callback)
    done = client.post("/platforms/magento/identity", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == callback
    return integration


def signed_post(
    order: dict[str, Any],
    integration: tuple[str, str, str],
    *,
    shop: str = HOST,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """What the module's observer posts (the PHP signer agrees: the shared vector test)."""
    raw = body if body is not None else json.dumps({"order": order}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    key, secret, _ = integration
    return raw, {
        "Content-Type": "application/json",
        "X-Tryon-Magento-Shop": shop,
        "X-Tryon-Magento-Consumer": key,
        "X-Tryon-Magento-Timestamp": stamp,
        "X-Tryon-Magento-Signature": signing.signature(
            secret, timestamp=stamp, shop=shop, consumer_key=key, body=raw
        ),
    }
