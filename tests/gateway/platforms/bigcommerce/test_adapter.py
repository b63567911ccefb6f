"""BigCommerce's shapes as the adapter reads them: orders (statuses, refunds, cart id, bad
lines), catalog products (images, options, categories), hook parsing and the Scripts API body."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.errors import BadRequest
from gateway.platforms.bigcommerce.adapter import (
    BigCommerceAdapter,
    numeric_id,
    order_of,
    product_of,
)
from gateway.platforms.bigcommerce.storefront import ScriptSpec
from gateway.platforms.protocol import (
    AppUninstalled,
    OrderReference,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    WebhookDelivery,
)

ORDER = {
    "id": 250,
    "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
    "status_id": 11,
    "total_inc_tax": "225.0000",
    "currency_code": "EUR",
    "cart_id": "ab12cd34-0000-4000-8000-000000000001",
    "refunded_amount": "0.0000",
}
LINES = [
    {"id": 1, "product_id": 111, "variant_id": 501, "quantity": 1, "price_inc_tax": "125.0000"},
    {"id": 2, "product_id": 0, "variant_id": None, "quantity": 1, "price_inc_tax": "100.0000"},
    {"id": 3, "product_id": 112, "quantity": "2", "price_inc_tax": "1"},  # bad quantity
    {"id": 4, "product_id": 113, "quantity": 1, "price_inc_tax": "-5"},  # bad price
]


def test_an_order_with_its_cart_id_and_usable_lines() -> None:
    event = order_of(ORDER, LINES, shop="store-abc123.mybigcommerce.com")
    assert event.status is OrderStatus.CREATED
    assert event.order.cart_token == ORDER["cart_id"]
    assert event.order.revenue == "225"
    assert [(line.product_id, line.variant_id) for line in event.order.lines] == [
        ("111", "501"),
        ("custom-line-2", None),
    ]
    assert event.order.occurred_at == datetime(2012, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "status", "refunded"),
    [
        ({"status_id": 5}, OrderStatus.CANCELLED, None),
        ({"status_id": 4, "refunded_amount": "225.0000"}, OrderStatus.REFUNDED, Decimal(225)),
        ({"status_id": 14, "refunded_amount": "25.5"}, OrderStatus.REFUNDED, Decimal("25.5")),
        ({"refunded_amount": "10"}, OrderStatus.REFUNDED, Decimal(10)),
    ],
)
def test_order_statuses_and_refunds(
    changes: dict[str, object], status: OrderStatus, refunded: Decimal | None
) -> None:
    event = order_of(ORDER | changes, LINES[:1], shop="s.example")
    assert event.status is status
    assert event.refunded == refunded


@pytest.mark.parametrize(
    "order",
    [
        {k: v for k, v in ORDER.items() if k != "id"},
        ORDER | {"total_inc_tax": "NaN"},
        ORDER | {"currency_code": "euro"},
        ORDER | {"cart_id": "bad cart id with spaces"},
    ],
)
def test_unusable_orders_are_bad_requests(order: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        order_of(order, LINES[:1], shop="s.example")


def test_a_product_with_images_options_and_categories() -> None:
    raw = {
        "id": 111,
        "name": "Round frames",
        "brand_name": "Lunette",
        "categories": [23, 24, True],
        "search_keywords": "summer, metal,,",
        "is_visible": False,
        "custom_url": {"url": "/round-frames/"},
        "images": [
            {"url_zoom": "https://cdn.example/b.png", "is_thumbnail": False, "sort_order": 1},
            {"url_zoom": "https://cdn.example/a.png", "is_thumbnail": True, "sort_order": 2},
        ],
        "variants": [
            {
                "id": 501,
                "sku": "RF-B",
                "calculated_price": 125,
                "purchasing_disabled": True,
                "option_values": [{"label": "Black", "option_display_name": "Colour"}],
            },
            {"id": "x"},
        ],
    }
    product = product_of(raw, categories={23: "Sunglasses"})
    assert product is not None
    assert product.images == ("https://cdn.example/a.png", "https://cdn.example/b.png")
    assert product.collections == ("23", "Sunglasses", "24")
    assert product.tags == ("summer", "metal")
    assert (product.handle, product.active, product.product_type) == (
        "round-frames",
        False,
        "Lunette",
    )
    (variant,) = product.variants
    assert (variant.external_id, variant.options, variant.price) == (
        "501",
        {"Colour": "Black"},
        "125",
    )
    assert variant.available is False  # purchasing disabled: out of stock to recommendations
    assert product_of({"id": "abc"}) is None


def _delivery(topic: str, data: object) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id="d", shop="store-abc123.mybigcommerce.com", topic=topic, payload={"data": data}
    )


def test_hooks_become_domain_events() -> None:
    adapter = BigCommerceAdapter(client_id="c", client_secret="s")
    assert adapter.parse_webhook(_delivery("store/order/created", {"id": 250})) == [
        OrderReference("250")
    ]
    assert adapter.parse_webhook(_delivery("store/product/updated", {"id": 7})) == [
        ProductChanged("7")
    ]
    assert adapter.parse_webhook(_delivery("store/product/deleted", {"id": 7})) == [
        ProductDeleted("7")
    ]
    assert adapter.parse_webhook(_delivery("store/app/uninstalled", {})) == [AppUninstalled()]
    assert adapter.parse_webhook(_delivery("store/customer/created", {"id": 1})) == []
    for bad in ({"id": -1}, {"id": "1; drop"}, None, {"id": True}):
        with pytest.raises(BadRequest):
            adapter.parse_webhook(_delivery("store/order/created", bad))


def test_the_script_body_follows_the_scripts_api() -> None:
    adapter = BigCommerceAdapter(
        client_id="c",
        client_secret="s",
        script=ScriptSpec(
            src="https://tryon.test/platforms/bigcommerce/storefront.js", integrity="sha384-x"
        ),
    )
    body = adapter.script_body("abc123")
    assert body is not None
    assert body["src"].endswith("storefront.js?store=abc123")
    assert body["integrity_hashes"] == ["sha384-x"]
    assert body["consent_category"] == "functional"
    assert body["auto_uninstall"] is True
    assert adapter.script_body("../evil") is None


def test_numeric_ids() -> None:
    assert [numeric_id(v) for v in (250, "250", " 7 ", 0, -3, "1e3", True, None, "9" * 30)] == [
        "250",
        "250",
        "7",
        None,
        None,
        None,
        None,
        None,
        None,
    ]
