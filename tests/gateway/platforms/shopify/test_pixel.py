"""``POST /platforms/shopify/pixel``: the web pixel's evidence, in both orders of arrival with
the order webhook, never a second purchase; and forged or malformed posts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.db.session import session_scope
from gateway.merchants import service as merchants
from gateway.orders import service as orders
from gateway.platforms import installs
from gateway.platforms.protocol import OrderChanged, WebhookDelivery
from gateway.platforms.shopify import pixel
from gateway.platforms.shopify.adapter import ShopifyAdapter
from gateway.platforms.shopify.models import PixelEvidence
from gateway.stores.models import Store
from tests.gateway.conftest import assert_problem
from tests.gateway.platforms.shopify.conftest import SHOP, install_store
from tests.support.fakes.shopify import FakeShopify

URL = "/platforms/shopify/pixel"
TRY = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"
ORDER_ID = "820982911946154508"


def _key(client: TestClient, store: Store) -> str:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    key = installs.widget_key_for(settings=settings, store=store)
    assert key is not None
    return key


def _pixel_body(**overrides: Any) -> dict[str, Any]:
    """What h7's pixel (plugins/shopify/extensions/tryon-pixel/src/payload.ts) sends."""
    body: dict[str, Any] = {
        "shop": SHOP,
        "order_id": ORDER_ID,
        "checkout_token": "ct-1",
        "attributes": {"_tryon_widget_session": WIDGET},
        "lines": [
            {
                "product_id": "632910392",
                "variant_id": "808950810",
                "quantity": 1,
                "price": "125.00",
                "properties": {"_tryon_session": TRY},
            }
        ],
        "total": "125.00",
        "currency": "EUR",
    }
    return body | overrides


def _post(client: TestClient, key: str, body: object) -> Any:
    return client.post(
        URL,
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
    )


def _webhook_order(with_ids: bool) -> OrderChanged:
    """The orders/create webhook of the same order; a theme that dropped our ids sends none."""
    props = [{"name": "_tryon_session", "value": TRY}] if with_ids else []
    payload = {
        "id": int(ORDER_ID),
        "created_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "total_price": "125.00",
        "note_attributes": [{"name": "_tryon_widget_session", "value": WIDGET}] if with_ids else [],
        "line_items": [
            {
                "id": 1,
                "product_id": 632910392,
                "variant_id": 808950810,
                "quantity": 1,
                "price": "125.00",
                "properties": props,
            }
        ],
    }
    adapter = ShopifyAdapter(api_key="k", api_secret="s", api_version="2025-10")
    (event,) = adapter.parse_webhook(
        WebhookDelivery(delivery_id="d", shop=SHOP, topic="orders/create", payload=payload)
    )
    assert isinstance(event, OrderChanged)
    return event


class Published:
    """Every purchase the gateway publishes (``gateway.events.service.emit``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[Any] = []
        real = orders.events.emit

        def emit(app: Any, *, merchant_id: Any, events: Any, store: Any = None) -> Any:
            self.events.extend(events)
            return real(app, merchant_id=merchant_id, events=events, store=store)

        monkeypatch.setattr(orders.events, "emit", emit)


def _handle_order(client: TestClient, store: Store, event: OrderChanged) -> Any:
    """What the core's order handler does with a Shopify order: enrich, then record."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        db_store = session.get(Store, store.id)
        assert db_store is not None
        order = pixel.enrich(
            session=session, store=db_store, order=event.order, now=datetime.now(UTC)
        )
    purchase, _ = orders.record(client.app, merchant_id=store.merchant_id, order=order, store=SHOP)  # type: ignore[arg-type]
    return purchase


def test_pixel_first_then_webhook_is_one_purchase_with_the_pixels_ids(
    app_client: TestClient, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = Published(monkeypatch)
    store = install_store(app_client, fake)
    response = _post(app_client, _key(app_client, store), _pixel_body())
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": True}
    assert response.headers["access-control-allow-origin"] == "*"
    assert published.events == []  # the pixel never makes a purchase
    # A second pixel post of the same order (reload of the thank-you page) changes nothing.
    assert _post(app_client, _key(app_client, store), _pixel_body()).status_code == 202

    purchase = _handle_order(app_client, store, _webhook_order(with_ids=False))
    assert purchase.widget_session_id == WIDGET
    assert purchase.properties.lines[0].tryon_session_id == TRY
    assert len({e.event_id for e in published.events}) == 1
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        evidence = session.scalar(select(PixelEvidence))
        assert evidence is not None
        assert evidence.consumed_at is not None


def test_webhook_first_then_pixel_is_still_one_purchase(
    app_client: TestClient, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = Published(monkeypatch)
    store = install_store(app_client, fake)
    first = _handle_order(app_client, store, _webhook_order(with_ids=True))
    assert _post(app_client, _key(app_client, store), _pixel_body()).status_code == 202
    # The webhook retried after the pixel: the same event id, so the warehouse counts one.
    again = _handle_order(app_client, store, _webhook_order(with_ids=True))
    assert first.event_id == again.event_id
    assert len({e.event_id for e in published.events}) == 1
    assert len(published.events) == 2  # two publishes, one event id


def test_webhook_ids_win_over_the_pixels(app_client: TestClient, fake: FakeShopify) -> None:
    store = install_store(app_client, fake)
    other = "9" * 36
    _post(
        app_client,
        _key(app_client, store),
        _pixel_body(attributes={"_tryon_widget_session": other}),
    )
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        db_store = session.get(Store, store.id)
        assert db_store is not None
        order = pixel.enrich(
            session=session,
            store=db_store,
            order=_webhook_order(with_ids=True).order,
            now=datetime.now(UTC),
        )
    assert order.widget_session_id == WIDGET


def test_the_key_must_be_this_shops_widget_key(app_client: TestClient, fake: FakeShopify) -> None:
    store = install_store(app_client, fake)
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        another = merchants.create(session=session, name="Another")
    for key in (another.publishable_key, another.secret_key, "pk_live_forged", ""):
        assert_problem(
            _post(app_client, key, _pixel_body()),
            401 if key else 400,
            "unauthorized" if key else "bad-request",
        )
    # The right key for a shop that is not installed.
    response = _post(
        app_client, _key(app_client, store), _pixel_body(shop="other-shop.myshopify.com")
    )
    assert_problem(response, 401, "unauthorized")
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(PixelEvidence)) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        json.dumps(_pixel_body(order_id=None)).encode(),
        json.dumps(_pixel_body(order_id="gid://shopify/OrderIdentity/abc")).encode(),
        json.dumps(_pixel_body(shop="evil.com")).encode(),
        json.dumps(_pixel_body(lines="all")).encode(),
        json.dumps(_pixel_body(lines=[1, 2])).encode(),
        json.dumps(_pixel_body(lines=[{}] * 501)).encode(),
    ],
)
def test_malformed_posts_are_400(app_client: TestClient, fake: FakeShopify, body: bytes) -> None:
    store = install_store(app_client, fake)
    response = app_client.post(
        URL, content=body, headers={"Authorization": f"Bearer {_key(app_client, store)}"}
    )
    assert_problem(response, 400, response.json()["type"].rsplit("/", 1)[1])


def test_an_oversized_post_is_413(app_client: TestClient, fake: FakeShopify) -> None:
    store = install_store(app_client, fake)
    body = _pixel_body(pad="a" * (70 * 1024))
    assert_problem(_post(app_client, _key(app_client, store), body), 413, "payload-too-large")


def test_forged_session_ids_are_not_kept(app_client: TestClient, fake: FakeShopify) -> None:
    store = install_store(app_client, fake)
    body = _pixel_body(
        attributes=[{"key": "_tryon_widget_session", "value": "<script>alert(1)</script>"}],
        lines=[{"product_id": "1", "properties": [{"key": "_tryon_session", "value": "x" * 500}]}],
    )
    assert _post(app_client, _key(app_client, store), body).status_code == 202
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        evidence = session.scalar(select(PixelEvidence))
        assert evidence is not None
        assert evidence.widget_session_id is None
        assert evidence.line_sessions == {}


def test_the_preflight(app_client: TestClient) -> None:
    response = app_client.options(
        URL,
        headers={
            "Origin": "https://extensions.shopifycdn.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers


def test_redaction_erases_the_evidence(app_client: TestClient, fake: FakeShopify) -> None:
    store = install_store(app_client, fake)
    key = _key(app_client, store)
    for order_id in ("1001", "1002", "1003"):
        assert _post(app_client, key, _pixel_body(order_id=order_id)).status_code == 202

    def orders_kept() -> set[str]:
        with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
            return {e.order_id for e in session.scalars(select(PixelEvidence))}

    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert pixel.erase(session=session, store_id=store.id, order_ids=["1002"]) == 1
    assert orders_kept() == {"1001", "1003"}
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert pixel.erase(session=session, store_id=store.id) == 2
    assert orders_kept() == set()
