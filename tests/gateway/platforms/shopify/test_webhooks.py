"""``POST /platforms/shopify/webhooks``: every topic, signed like Shopify signs them (the fake
signs; the adapter verifies), and forged, replayed, stale and oversized deliveries."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms.models import JobKind, PlatformJob
from tests.gateway.conftest import assert_problem
from tests.gateway.platforms.shopify.conftest import SHOP, install_store
from tests.support.fakes.shopify import FakeShopify

URL = "/platforms/shopify/webhooks"
TOPICS = {
    "customers/data_request": {"shop_domain": SHOP, "customer": {"id": 1}, "orders_requested": [2]},
    "customers/redact": {"shop_domain": SHOP, "customer": {"id": 1}, "orders_to_redact": [2]},
    "shop/redact": {"shop_domain": SHOP, "shop_id": 1},
    "app/uninstalled": {"id": 1, "domain": SHOP},
    "products/create": {"id": 632910392},
    "products/update": {"id": 632910392},
    "products/delete": {"id": 632910392},
    "orders/create": {"id": 1, "line_items": []},
    "orders/updated": {"id": 1, "line_items": []},
    "orders/cancelled": {"id": 1, "line_items": []},
    "orders/paid": {"id": 1, "line_items": []},
    "refunds/create": {"id": 1, "order_id": 1},
}


def _post(
    client: TestClient, fake: FakeShopify, topic: str, payload: object, **kwargs: object
) -> object:
    body = json.dumps(payload).encode()
    headers = fake.webhook_headers(topic, SHOP, body, **kwargs)  # type: ignore[arg-type]
    return client.post(URL, content=body, headers=headers)


def _webhook_jobs(client: TestClient) -> list[dict[str, object]]:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return [
            j.payload
            for j in session.scalars(select(PlatformJob).where(PlatformJob.kind == JobKind.WEBHOOK))
        ]


def test_every_topic_is_taken(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake)
    for topic, payload in TOPICS.items():
        response = _post(app_client, fake, topic, payload)
        assert response.status_code == 200, (topic, response.text)  # type: ignore[attr-defined]
    assert sorted(str(j["topic"]) for j in _webhook_jobs(app_client)) == sorted(TOPICS)


def test_a_retried_delivery_is_one_job(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake)
    webhook_id = str(uuid.uuid4())
    for _ in range(3):
        response = _post(
            app_client, fake, "orders/create", TOPICS["orders/create"], webhook_id=webhook_id
        )
        assert response.status_code == 200  # type: ignore[attr-defined]
    assert len(_webhook_jobs(app_client)) == 1


def test_a_forged_webhook_is_401(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake)
    response = _post(app_client, fake, "orders/create", TOPICS["orders/create"], tamper=True)
    assert_problem(response, 401, "unauthorized")
    body = json.dumps({"id": 1}).encode()
    headers = fake.webhook_headers("orders/create", SHOP, body)
    assert_problem(app_client.post(URL, content=body + b" ", headers=headers), 401, "unauthorized")
    del headers["X-Shopify-Hmac-Sha256"]
    assert_problem(app_client.post(URL, content=body, headers=headers), 401, "unauthorized")
    assert _webhook_jobs(app_client) == []


def test_a_signed_body_with_forged_headers_cannot_move_to_another_shop(
    app_client: TestClient, fake: FakeShopify
) -> None:
    install_store(app_client, fake)
    body = json.dumps(TOPICS["shop/redact"]).encode()
    headers = fake.webhook_headers("shop/redact", SHOP, body)
    headers["X-Shopify-Shop-Domain"] = "other-shop.myshopify.com"
    assert_problem(app_client.post(URL, content=body, headers=headers), 400, "bad-request")


def test_a_stale_replay_is_refused(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake)
    body = json.dumps(TOPICS["orders/create"]).encode()
    headers = fake.webhook_headers("orders/create", SHOP, body)
    headers["X-Shopify-Triggered-At"] = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    assert_problem(app_client.post(URL, content=body, headers=headers), 401, "unauthorized")
    assert _webhook_jobs(app_client) == []


def test_an_unknown_shop_gets_200_and_nothing_changes(
    app_client: TestClient, fake: FakeShopify
) -> None:
    response = _post(app_client, fake, "orders/create", TOPICS["orders/create"])
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert _webhook_jobs(app_client) == []


def test_a_large_order_is_taken_and_an_oversized_body_is_413(
    app_client: TestClient, fake: FakeShopify
) -> None:
    install_store(app_client, fake)
    large = json.dumps({"id": 1, "line_items": [], "note": "a" * (600 * 1024)}).encode()
    headers = fake.webhook_headers("orders/create", SHOP, large)
    assert app_client.post(URL, content=large, headers=headers).status_code == 200
    body = b'{"pad": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    headers = fake.webhook_headers("orders/create", SHOP, body)
    assert_problem(app_client.post(URL, content=body, headers=headers), 413, "payload-too-large")


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"\xff"])
def test_signed_garbage_is_400(app_client: TestClient, fake: FakeShopify, body: bytes) -> None:
    install_store(app_client, fake)
    headers = fake.webhook_headers("orders/create", SHOP, body)
    response = app_client.post(URL, content=body, headers=headers)
    assert response.status_code == 400, response.text
