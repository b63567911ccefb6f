"""POST /v1/orders: an order in, one purchase in the warehouse, joined to its try-on sessions.

Through the real embedded pipeline (in-process queue, consumer thread, SQLite warehouse) and
read back through the metrics API, the way a merchant sees it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from analytics.settings import AnalyticsSettings
from analytics.warehouse import tables as t
from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.events import service as events
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.main import create_app
from gateway.merchants import service as merchants
from tests.analytics.factories import event_json
from tests.gateway.conftest import auth
from tests.gateway.test_events import post as post_events
from tests.gateway.test_products_auth import assert_problem

ORIGIN = "https://shop.example"
TRYON = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The gateway database only holds the keys here: SQLite (as in test_events.py)."""
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def shop(new_merchant: Callable[..., Any]) -> Any:
    return new_merchant("Shop", allowed_origins=[ORIGIN])


def line(product: str = "aviator-gold", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product_id": product,
        "variant_id": f"{product}-m",
        "quantity": 1,
        "price": "125.00",
        "tryon_session_id": TRYON,
    }
    body.update(changes)
    return body


def order(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": "#1001",
        "revenue": "129.90",
        "currency": "EUR",
        "widget_session_id": WIDGET,
        "store": "shop.example",
        "lines": [line(), line("lens-cloth", price="4.90", tryon_session_id=None)],
    }
    body.update(changes)
    return body


def post_order(client: TestClient, key: str, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/v1/orders",
        content=content,
        headers={**auth(key), "content-type": "application/json", **headers},
    )


def rows(client: TestClient, table: Any) -> list[Any]:
    pipeline = client.app.state.analytics  # type: ignore[attr-defined]
    assert pipeline.wait_idle(10)
    with pipeline.engine.connect() as conn:
        return list(conn.execute(select(table)))


def metric(client: TestClient, key: str, name: str, **params: str) -> Any:
    assert client.app.state.analytics.wait_idle(10)  # type: ignore[attr-defined]
    response = client.get(f"/v1/metrics/{name}", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def tried_on(
    client: TestClient, shop: Any, session: str = TRYON, product: str = "aviator-gold"
) -> None:
    """The widget's events of one try-on of ``product`` that was added to the cart."""
    ids = {"tryon_session_id": session, "widget_session_id": WIDGET, "product_id": product}
    batch = [
        event_json("impression", widget_session_id=WIDGET, product_id=product),
        event_json("tryon_started", properties={"mode": "photo"}, **ids),
        event_json("tryon_rendered", **ids),
        event_json("add_to_cart", **ids),
    ]
    response = post_events(client, shop.publishable_key, {"events": batch})
    assert response.status_code == 202, response.text


# -- the happy path ---------------------------------------------------------------------------


def test_an_order_is_stored_and_attributed_to_its_tryon(client: TestClient, shop: Any) -> None:
    tried_on(client, shop)
    response = post_order(client, shop.secret_key, order())
    assert response.status_code == 202, response.text
    body = response.json()
    expected_id = events.purchase_event_id(merchant_id=shop.merchant.id, order_id="#1001")
    assert body["event_id"] == str(expected_id)
    assert body["order_id"] == "#1001"
    assert abs(datetime.fromisoformat(body["occurred_at"]) - datetime.now(UTC)) < timedelta(
        minutes=1
    )

    (stored,) = rows(client, t.fact_order)
    assert (stored.merchant_id, stored.order_id, stored.event_id) == (
        shop.merchant.id,
        "#1001",
        expected_id,
    )
    assert (stored.revenue_e4, stored.currency, stored.lines) == (1_299_000, "EUR", 2)
    assert (stored.widget_session_id, stored.store) == (WIDGET, "shop.example")
    lines = sorted(rows(client, t.fact_order_line), key=lambda r: r.line_no)
    assert [(r.product_id, r.variant_id, r.tryon_session_id, r.revenue_e4) for r in lines] == [
        ("aviator-gold", "aviator-gold-m", TRYON, 1_250_000),
        ("lens-cloth", "lens-cloth-m", None, 49_000),
    ]
    (fact,) = [r for r in rows(client, t.fact_event) if r.type == "purchase"]
    assert (fact.source, fact.event_id) == ("server", expected_id)

    # What the merchant sees: the order, and the part of it the try-on led to.
    assert metric(client, shop.secret_key, "attribution") == {
        "orders": 1,
        "attributed_orders": 1,
        "revenue": {"EUR": "129.90"},
        "attributed_revenue": {"EUR": "125.00"},
        "attributed_units": 1,
        "net_revenue": {"EUR": "129.90"},  # nothing refunded or cancelled
        "cancelled_orders": 0,
    }
    conversion = metric(client, shop.secret_key, "conversion")
    assert conversion["with_tryon"]["purchased"] == 1
    products = metric(client, shop.secret_key, "products", by="conversion")["data"]
    assert [(p["product_id"], p["converted_tryon_sessions"]) for p in products] == [
        ("aviator-gold", 1)
    ]


def test_the_same_order_posted_twice_is_one_purchase(client: TestClient, shop: Any) -> None:
    first = post_order(client, shop.secret_key, order())
    again = post_order(client, shop.secret_key, order(revenue="999.00"))  # a retried webhook
    assert first.status_code == again.status_code == 202
    assert first.json()["event_id"] == again.json()["event_id"]
    assert len(rows(client, t.fact_order)) == 1
    assert len(rows(client, t.fact_order_line)) == 2
    assert [r.type for r in rows(client, t.fact_event)] == ["purchase"]
    assert rows(client, t.fact_order)[0].revenue_e4 == 1_299_000  # the first one counts
    attribution = metric(client, shop.secret_key, "attribution")
    assert (attribution["orders"], attribution["revenue"]) == (1, {"EUR": "129.90"})
    # Another order id is another order.
    assert post_order(client, shop.secret_key, order(order_id="#1002")).status_code == 202
    assert len(rows(client, t.fact_order)) == 2


def test_the_minimal_order(client: TestClient, shop: Any) -> None:
    """No sessions, no store, no time: still an order (the "without try-on" side)."""
    body = {
        "order_id": "A-1",
        "revenue": "0",
        "currency": "USD",
        "lines": [{"product_id": "p", "quantity": 3, "price": "0.5"}],
    }
    assert post_order(client, shop.secret_key, body).status_code == 202
    (stored,) = rows(client, t.fact_order)
    assert (stored.widget_session_id, stored.store, stored.revenue_e4) == (None, None, 0)
    (only,) = rows(client, t.fact_order_line)
    assert (only.quantity, only.unit_price_e4, only.tryon_session_id) == (3, 5_000, None)


def test_order_times(client: TestClient, shop: Any) -> None:
    """A time is kept; a future time is taken as now; too old is a 422 naming the field."""
    placed = datetime.now(UTC) - timedelta(days=2)
    response = post_order(client, shop.secret_key, order(occurred_at=placed.isoformat()))
    assert response.status_code == 202
    assert datetime.fromisoformat(response.json()["occurred_at"]) == placed

    future = datetime.now(UTC) + timedelta(days=3)
    response = post_order(
        client, shop.secret_key, order(order_id="#2", occurred_at=future.isoformat())
    )
    assert response.status_code == 202
    assert datetime.fromisoformat(response.json()["occurred_at"]) <= datetime.now(UTC)

    old = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    response = post_order(client, shop.secret_key, order(order_id="#3", occurred_at=old))
    problem = assert_problem(response, 422, "invalid-input")
    assert problem["errors"] == [
        {"loc": ["body", "occurred_at"], "msg": "older than 168 hours", "type": "too_old"}
    ]
    assert "occurred_at older than 168 hours" in problem["detail"]
    assert sorted(r.order_id for r in rows(client, t.fact_order)) == ["#1001", "#2"]


def test_a_cart_token_stands_in_for_the_ids(client: TestClient, shop: Any) -> None:
    """Stores that cannot carry our ids (BigCommerce) send the cart's own id instead."""
    ids = {"tryon_session_id": TRYON, "widget_session_id": WIDGET, "product_id": "aviator-gold"}
    batch = [
        event_json("tryon_rendered", **ids),
        event_json("add_to_cart", properties={"quantity": 1, "cart_token": "cart-77"}, **ids),
    ]
    assert post_events(client, shop.publishable_key, {"events": batch}).status_code == 202
    assert client.app.state.analytics.wait_idle(10)  # type: ignore[attr-defined]
    body = order(widget_session_id=None, cart_token="cart-77", lines=[line(tryon_session_id=None)])
    assert post_order(client, shop.secret_key, body).status_code == 202
    (stored,) = rows(client, t.fact_order)
    assert (stored.widget_session_id, stored.cart_token) == (WIDGET, "cart-77")
    assert [r.tryon_session_id for r in rows(client, t.fact_order_line)] == [TRYON]
    assert metric(client, shop.secret_key, "attribution")["attributed_orders"] == 1


# -- who may post -------------------------------------------------------------------------------


def test_keys_and_scope(client: TestClient, shop: Any) -> None:
    assert_problem(client.post("/v1/orders", json=order()), 401, "invalid-api-key")  # no key at all
    assert_problem(post_order(client, "sk_" + "A" * 32, order()), 401, "invalid-api-key")
    # A publishable key lives in browsers: it never records orders (forged revenue).
    response = post_order(client, shop.publishable_key, order(), origin=ORIGIN)
    assert_problem(response, 403, "key-type-not-allowed")
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        _, read_only = keys.create(
            session=session,
            merchant_id=shop.merchant.id,
            kind=KeyKind.SECRET,
            scopes=["usage:read"],
        )
        principal = keys.authenticate(session=session, raw_key=shop.secret_key)
        assert "orders:write" in principal.scopes  # new secret keys have it by default
    problem = assert_problem(post_order(client, read_only, order()), 403, "insufficient-scope")
    assert problem["required_scope"] == "orders:write"
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        keys.revoke(session=session, merchant_id=shop.merchant.id, key_id=principal.key_id)
    assert_problem(post_order(client, shop.secret_key, order()), 401, "invalid-api-key")
    assert rows(client, t.fact_order) == []


def test_a_merchant_cannot_attribute_to_another_merchants_tryon(
    client: TestClient, shop: Any, new_merchant: Callable[..., Any]
) -> None:
    """B's order naming A's try-on session is B's order, and joins none of A's try-ons."""
    other = new_merchant("Other", allowed_origins=[ORIGIN])
    tried_on(client, shop)  # A's try-on session TRYON, widget session WIDGET
    stolen = post_order(client, other.secret_key, order())
    assert stolen.status_code == 202
    mine = post_order(client, shop.secret_key, order())  # the same order id, A's own
    assert mine.status_code == 202
    assert stolen.json()["event_id"] != mine.json()["event_id"]
    owners = sorted(str(r.merchant_id) for r in rows(client, t.fact_order))
    assert owners == sorted([str(shop.merchant.id), str(other.merchant.id)])

    theirs = metric(client, other.secret_key, "attribution")
    assert (theirs["orders"], theirs["attributed_orders"], theirs["attributed_revenue"]) == (
        1,
        0,
        {},
    )
    assert metric(client, other.secret_key, "conversion")["with_tryon"]["sessions"] == 0
    assert metric(client, other.secret_key, "products", by="conversion")["data"] == []
    ours = metric(client, shop.secret_key, "attribution")
    assert (ours["orders"], ours["attributed_orders"], ours["attributed_revenue"]) == (
        1,
        1,
        {"EUR": "125.00"},
    )


# -- what may be posted -------------------------------------------------------------------------


def _with(path: str, value: Any) -> dict[str, Any]:
    """``order()`` with one field (``lines.0.price``) set, or removed when ``value`` is ...."""
    body = order()
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is Ellipsis:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


BAD: dict[str, Any] = {
    # the body itself
    "not json": b"{not json",
    "binary": b"\xff\xfe\x00garbage",
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "empty": b"",
    "null": b"null",
    "a list": b"[]",
    "a string": b'"order"',
    "unknown field (an IP)": _with("ip", "203.0.113.9"),
    "unknown line field (an image)": _with("lines.0.image", "data:image/png;base64,AAAA"),
    "missing order id": _with("order_id", ...),
    "missing revenue": _with("revenue", ...),
    "missing lines": _with("lines", ...),
    # money
    "negative revenue": _with("revenue", "-1.00"),
    "revenue as a float": _with("revenue", 129.9),
    "revenue with an exponent": _with("revenue", "1e3"),
    "revenue NaN": _with("revenue", "NaN"),
    "revenue Infinity": _with("revenue", "Infinity"),
    "revenue with 5 decimals": _with("revenue", "1.00001"),
    "revenue too large": _with("revenue", "1" * 15),
    "revenue with a comma": _with("revenue", "129,90"),
    "revenue with a sign": _with("revenue", "+1"),
    "revenue with spaces": _with("revenue", " 1.00"),
    "negative price": _with("lines.0.price", "-125.00"),
    "price missing": _with("lines.0.price", ...),
    # currency
    "lower-case currency": _with("currency", "eur"),
    "four-letter currency": _with("currency", "EURO"),
    "symbol as currency": _with("currency", "€"),
    "numeric currency": _with("currency", 978),
    "empty currency": _with("currency", ""),
    # lines
    "no lines": _with("lines", []),
    "501 lines": _with("lines", [line()] * 501),
    "lines not a list": _with("lines", {"0": line()}),
    "zero quantity": _with("lines.0.quantity", 0),
    "negative quantity": _with("lines.0.quantity", -1),
    "huge quantity": _with("lines.0.quantity", 10_001),
    "quantity as a string": _with("lines.0.quantity", "2"),
    "fractional quantity": _with("lines.0.quantity", 1.5),
    "boolean quantity": _with("lines.0.quantity", True),
    # ids and hostile strings
    "empty product id": _with("lines.0.product_id", ""),
    "product id with NUL": _with("lines.0.product_id", "glasses\x00<script>"),
    "product id with a newline": _with("lines.0.product_id", "glasses\n"),
    "product id too long": _with("lines.0.product_id", "p" * 129),
    "image as a product id": _with("lines.0.product_id", "data:image/png;base64," + "A" * 4000),
    "order id with control characters": _with("order_id", "#1\r\nX-Injected: 1"),
    "order id too long": _with("order_id", "o" * 129),
    "try-on session with spaces": _with("lines.0.tryon_session_id", "not a session id"),
    "try-on session too short": _with("lines.0.tryon_session_id", "abc"),
    "try-on session too long": _with("lines.0.tryon_session_id", "a" * 65),
    "try-on session as markup": _with("lines.0.tryon_session_id", "<script>alert(1)</script>"),
    "widget session path": _with("widget_session_id", "../../etc/passwd"),
    "widget session as a number": _with("widget_session_id", 12345678),
    "cart token with spaces": _with("cart_token", "a cart"),
    "store as a script URL": _with("store", "javascript:alert(1)"),
    "store with a path": _with("store", "https://shop.example/orders"),
    "store too long": _with("store", "a" * 300),
    # times
    "naive time": _with("occurred_at", "2026-11-22T10:00:00"),
    "time as a number": _with("occurred_at", 1_700_000_000),
    "time in words": _with("occurred_at", "yesterday"),
}


def test_bad_orders_are_4xx_problems_and_nothing_is_stored(client: TestClient, shop: Any) -> None:
    # One app for every case (an app per case would take seconds each). Only too deep a JSON
    # nesting is a 400 (the parser gives up); every other case is a 422 saying where.
    for case, body in BAD.items():
        response = post_order(client, shop.secret_key, body)
        expected = 400 if case == "deep nesting" else 422
        assert response.status_code == expected, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json", case
        slug = {400: "bad-request", 422: "invalid-input"}[expected]
        assert response.json()["type"] == f"/problems/{slug}", case
        if expected == 422:
            assert response.json()["errors"], case
        for needle in ("203.0.113.9", "base64", "<script>", "passwd"):
            assert needle not in response.text, case  # errors locate values, never echo them
    assert rows(client, t.fact_event) == []


def test_malformed_json_is_invalid_input(client: TestClient, shop: Any) -> None:
    problem = assert_problem(
        post_order(client, shop.secret_key, b"{not json"), 422, "invalid-input"
    )
    assert problem["errors"][0]["type"] == "json_invalid"
    problem = assert_problem(
        post_order(client, shop.secret_key, _with("lines.0.price", "-1")), 422, "invalid-input"
    )
    assert problem["errors"][0]["loc"] == ["body", "lines", 0, "price"]


def test_media_type_and_size_are_checked(client: TestClient, shop: Any) -> None:
    response = client.post(
        "/v1/orders",
        content=b"order_id=1",
        headers={**auth(shop.secret_key), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    # 500 lines of long ids, written as JSON escapes (6 bytes a character): over the API's
    # 256 KiB cap, valid or not.
    big = order(lines=[line(product_id="é" * 128, variant_id="é" * 128)] * 500)
    assert len(json.dumps(big)) > 256 * 1024
    assert_problem(post_order(client, shop.secret_key, big), 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        yield b'{"order_id": "x", "pad": "'
        for _ in range(300):
            yield b" " * 1024
        yield b'"}'

    response = client.post(
        "/v1/orders",
        content=chunks(),
        headers={**auth(shop.secret_key), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")
    assert rows(client, t.fact_event) == []


def test_the_largest_order_fits(client: TestClient, shop: Any) -> None:
    """500 lines of realistic size are under the body cap and stored whole."""
    lines = [
        line(f"product-{i:04d}", tryon_session_id=f"tryon-session-{i:06d}") for i in range(500)
    ]
    response = post_order(client, shop.secret_key, order(order_id="big", lines=lines))
    assert response.status_code == 202, response.text
    assert len(rows(client, t.fact_order_line)) == 500


def test_hostile_but_valid_text_is_stored_as_text(client: TestClient, shop: Any) -> None:
    """Markup and quotes are legal in a store's ids: kept verbatim, only ever escaped on output."""
    product = "<img src=x onerror=alert(1)>'\""
    response = post_order(
        client, shop.secret_key, order(order_id="=cmd|' /C calc'!A0", lines=[line(product)])
    )
    assert response.status_code == 202, response.text
    (stored,) = rows(client, t.fact_order_line)
    assert stored.product_id == product
    csv = client.get(
        "/v1/metrics/export.csv", params={"report": "products"}, headers=auth(shop.secret_key)
    )
    assert csv.status_code == 200
    assert product.replace('"', '""') in csv.text


# -- refusal, never loss ----------------------------------------------------------------------


def test_broker_down_is_503_with_retry_after(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    """RabbitMQ unreachable: the publisher buffers (here one event), then refuses with 503."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    migrate.upgrade(url)
    app = create_app(make_settings(database_url=url))
    app.state.analytics_settings = AnalyticsSettings(
        data_dir=tmp_path / "var",
        amqp_url="amqp://guest:guest@127.0.0.1:1/%2F",
        buffer_max_events=1,
        connect_timeout_s=0.5,
        reconnect_min_s=0.2,
        reconnect_max_s=0.5,
        shutdown_timeout_s=0.5,
    )
    with TestClient(app) as client:
        with session_scope(app.state.engine) as session:
            m = merchants.create(session=session, name="M")
        assert post_order(client, m.secret_key, order()).status_code == 202  # buffered
        refused = post_order(client, m.secret_key, order(order_id="#1002"))
        problem = assert_problem(refused, 503, "unavailable")
        assert refused.headers["retry-after"] == str(problem["retry_after"])
    # Nothing accepted was dropped: the buffered order waits in the spool for the broker.
    spooled = list((tmp_path / "var" / "analytics-spool").iterdir())
    assert spooled
    assert b"#1001" in b"".join(p.read_bytes() for p in spooled)


# -- fuzzing ------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [*order().keys(), "occurred_at", "cart_token", "extra"]
LINE_FIELDS = [*line().keys(), "extra"]


@st.composite
def orders(draw: Any) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=100))
    body = copy.deepcopy(order(order_id=draw(st.text(min_size=1, max_size=8))))
    for _ in range(draw(st.integers(0, 3))):
        body[draw(st.sampled_from(FIELDS))] = draw(JSON_VALUES)
    if isinstance(body.get("lines"), list) and body["lines"] and draw(st.booleans()):
        body["lines"][0] = dict(line())
        body["lines"][0][draw(st.sampled_from(LINE_FIELDS))] = draw(JSON_VALUES)
    return json.dumps(body).encode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=orders())
def test_any_body_gets_202_or_a_4xx_problem(client: TestClient, shop: Any, body: bytes) -> None:
    response = post_order(client, shop.secret_key, body)
    assert response.status_code in {202, 400, 413, 422}, response.text
    if response.status_code != 202:
        assert response.headers["content-type"] == "application/problem+json"
