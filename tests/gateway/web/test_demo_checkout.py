"""The demo store's checkout: the cart becomes the demo merchant's order, joined to the
try-on sessions its lines came from, through the real pipeline into the warehouse."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics import metrics
from analytics.warehouse import tables as t
from gateway.events import service as events
from gateway.web.demo import cart, state
from tests.analytics.factories import event_json

TRYON = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"
PAGE = "http://testserver"


def add(client: TestClient, **fields: str) -> Any:
    response = client.post("/demo/cart", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def checkout(client: TestClient, **headers: str) -> Any:
    """What a browser sends for a form without fields: an empty urlencoded body."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    return client.post("/demo/cart/checkout", content=b"", headers={**form, **headers})


def warehouse(client: TestClient, table: Any) -> list[Any]:
    pipeline = client.app.state.analytics  # type: ignore[attr-defined]
    assert pipeline.wait_idle(10)
    with pipeline.engine.connect() as conn:
        return list(conn.execute(select(table)))


def demo_merchant(client: TestClient) -> state.DemoState:
    demo = state.read(client.app.state.settings.data_dir)  # type: ignore[attr-defined]
    assert demo is not None
    return demo


def widget_tryon(client: TestClient, product: str = "round-glasses") -> None:
    """The widget's events of one try-on on the demo page (same origin, the demo's key)."""
    ids = {"tryon_session_id": TRYON, "widget_session_id": WIDGET, "product_id": product}
    response = client.post(
        "/v1/events",
        json={"events": [event_json("tryon_rendered", **ids), event_json("add_to_cart", **ids)]},
        headers={
            "Authorization": f"Bearer {demo_merchant(client).publishable_key}",
            "origin": PAGE,
        },
    )
    assert response.status_code == 202, response.text


def test_placing_the_order_records_it_joined_to_the_tryon(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    widget_tryon(web_client)
    add(
        web_client,
        product="round-glasses",
        variant="round-glasses-gold",
        tryon_session=TRYON,
        widget_session=WIDGET,
    )
    add(web_client, product="crew-tshirt", variant="crew-tshirt-navy-m")
    add(web_client, product="crew-tshirt", variant="crew-tshirt-navy-m")
    page = web_client.get("/demo/cart")
    assert 'action="/demo/cart/checkout"' in page.text
    assert "Place order" in page.text
    # Shoppers see which lines they tried on, never the ids or notes for developers.
    assert page.text.count('<span class="badge">tried on</span>') == 1
    assert WIDGET not in page.text
    assert TRYON not in page.text
    assert "_tryon" not in page.text

    done = checkout(web_client, origin=PAGE, **{"sec-fetch-site": "same-origin"})
    assert done.status_code == 200, done.text
    number = re.search(r'id="order-number">(DEMO-[0-9A-F]{10})<', done.text)
    assert number is not None
    assert "€187.00" in done.text  # 129 + 2 x 29
    assert TRYON not in done.text
    assert "purchase" not in done.text
    assert "_tryon" not in done.text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", done.text)
    assert "unsafe" not in done.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", done.text)
    # The cart is gone.
    assert 'tryon_demo_cart=""' in done.headers["set-cookie"]
    assert "Your cart is empty" in web_client.get("/demo/cart").text

    demo = demo_merchant(web_client)
    (order,) = warehouse(web_client, t.fact_order)
    assert (order.merchant_id, order.order_id) == (demo.merchant_id, number.group(1))
    assert order.event_id == events.purchase_event_id(
        merchant_id=demo.merchant_id, order_id=number.group(1)
    )
    assert (order.revenue_e4, order.currency, order.widget_session_id) == (1_870_000, "EUR", WIDGET)
    public_url = web_client.app.state.settings.public_url  # type: ignore[attr-defined]
    assert order.store == public_url.rstrip("/")  # configured, not taken from Host
    lines = sorted(warehouse(web_client, t.fact_order_line), key=lambda r: r.line_no)
    assert [
        (r.product_id, r.variant_id, r.quantity, r.unit_price_e4, r.tryon_session_id) for r in lines
    ] == [
        ("round-glasses", "round-glasses-gold", 1, 1_290_000, TRYON),
        ("crew-tshirt", "crew-tshirt-navy-m", 2, 290_000, None),
    ]
    # Joined: the glasses line is revenue from the try-on; the shirts are not.
    today = datetime.now(UTC).date()
    with web_client.app.state.analytics.engine.connect() as conn:  # type: ignore[attr-defined]
        joined = metrics.attribution(
            conn,
            merchant_id=demo.merchant_id,
            period=metrics.Period.of(today - timedelta(days=1), today),
        )
        conversion = metrics.conversion(
            conn,
            merchant_id=demo.merchant_id,
            period=metrics.Period.of(today - timedelta(days=1), today),
        )
    assert (joined.orders, joined.attributed_orders, joined.attributed_units) == (1, 1, 1)
    assert joined.revenue == {"EUR": metrics.money(1_870_000)}
    assert joined.attributed_revenue == {"EUR": metrics.money(1_290_000)}
    assert conversion.with_tryon.purchased == 1


def test_the_same_cart_placed_twice_is_one_order(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    """A double click, or the form resent: the cart's id is the order number."""
    seeded()
    add(web_client, product="fedora-hat", variant="fedora-hat-one")
    kept = web_client.cookies.get(cart.COOKIE)
    first = checkout(web_client)
    assert first.status_code == 200
    web_client.cookies.set(cart.COOKIE, kept or "", path="/demo")
    second = checkout(web_client)
    assert second.status_code == 200
    number = re.compile(r'id="order-number">([^<]+)<')
    assert number.findall(first.text) == number.findall(second.text)
    assert len(warehouse(web_client, t.fact_order)) == 1
    # A new cart is a new order.
    web_client.cookies.clear()  # the copy set by hand above
    add(web_client, product="fedora-hat", variant="fedora-hat-one")
    assert checkout(web_client).status_code == 200
    assert len(warehouse(web_client, t.fact_order)) == 2


@pytest.mark.parametrize("cookie", [None, "tampered", "forged"])
def test_nothing_to_order_is_a_clear_409_page(
    web_client: TestClient, seeded: Callable[..., object], cookie: str | None
) -> None:
    seeded()
    if cookie == "tampered":
        add(web_client, product="fedora-hat", variant="fedora-hat-one")
        value = web_client.cookies.get(cart.COOKIE) or ""
        web_client.cookies.clear()
        web_client.cookies.set(cart.COOKIE, "x" + value, path="/demo")
    elif cookie == "forged":
        forged = cart.Cart(lines=[cart.Line("fedora-hat", "fedora-hat-one")])
        web_client.cookies.set(cart.COOKIE, cart.dump(forged, b"not the secret"), path="/demo")
    response = checkout(web_client)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "Your cart is empty: there is nothing to order." in response.text
    assert warehouse(web_client, t.fact_event) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": PAGE, "sec-fetch-site": "cross-site"},
    ],
)
def test_forms_from_other_sites_are_refused(
    web_client: TestClient, seeded: Callable[..., object], headers: dict[str, str]
) -> None:
    seeded()
    add(web_client, product="fedora-hat", variant="fedora-hat-one")
    for path in ("/demo/cart/checkout", "/demo/cart", "/demo/cart/clear"):
        response = web_client.post(
            path,
            data={"product": "fedora-hat", "variant": "fedora-hat-one"},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "Cross-site form refused" in response.text
    assert warehouse(web_client, t.fact_event) == []
    assert "Fedora hat" in web_client.get("/demo/cart").text  # the cart is untouched


def test_checkout_takes_only_a_small_form(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    add(web_client, product="fedora-hat", variant="fedora-hat-one")
    assert web_client.post("/demo/cart/checkout", json={}).status_code == 415
    big = web_client.post(
        "/demo/cart/checkout",
        content=b"x=" + b"y" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    assert warehouse(web_client, t.fact_event) == []


def test_checkout_before_seeding_says_what_to_run(web_client: TestClient) -> None:
    response = checkout(web_client)
    assert response.status_code == 503
    assert "tryon demo seed" in response.text
