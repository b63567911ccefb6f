"""A Shopify store's life through the real core: OAuth install, the worker subscribing the
webhooks and syncing the catalog (GraphQL, images through the SSRF-safe fetcher), the
merchant's mapping from the embedded page, an order webhook becoming one purchase, and the
uninstall. Everything runs against the fake Shopify; the worker is driven by the test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.orders import service as orders
from gateway.platforms.models import JobStatus
from gateway.platforms.worker import Worker
from gateway.products.models import Category, Product
from gateway.stores.models import StoreStatus, SyncStatus
from testkit.fakes.shopify import FakeShopify
from tests.gateway.platforms.shopify.conftest import PUBLIC_URL, SHOP
from tests.gateway.platforms.shopify.test_install import _store, install
from tests.gateway.platforms.shopify.tokens import session_token
from tests.gateway.platforms.store_support import drain, jobs_of

TRY = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"


@pytest.fixture
def app_client(any_db_client: TestClient) -> TestClient:
    return any_db_client


def test_a_shopify_store_from_install_to_uninstall(
    app_client: TestClient, fake: FakeShopify, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = fake.add_image("aviator.png", size=(64, 64))
    aviator = fake.add_product(
        SHOP,
        title="Aviator",
        product_type="Sunglasses",
        images=(image,),
        variants=[
            {"title": "Gold", "sku": "AV-G", "price": "125.00", "options": {"Color": "Gold"}}
        ],
    )
    fake.add_product(SHOP, title="Gift card", product_type="Gift")

    assert install(app_client, fake).status_code == 302
    auth = {"Authorization": f"Bearer {session_token(SHOP)}"}
    rules = [{"field": "product_type", "value": "Sunglasses", "category": "eyewear"}]
    assert (
        app_client.put(
            "/platforms/shopify/admin/api/rules", json={"rules": rules}, headers=auth
        ).status_code
        == 200
    )

    statuses = drain(worker)
    assert statuses
    assert all(s is JobStatus.DONE for s in statuses), [
        (j.kind, j.status, j.last_error) for j in jobs_of(app_client)
    ]
    # Webhooks ensured with the shop.
    assert {s.uri for s in fake.shops[SHOP].subscriptions.values()} == {
        f"{PUBLIC_URL}/platforms/shopify/webhooks"
    }
    # The catalog synced: the mapped product under its numeric Shopify id.
    store = _store(app_client)
    assert store is not None
    assert store.sync_status in {SyncStatus.SUCCEEDED, SyncStatus.PARTIAL}
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        products = {p.external_id: p.category for p in session.scalars(select(Product))}
    assert products == {aviator.rsplit("/", 1)[1]: Category.EYEWEAR}, store.sync_failures

    # An order webhook becomes one purchase, however many times it is delivered.
    published: list[Any] = []
    real = orders.events.emit

    def emit(app: Any, *, merchant_id: Any, events: Any, store: Any = None) -> Any:
        published.extend(events)
        return real(app, merchant_id=merchant_id, events=events, store=store)

    monkeypatch.setattr(orders.events, "emit", emit)
    order = {
        "id": 820982911946154508,
        "currency": "EUR",
        "total_price": "125.00",
        "note_attributes": [{"name": "_tryon_widget_session", "value": WIDGET}],
        "line_items": [
            {
                "id": 1,
                "product_id": int(aviator.rsplit("/", 1)[1]),
                "variant_id": 5,
                "quantity": 1,
                "price": "125.00",
                "properties": [{"name": "_tryon_session", "value": TRY}],
            }
        ],
    }
    body = json.dumps(order).encode()
    for topic in ("orders/create", "orders/paid"):
        headers = fake.webhook_headers(topic, SHOP, body)
        response = app_client.post("/platforms/shopify/webhooks", content=body, headers=headers)
        assert response.status_code == 200
    drain(worker)
    purchases = [e for e in published if e.type == "purchase"]
    assert len({e.event_id for e in purchases}) == 1
    assert purchases[0].widget_session_id == WIDGET
    assert purchases[0].properties.lines[0].tryon_session_id == TRY

    # Uninstall: tokens erased, the widget key revoked, the admin API closed.
    body = json.dumps({"id": 1, "domain": SHOP}).encode()
    headers = fake.webhook_headers("app/uninstalled", SHOP, body)
    assert (
        app_client.post("/platforms/shopify/webhooks", content=body, headers=headers).status_code
        == 200
    )
    drain(worker)
    store = _store(app_client)
    assert store is not None
    assert store.status is StoreStatus.UNINSTALLED
    assert store.access_token_encrypted is None
    denied = app_client.get(
        "/platforms/shopify/admin/api/state",
        headers={"Authorization": f"Bearer {session_token(SHOP)}"},
    )
    assert denied.status_code == 403
