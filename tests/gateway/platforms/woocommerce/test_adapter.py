"""The adapter's pure parts (orders, products, webhook topics) and its SSRF guard on calls
to the store's own host."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.errors import BadRequest, UnsafeURL
from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import (
    Connection,
    OrderReference,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    WebhookDelivery,
)
from gateway.platforms.woocommerce.adapter import WooCommerceAdapter, order_of, product_of

SESSION = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"


def _order(**changes: object) -> dict[str, object]:
    return {
        "id": 727,
        "status": "processing",
        "currency": "eur",
        "total": "254.00",
        "date_created_gmt": "2026-12-07T10:15:00",
        "line_items": [
            {
                "id": 1,
                "product_id": 31,
                "variation_id": 33,
                "quantity": 2,
                "price": 125.0,
                "total": "250.00",
                "meta_data": [{"key": "_tryon_session", "value": SESSION}],
            },
            {"id": 2, "product_id": 0, "variation_id": 0, "quantity": 1, "total": "4.00"},
            {"id": 3, "product_id": 40, "quantity": 0, "price": 1},
            "not an item",
        ],
    } | changes


def test_an_order_becomes_a_purchase_with_its_sessions() -> None:
    event = order_of(_order(), shop="https://shop.example/wp")
    assert event is not None
    assert event.status is OrderStatus.CREATED
    assert event.order.store == "https://shop.example"
    assert event.order.currency == "EUR"
    first, custom = event.order.lines
    assert (first.product_id, first.variant_id, first.quantity) == ("31", "33", 2)
    assert first.tryon_session_id == SESSION
    assert Decimal(first.price) == Decimal("125")
    assert (custom.product_id, custom.variant_id, Decimal(custom.price)) == (
        "custom-line-2",
        None,
        Decimal("4"),
    )


@pytest.mark.parametrize("status", ["pending", "failed", "checkout-draft", "trash"])
def test_orders_that_are_not_purchases_are_none(status: str) -> None:
    assert order_of(_order(status=status), shop="https://shop.example") is None


def test_cancellations_and_refunds() -> None:
    cancelled = order_of(_order(status="cancelled"), shop="https://shop.example")
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELLED
    partial = order_of(
        _order(refunds=[{"total": "-5.50"}, {"total": "-1"}]), shop="https://s.example"
    )
    assert partial is not None
    assert partial.status is OrderStatus.REFUNDED
    assert partial.refunded == Decimal("6.5")


@pytest.mark.parametrize("value", ["<script>", "short", "a" * 65, 12345678, None, "ok ok ok ok"])
def test_hostile_session_values_are_dropped(value: object) -> None:
    order = _order()
    order["line_items"] = [
        {
            "id": 1,
            "product_id": 31,
            "quantity": 1,
            "price": 1,
            "meta_data": [{"key": "_tryon_session", "value": value}],
        }
    ]
    event = order_of(order, shop="https://shop.example")
    assert event is not None
    assert event.order.lines[0].tryon_session_id is None


def test_a_holdout_shoppers_order_carries_the_widget_session() -> None:
    # Added with the page's own button: no try-on session, the widget session on the item meta.
    order = _order()
    order["line_items"] = [
        {
            "id": 1,
            "product_id": 31,
            "quantity": 1,
            "price": 1,
            "meta_data": [{"key": "_tryon_widget_session", "value": "w-4f1c2a9e7b3d"}],
        }
    ]
    event = order_of(order, shop="https://shop.example")
    assert event is not None
    assert event.order.widget_session_id == "w-4f1c2a9e7b3d"
    assert event.order.lines[0].tryon_session_id is None
    # Without it (and with a hostile one) the order has none.
    plain = order_of(_order(), shop="https://shop.example")
    assert plain is not None
    assert plain.order.widget_session_id is None
    order["line_items"][0]["meta_data"] = [{"key": "_tryon_widget_session", "value": "<x>"}]
    hostile = order_of(order, shop="https://shop.example")
    assert hostile is not None
    assert hostile.order.widget_session_id is None


def test_unreadable_orders_are_bad_requests() -> None:
    with pytest.raises(BadRequest):
        order_of(_order(total="lots"), shop="https://shop.example")
    with pytest.raises(BadRequest):
        order_of(_order(currency="euro"), shop="https://shop.example")


def test_a_variable_product_with_categories_tags_and_images() -> None:
    product = product_of(
        {
            "id": 31,
            "name": "Round frames",
            "slug": "round-frames",
            "status": "publish",
            "categories": [{"id": 1, "name": "Sunglasses", "slug": "sunglasses"}],
            "tags": [{"name": " summer "}, {"name": ""}],
            "images": [{"src": "https://cdn.example/a.png"}, {"src": "https://cdn.example/a.png"}],
        },
        [
            {
                "id": 33,
                "sku": "RF-S",
                "price": "99",
                "attributes": [{"name": "Size", "option": "S"}],
                "image": {"src": "https://cdn.example/s.png"},
            },
            {"id": "x"},
        ],
    )
    assert product is not None
    assert product.collections == ("sunglasses", "Sunglasses")
    assert product.tags == ("summer",)
    assert product.images == ("https://cdn.example/a.png", "https://cdn.example/s.png")
    (variant,) = product.variants
    assert (variant.external_id, variant.title, variant.sku, variant.price) == (
        "33",
        "S",
        "RF-S",
        "99",
    )
    assert product_of({"id": "nope"}) is None
    draft = product_of({"id": 5, "status": "draft"})
    assert draft is not None
    assert draft.active is False


def _delivery(topic: str, payload: dict[str, object]) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id="d", shop="https://shop.example", topic=topic, payload=payload
    )


def test_webhook_topics_become_events() -> None:
    adapter = WooCommerceAdapter(secret_key="k" * 40)
    assert adapter.parse_webhook(_delivery("order.created", {"id": 9})) == [OrderReference("9")]
    assert adapter.parse_webhook(_delivery("product.updated", {"id": 33, "parent_id": 31})) == [
        ProductChanged("31")
    ]
    assert adapter.parse_webhook(_delivery("product.deleted", {"id": 31})) == [ProductDeleted("31")]
    assert adapter.parse_webhook(_delivery("coupon.created", {"id": 1})) == []
    with pytest.raises(BadRequest):
        adapter.parse_webhook(_delivery("order.updated", {"id": "x"}))


def test_calls_to_a_store_on_a_private_address_are_refused_before_connecting() -> None:
    """The adapter's calls are ``untrusted_host`` ones (every hostile URL: test_http.py)."""
    adapter = WooCommerceAdapter(secret_key="k" * 40)
    connection = Connection(shop="https://169.254.169.254", access_token="ck_x", secret="cs_x")
    with PlatformClient(max_attempts=1, timeout_s=2) as client, pytest.raises(UnsafeURL):
        adapter.fetch_catalog_page(client=client, connection=connection, cursor=None)
