"""POST /v1/events: publishable key and origin, validation, limits, clock skew, privacy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from analytics.schema import PurchaseLine
from analytics.warehouse import tables as t
from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.events import service
from gateway.keys import service as keys
from gateway.keys import service as merchants
from tests.analytics.factories import event_json
from tests.gateway.conftest import auth, running
from tests.gateway.test_products_auth import assert_problem

ORIGIN = "https://shop.example"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """These tests are about analytics: the gateway database is SQLite here (the PostgreSQL
    path of the whole flow is covered in tests/analytics/test_rabbitmq_faults.py)."""
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def shop(new_merchant: Callable[..., Any]) -> Any:
    return new_merchant("Shop", allowed_origins=[ORIGIN])


def post(
    client: TestClient,
    key: str,
    body: Any,
    *,
    origin: str | None = ORIGIN,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    headers = {**auth(key), "content-type": content_type, **(headers or {})}
    if origin is not None:
        headers["origin"] = origin
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/events", content=content, headers=headers)


def stored(client: TestClient) -> list[Any]:
    pipeline = client.app.state.analytics  # type: ignore[attr-defined]
    assert pipeline.wait_idle(10)
    with pipeline.engine.connect() as conn:
        return list(conn.execute(select(t.fact_event).order_by(t.fact_event.c.occurred_at)))


def test_a_batch_is_accepted_and_stored(client: TestClient, shop: Any) -> None:
    events = [
        event_json("impression"),
        event_json("open"),
        event_json("tryon_rendered", tryon_session_id="tryon-0001"),
    ]
    response = post(client, shop.publishable_key, {"events": events})
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    rows = stored(client)
    assert {r.event_id for r in rows} == {uuid.UUID(e["event_id"]) for e in events}
    assert {r.merchant_id for r in rows} == {shop.merchant.id}
    assert {r.store for r in rows} == {ORIGIN}
    assert {r.source for r in rows} == {"widget"}
    rendered = next(r for r in rows if r.type == "tryon_rendered")
    assert (rendered.mode, rendered.category, rendered.latency_ms) == ("live", "eyewear", 120.0)


def test_a_beacon_with_the_key_in_the_query_is_accepted(client: TestClient, shop: Any) -> None:
    body = json.dumps({"events": [event_json("impression")]}).encode()
    response = client.post(
        "/v1/events",
        params={"key": shop.publishable_key},
        content=body,
        headers={"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN},
    )
    assert response.status_code == 202, response.text
    assert len(stored(client)) == 1


def test_the_same_batch_twice_is_stored_once(client: TestClient, shop: Any) -> None:
    batch = {"events": [event_json("impression"), event_json("open")]}
    assert post(client, shop.publishable_key, batch).status_code == 202
    assert post(client, shop.publishable_key, batch).status_code == 202  # a retried beacon
    assert len(stored(client)) == 2


def test_preflights_follow_the_widget_policy(client: TestClient, shop: Any) -> None:
    """Preflights carry no key: the gateway's widget CORS answers them, 204 when some active
    publishable key allows the origin, 403 otherwise (never an echo of any origin)."""
    response = client.options(
        "/v1/events",
        headers={"origin": ORIGIN, "access-control-request-method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
    other = client.options(
        "/v1/events",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert_problem(other, 403, "origin-not-allowed")
    assert "access-control-allow-origin" not in other.headers
    bad = client.options("/v1/events", headers={"origin": "javascript:alert(1)"})
    assert "access-control-allow-origin" not in bad.headers


def test_a_same_origin_beacon_is_accepted(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    """A page on the API's own origin (the demo store): its POSTs carry Origin as well."""
    public = client.app.state.settings.public_url  # type: ignore[attr-defined]
    same = new_merchant("Same", allowed_origins=[public])
    response = client.post(
        "/v1/events",
        params={"key": same.publishable_key},
        content=json.dumps({"events": [event_json("impression")]}).encode(),
        headers={
            "content-type": "text/plain",
            "origin": public,
            "sec-fetch-site": "same-origin",
        },
    )
    assert response.status_code == 202, response.text
    assert {r.store for r in stored(client)} == {public}


def test_events_count_against_the_widget_rate_limits(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    """The events endpoint is a widget endpoint like the others: per-key and per-IP limits."""
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    migrate.upgrade(url)
    with running(make_settings(database_url=url, rate_limit_per_key=2)) as limited:
        with session_scope(limited.app.state.engine) as session:  # type: ignore[attr-defined]
            m = merchants.create_merchant(session=session, name="Busy", allowed_origins=[ORIGIN])
        batch = {"events": [event_json("impression")]}
        assert post(limited, m.publishable_key, batch).status_code == 202
        assert post(limited, m.publishable_key, batch).status_code == 202
        third = post(limited, m.publishable_key, batch)
        assert_problem(third, 429, "rate-limited")
        assert int(third.headers["retry-after"]) >= 1


# -- who may send ---------------------------------------------------------------------------


def test_no_key_is_401(client: TestClient) -> None:
    response = client.post(
        "/v1/events", json={"events": [event_json()]}, headers={"origin": ORIGIN}
    )
    assert_problem(response, 401, "invalid-api-key")


def test_unknown_key_is_401(client: TestClient) -> None:
    assert_problem(
        post(client, "pk_" + "A" * 32, {"events": [event_json()]}), 401, "invalid-api-key"
    )


def test_secret_key_is_refused(client: TestClient, shop: Any) -> None:
    response = post(client, shop.secret_key, {"events": [event_json()]})
    assert_problem(response, 403, "key-type-not-allowed")


def test_revoked_key_is_401(client: TestClient, shop: Any) -> None:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        principal = keys.authenticate(session=session, raw_key=shop.publishable_key)
        keys.revoke(session=session, merchant_id=principal.merchant_id, key_id=principal.key_id)
    assert_problem(
        post(client, shop.publishable_key, {"events": [event_json()]}), 401, "invalid-api-key"
    )


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "https://evil.example",
        "https://shop.example.evil.example",
        "null",
        "http://shop.example",
    ],
)
def test_other_origins_are_403(client: TestClient, shop: Any, origin: str | None) -> None:
    response = post(client, shop.publishable_key, {"events": [event_json()]}, origin=origin)
    body = assert_problem(response, 403, "origin-not-allowed")
    assert "access-control-allow-origin" not in response.headers
    assert "shop.example" not in body.get("detail", "")
    assert stored(client) == []


def test_errors_after_auth_carry_cors_headers(client: TestClient, shop: Any) -> None:
    """So the widget can read why its batch was refused."""
    response = post(client, shop.publishable_key, {"events": []})
    assert_problem(response, 422, "invalid-input")
    assert response.headers["access-control-allow-origin"] == ORIGIN


# -- what may be sent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b"{not json", "application/json", 400, "bad-request"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "bad-request"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "bad-request"),
        (b"", "application/json", 400, "bad-request"),
        (b"events=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        (b"{}", "multipart/form-data; boundary=x", 415, "unsupported-media-type"),
        (b"null", "application/json", 422, "invalid-input"),
        (b'{"events": "all of them"}', "application/json", 422, "invalid-input"),
        (b'{"events": []}', "application/json", 422, "invalid-input"),
    ],
)
def test_malformed_bodies_are_4xx_problems(
    client: TestClient, shop: Any, body: bytes, content_type: str, status: int, slug: str
) -> None:
    response = post(client, shop.publishable_key, body, content_type=content_type)
    assert_problem(response, status, slug)


def _event_with(**changes: Any) -> dict[str, Any]:
    event = event_json("tryon_rendered", tryon_session_id="tryon-0001")
    for key, value in changes.items():
        if key.startswith("properties."):
            event["properties"][key.split(".", 1)[1]] = value
        elif value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


HOSTILE = {
    "unknown field (an IP)": _event_with(ip="203.0.113.9"),
    "unknown property (an image)": _event_with(
        **{"properties.image": "data:image/jpeg;base64,/9j/4AAQ"}
    ),
    "face landmarks as a property": _event_with(**{"properties.landmarks": [[0.1, 0.2]] * 468}),
    "image as a product id": _event_with(product_id="data:image/png;base64," + "A" * 4000),
    "control characters": _event_with(product_id="glasses\x00<script>"),
    "session id with spaces": _event_with(widget_session_id="not a session id"),
    "wrong schema version": _event_with(schema_version=2),
    "unknown type": _event_with(type="page_view"),
    "nil event id": _event_with(event_id="00000000-0000-0000-0000-000000000000"),
    "not a uuid": _event_with(event_id="1; DROP TABLE fact_event"),
    "naive time": _event_with(occurred_at="2026-11-22T10:00:00"),
    "negative latency": _event_with(**{"properties.latency_ms": -1}),
    "huge latency": _event_with(**{"properties.latency_ms": 1e12}),
    "infinite latency": _event_with(**{"properties.latency_ms": float("inf")}),
    "bad category": _event_with(**{"properties.category": "spaceship"}),
    "missing product": _event_with(product_id=None),
    "server-only purchase": event_json(
        "purchase",
        product_id=None,
        properties={
            "order_id": "o1",
            "revenue": "1.00",
            "currency": "EUR",
            "lines": [{"product_id": "p", "quantity": 1, "price": "1.00"}],
        },
    ),
    "too old": _event_with(occurred_at=(datetime.now(UTC) - timedelta(days=8)).isoformat()),
}


@pytest.mark.parametrize("event", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_events_are_422_and_nothing_is_stored(
    client: TestClient, shop: Any, event: dict[str, Any]
) -> None:
    good = event_json("impression")
    response = post(client, shop.publishable_key, {"events": [good, event]})
    body = assert_problem(response, 422, "invalid-input")
    assert body["errors"], body
    assert all(e["loc"][:2] == ["events", 1] for e in body["errors"])
    assert "203.0.113.9" not in response.text
    assert "base64" not in response.text
    assert stored(client) == []  # the whole batch or nothing


def test_unknown_top_level_fields_are_refused(client: TestClient, shop: Any) -> None:
    response = post(client, shop.publishable_key, {"events": [event_json()], "ip": "1.2.3.4"})
    assert_problem(response, 422, "invalid-input")


def test_too_many_events_is_422(client: TestClient, shop: Any) -> None:
    events = [event_json("impression") for _ in range(101)]
    response = post(client, shop.publishable_key, {"events": events})
    body = assert_problem(response, 422, "invalid-input")
    assert "100" in body["detail"]


def test_oversized_bodies_are_413(client: TestClient, shop: Any) -> None:
    big = b'{"events": [' + b" " * (129 * 1024) + b"]}"
    assert_problem(post(client, shop.publishable_key, big), 413, "payload-too-large")

    def chunks() -> Any:  # no Content-Length: the cap holds while streaming
        yield b'{"events": ['
        for _ in range(200):
            yield b" " * 1024
        yield b"]}"

    response = client.post(
        "/v1/events",
        content=chunks(),
        headers={
            **auth(shop.publishable_key),
            "origin": ORIGIN,
            "content-type": "application/json",
        },
    )
    assert_problem(response, 413, "payload-too-large")


def test_compressed_bodies_are_415(client: TestClient, shop: Any) -> None:
    response = post(
        client, shop.publishable_key, b"\x1f\x8b...", headers={"content-encoding": "gzip"}
    )
    assert_problem(response, 415, "unsupported-media-type")


# -- clocks ---------------------------------------------------------------------------------


def test_clock_skew_is_corrected_with_sent_at(client: TestClient, shop: Any) -> None:
    """A phone whose clock is two hours fast: times move back by the same offset."""
    skew = timedelta(hours=2)
    now = datetime.now(UTC)
    event = event_json("impression", occurred_at=now + skew - timedelta(seconds=30))
    response = post(
        client, shop.publishable_key, {"events": [event], "sent_at": (now + skew).isoformat()}
    )
    assert response.status_code == 202, response.text
    (row,) = stored(client)
    assert abs(row.occurred_at - (now - timedelta(seconds=30))) < timedelta(seconds=5)
    assert row.client_occurred_at == datetime.fromisoformat(event["occurred_at"])


def test_future_times_without_sent_at_are_clamped_to_receipt(client: TestClient, shop: Any) -> None:
    event = event_json("impression", occurred_at=datetime.now(UTC) + timedelta(days=3))
    assert post(client, shop.publishable_key, {"events": [event]}).status_code == 202
    (row,) = stored(client)
    assert row.occurred_at <= row.received_at
    assert row.received_at - row.occurred_at < timedelta(seconds=1)


# -- privacy --------------------------------------------------------------------------------


def test_no_client_address_reaches_the_warehouse(
    client: TestClient, shop: Any, tmp_path: Path
) -> None:
    """TestClient's peer is 'testclient'; X-Forwarded-For carries a public address."""
    response = post(
        client,
        shop.publishable_key,
        {"events": [event_json("impression"), event_json("open")]},
        headers={"x-forwarded-for": "198.51.100.77", "user-agent": "Mozilla/5.0 probe-ua"},
    )
    assert response.status_code == 202
    assert len(stored(client)) == 2
    client.app.state.analytics.engine.dispose()  # type: ignore[attr-defined]
    for path in (tmp_path / "var").rglob("analytics.db*"):
        data = path.read_bytes()
        for needle in (b"198.51.100.77", b"testclient", b"probe-ua"):
            assert needle not in data, (path.name, needle)


# -- refusal, never loss --------------------------------------------------------------------


def test_a_full_buffer_refuses_with_503_and_retry_after(
    make_settings: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.db import migrate
    from gateway.db.session import session_scope as scope
    from gateway.keys import service as merchants
    from gateway.main import create_app

    monkeypatch.setenv("TRYON_ANALYTICS_BUFFER_MAX_EVENTS", "2")
    url = f"sqlite:///{tmp_path / 'g.db'}"
    migrate.upgrade(url)
    app = create_app(make_settings(database_url=url))
    with TestClient(app) as client:
        with scope(app.state.engine) as session:
            m = merchants.create_merchant(session=session, name="M", allowed_origins=[ORIGIN])
        events = [event_json("impression") for _ in range(3)]
        response = post(client, m.publishable_key, {"events": events})
        body = assert_problem(response, 503, "unavailable")
        assert response.headers["retry-after"] == "5"
        assert body["retry_after"] == 5
        assert post(client, m.publishable_key, {"events": events[:2]}).status_code == 202
        assert len(stored(client)) == 2


# -- server-side events ---------------------------------------------------------------------


def test_server_side_purchases_count_once_per_order(client: TestClient, shop: Any) -> None:
    line = PurchaseLine(
        product_id="glasses-a", quantity=2, price=Decimal("60.00"), tryon_session_id="tryon-0001"
    )
    order = service.purchase(
        merchant_id=shop.merchant.id,
        order_id="#1001",
        occurred_at=datetime.now(UTC),
        revenue=Decimal("125.00"),
        currency="EUR",
        lines=[line],
        widget_session_id="wsession-0001",
    )
    app = client.app
    service.emit(app, merchant_id=shop.merchant.id, events=[order], store="shop.myshopify.com")  # type: ignore[arg-type]
    service.emit(app, merchant_id=shop.merchant.id, events=[order])  # type: ignore[arg-type]  # webhook retry
    rows = stored(client)
    assert [(r.type, r.order_id, r.source, r.store) for r in rows] == [
        ("purchase", "#1001", "server", "shop.myshopify.com")
    ]
    assert order.event_id == service.purchase_event_id(
        merchant_id=shop.merchant.id, order_id="#1001"
    )


# -- fuzzing --------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _mutated_event(draw: Any) -> Any:
    event = event_json(draw(st.sampled_from([*PROPERTIES_TYPES, "purchase", "nope"])))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([*event.keys(), "extra"]))
        event[key] = draw(JSON_VALUES)
    return event


@st.composite
def batches(draw: Any) -> bytes:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    events = [_mutated_event(draw) for _ in range(draw(st.integers(0, 3)))]
    return json.dumps({"events": events}).encode()


PROPERTIES_TYPES = ["impression", "open", "tryon_started", "tryon_rendered", "add_to_cart"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=batches())
def test_any_body_gets_202_or_a_4xx_problem(client: TestClient, shop: Any, body: bytes) -> None:
    response = post(client, shop.publishable_key, body)
    assert response.status_code in {202, 400, 413, 415, 422}, response.text
    if response.status_code != 202:
        assert response.headers["content-type"] == "application/problem+json"
