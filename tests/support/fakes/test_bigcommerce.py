"""Self-tests of the fake BigCommerce (testkit/fakes/bigcommerce.py): its token endpoint
refuses what BigCommerce's docs say it refuses, its API needs the store's token, and its v3
pagination and light hook bodies have the documented shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testkit.fakes.bigcommerce import FakeBigCommerce

REDIRECT = "https://tryon.test/platforms/bigcommerce/auth"
SECRET = "fake-selftest-secret-" + "f" * 24


@pytest.fixture
def fake() -> Iterator[FakeBigCommerce]:
    with FakeBigCommerce("cid", SECRET, redirect_uri=REDIRECT) as running:
        running.add_store("abc123")
        yield running


def _token(fake: FakeBigCommerce, **changes: Any) -> httpx.Response:
    body = {
        "client_id": "cid",
        "client_secret": SECRET,
        "code": fake.install_code("abc123", scope="store_v2_products_read_only"),
        "scope": "store_v2_products_read_only",
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "context": "stores/abc123",
    } | changes
    return httpx.post(f"{fake.base_url}/login.bigcommerce.com/oauth2/token", json=body)


def test_the_token_endpoint(fake: FakeBigCommerce) -> None:
    good = _token(fake)
    assert good.status_code == 200
    assert good.json()["context"] == "stores/abc123"
    assert _token(fake, client_secret="wrong").status_code == 401
    assert _token(fake, redirect_uri="https://evil.example/auth").status_code == 400
    assert _token(fake, context="stores/other").status_code == 400
    assert _token(fake, grant_type="refresh_token").status_code == 400
    assert _token(fake, code="never-issued").status_code == 400


def test_the_api_needs_the_store_token_and_pages(fake: FakeBigCommerce) -> None:
    for i in range(5):
        fake.add_product("abc123", name=f"P{i}")
    url = f"{fake.base_url}/api.bigcommerce.com/stores/abc123/v3/catalog/products"
    assert httpx.get(url).status_code == 401
    other = fake.add_store("zzz9")
    assert httpx.get(url, headers={"X-Auth-Token": fake.issue_token(other)}).status_code == 401
    token = fake.issue_token("abc123")
    page = httpx.get(url, params={"limit": 2, "page": 2}, headers={"X-Auth-Token": token}).json()
    assert len(page["data"]) == 2
    assert page["meta"]["pagination"]["total_pages"] == 3
    assert page["meta"]["pagination"]["links"]["next"] == "?page=3&limit=2"


def test_hooks_must_be_https_and_bodies_are_light(fake: FakeBigCommerce) -> None:
    token = fake.issue_token("abc123")
    url = f"{fake.base_url}/api.bigcommerce.com/stores/abc123/v3/hooks"
    headers = {"X-Auth-Token": token}
    refused = httpx.post(
        url, json={"scope": "store/order/created", "destination": "http://x"}, headers=headers
    )
    assert refused.status_code == 422
    body = fake.hook_body("abc123", "store/order/created", 250)
    assert body.startswith(b'{"scope": "store/order/created"')
    assert b'"data": {"type": "order", "id": 250}' in body
