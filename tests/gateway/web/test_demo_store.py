from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.db.session import session_scope
from gateway.products.models import Product
from gateway.web.demo import cart, catalog, state


def csp(response: object) -> dict[str, str]:
    header = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in header.split("; ")}


def test_before_seeding_the_store_says_what_to_run(web_client: TestClient) -> None:
    r = web_client.get("/demo")
    assert r.status_code == 503
    assert "tryon demo seed" in r.text
    assert web_client.get("/demo/products/round-glasses").status_code == 503


def test_the_list_shows_every_demo_product_under_a_strict_csp(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    r = web_client.get("/demo")
    assert r.status_code == 200
    for product in catalog.PRODUCTS:
        assert f'href="/demo/products/{product.external_id}"' in r.text
        assert f'data-tryon-product="{product.external_id}"' in r.text
    policy = csp(r)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' http://testserver ws://testserver"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in r.headers["content-security-policy"]
    # Nothing inline that the policy would have to allow.
    assert "<style" not in r.text
    assert " style=" not in r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)
    assert re.search(r"\son[a-z]+=", r.text) is None


def test_the_product_page_pins_the_sdk_with_its_integrity_hash(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    demo = state.read(web_client.app.state.settings.data_dir)  # type: ignore[attr-defined]
    assert demo is not None
    page = web_client.get("/demo/products/round-glasses")
    assert page.status_code == 200
    tag = re.search(
        r'<script src="([^"]+)" integrity="([^"]+)" crossorigin="anonymous"[^>]*>', page.text
    )
    assert tag is not None
    manifest = web_client.get("/sdk/v1/manifest.json").json()["files"]["tryon.js"]
    assert tag.group(1) == "/sdk/" + manifest["url"].split("/sdk/", 1)[1]
    assert tag.group(2) == manifest["integrity"]
    assert f'data-publishable-key="{demo.publishable_key}"' in page.text
    # The SDK calls the API where it came from: the page's own origin.
    assert "data-api-base" not in page.text


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8000", "http://localhost:8000", "https://shop.example"]
)
def test_the_widget_calls_the_api_on_the_page_origin(
    web_client: TestClient, seeded: Callable[..., object], base: str
) -> None:
    seeded()
    page = web_client.get(base + "/demo/products/round-glasses")
    ws = base.replace("http", "ws", 1)
    assert csp(page)["connect-src"] == f"'self' {base} {ws}"
    assert 'data-tryon-variant="round-glasses-black"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_titles_are_escaped(web_client: TestClient, seeded: Callable[..., object]) -> None:
    seeded()
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(
            update(Product)
            .where(Product.external_id == "fedora-hat")
            .values(title='<script>alert("x")</script>')
        )
    page = web_client.get("/demo/products/fedora-hat").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_unknown_product_is_a_404_problem(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    r = web_client.get("/demo/products/" + "x" * 500)
    assert r.status_code in (404, 422)
    # A shopper who follows a dead link gets the store's page, not JSON.
    nope = web_client.get("/demo/products/nope")
    assert nope.status_code == 404
    assert nope.headers["content-type"].startswith("text/html")
    assert "No demo product" in nope.text
    assert "Back to the products" in nope.text


def _add(client: TestClient, **fields: str) -> object:
    return client.post(
        "/demo/cart",
        data=fields,
        follow_redirects=False,
    )


def test_add_to_cart_keeps_the_tryon_session(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    r = _add(
        web_client, product="round-glasses", variant="round-glasses-gold", tryon_session="abc-1234"
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert r.headers["location"] == "/demo/cart"  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    _add(web_client, product="crew-tshirt", variant="crew-tshirt-navy-m")
    page = web_client.get("/demo/cart")
    assert page.status_code == 200
    assert "Round optical frames" in page.text
    assert "Gold" in page.text
    assert "Navy / M" in page.text
    assert '<span class="badge">tried on</span>' in page.text
    assert "abc-1234" not in page.text
    assert "€158.00" in page.text  # 129 + 29
    assert web_client.get("/demo").text.count("Cart (2)") == 1
    # What the widget's handler (store.js) asks: JSON with the count, and the same cookie.
    js = web_client.post(
        "/demo/cart",
        data={"product": "fedora-hat", "variant": "fedora-hat-one"},
        headers={"accept": "application/json", "sec-fetch-site": "same-origin"},
    )
    assert js.status_code == 200
    assert js.json() == {"count": 3}
    assert "tryon_demo_cart=" in js.headers["set-cookie"]
    web_client.post("/demo/cart/clear")
    assert "Your cart is empty" in web_client.get("/demo/cart").text


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"product": "nope", "variant": "x"}, 400),
        ({"product": "round-glasses", "variant": "crew-tshirt-navy-m"}, 400),
        ({"product": "round-glasses"}, 400),
        (
            {"product": "round-glasses", "variant": "round-glasses-gold", "tryon_session": "<x>"},
            400,
        ),
        (
            {
                "product": "round-glasses",
                "variant": "round-glasses-gold",
                "tryon_session": "a" * 65,
            },
            400,
        ),
        (  # shorter than any session id the analytics schema takes
            {"product": "round-glasses", "variant": "round-glasses-gold", "tryon_session": "a1"},
            400,
        ),
        (
            {
                "product": "round-glasses",
                "variant": "round-glasses-gold",
                "widget_session": "not a session",
            },
            400,
        ),
    ],
)
def test_bad_cart_forms_are_refused(
    web_client: TestClient, seeded: Callable[..., object], fields: dict[str, str], status: int
) -> None:
    seeded()
    r = web_client.post("/demo/cart", data=fields, follow_redirects=False)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")  # a form: a page
    assert 'role="alert"' in r.text
    assert "set-cookie" not in r.headers
    # The widget's handler asks for JSON and gets a problem.
    js = web_client.post("/demo/cart", data=fields, headers={"accept": "application/json"})
    assert js.status_code == status
    assert js.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in js.headers


def test_cart_form_type_and_size_are_checked(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    r = web_client.post("/demo/cart", json={"product": "round-glasses"})
    assert r.status_code == 415
    r = web_client.post(
        "/demo/cart",
        content=b"product=" + b"x" * 10_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = web_client.post(
        "/demo/cart",
        content=b"\xff\xfe\x00garbage",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400


def test_a_forged_cart_cookie_is_ignored(
    web_client: TestClient, seeded: Callable[..., object]
) -> None:
    seeded()
    forged = cart.dump(
        cart.Cart(lines=[cart.Line("round-glasses", "round-glasses-gold")]), b"not the secret"
    )
    web_client.cookies.set(cart.COOKIE, forged, path="/demo")
    assert "Your cart is empty" in web_client.get("/demo/cart").text


def test_static_files_and_images(web_client: TestClient) -> None:
    js = web_client.get("/demo/static/store.js")
    assert js.status_code == 200
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert web_client.get("/demo/static/store.css").headers["content-type"].startswith("text/css")
    for path in ["/demo/static/../views.py", "/demo/static/views.py", "/demo/images/nope.png"]:
        assert web_client.get(path).status_code == 404, path
    assert web_client.get("/demo/images/..%2F..%2Fsettings.png").status_code == 404


def test_demo_images_come_from_the_demo_asset_set(web_client: TestClient) -> None:
    available = [
        v.asset for p in catalog.PRODUCTS for v in p.variants if catalog.asset_path(v.asset)
    ]
    # Every variant's image is in the asset set (it is committed: nothing to skip).
    assert len(available) == sum(len(p.variants) for p in catalog.PRODUCTS) > 0
    for asset in available:
        r = web_client.get(f"/demo/images/{asset}.png")
        assert r.status_code == 200, asset
        assert r.content.startswith(b"\x89PNG")
        assert r.content == catalog.asset_path(asset).read_bytes()  # type: ignore[union-attr]


def test_store_pages_only_show_the_demo_merchants_products(
    web_client: TestClient, seeded: Callable[..., object], new_merchant: Callable[..., object]
) -> None:
    seeded()
    other = new_merchant("Someone else")
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        # Same external id as a demo product, another tenant: must never show up.
        session.add(
            Product(
                merchant_id=other.merchant.id,  # type: ignore[attr-defined]
                external_id="fedora-hat",
                title="Someone else's fedora",
                category="hat",
            )
        )
    assert "Someone else" not in web_client.get("/demo").text
    page = web_client.get("/demo/products/fedora-hat").text
    assert "Fedora hat" in page
    assert "Someone else" not in page
