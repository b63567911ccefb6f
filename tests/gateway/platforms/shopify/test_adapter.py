"""ShopifyAdapter: webhook signatures (published vector), topics to domain events, and the
GraphQL Admin API calls against the fake Shopify (h6's, written from Shopify's docs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway.errors import BadRequest, GatewayError, Unauthorized
from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import (
    AppUninstalled,
    Connection,
    CustomerDataRequest,
    CustomerRedact,
    OrderChanged,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    ShopRedact,
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.shopify.adapter import (
    API_TOPICS,
    ShopifyAdapter,
    needs_refresh,
    webhook_hmac,
)
from testkit.fakes.shopify import FakeShopify
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET, session_token

SHOP = "a-shop.myshopify.com"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TRY = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"


def adapter(**kwargs: Any) -> ShopifyAdapter:
    return ShopifyAdapter(api_key=API_KEY, api_secret=API_SECRET, api_version="2025-10", **kwargs)


def test_the_published_webhook_vector() -> None:
    assert (
        webhook_hmac(b'{"foo": "bar"}', secret="test_secret_key")
        == "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
    )


def _headers(body: bytes, *, secret: str = API_SECRET, **extra: str) -> dict[str, str]:
    headers = {
        "x-shopify-hmac-sha256": webhook_hmac(body, secret=secret),
        "x-shopify-topic": "orders/create",
        "x-shopify-shop-domain": SHOP,
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "x-shopify-triggered-at": "2026-12-07T11:59:58.000Z",
    }
    return headers | extra


def test_a_signed_webhook_verifies() -> None:
    body = json.dumps({"id": 1}).encode()
    delivery = adapter().verify_webhook(headers=_headers(body), body=body, now=NOW)
    assert (delivery.shop, delivery.topic, delivery.payload) == (SHOP, "orders/create", {"id": 1})
    assert delivery.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery.occurred_at == datetime(2026, 12, 7, 11, 59, 58, tzinfo=UTC)


FORGED = {
    "wrong-secret": lambda b: (_headers(b, secret="x" * 40), b),
    "body-changed": lambda b: (_headers(b), b + b" "),
    "no-signature": lambda b: ({k: v for k, v in _headers(b).items() if "hmac" not in k}, b),
    "empty-signature": lambda b: (_headers(b) | {"x-shopify-hmac-sha256": ""}, b),
    "hex-signature": lambda b: (_headers(b) | {"x-shopify-hmac-sha256": "ab" * 32}, b),
    "non-ascii-signature": lambda b: (_headers(b) | {"x-shopify-hmac-sha256": "é" * 44}, b),
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_forged_webhooks_are_401(name: str) -> None:
    headers, body = FORGED[name](json.dumps({"id": 1}).encode())
    with pytest.raises(Unauthorized):
        adapter().verify_webhook(headers=headers, body=body, now=NOW)


def test_an_unconfigured_app_accepts_no_webhook() -> None:
    body = b"{}"
    with pytest.raises(Unauthorized):
        ShopifyAdapter(api_key="", api_secret="", api_version="2025-10").verify_webhook(
            headers=_headers(body, secret=""), body=body, now=NOW
        )


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        (b"not json", {}),
        (b"[1, 2]", {}),
        (b'"x"', {}),
        (b"\xff\xfe", {}),
        (b"{}", {"x-shopify-shop-domain": "evil.com"}),
        (b"{}", {"x-shopify-shop-domain": "a.myshopify.com.evil.com"}),
        (b"{}", {"x-shopify-webhook-id": ""}),
        (b"{}", {"x-shopify-webhook-id": "x" * 200}),
        (b"{}", {"x-shopify-topic": ""}),
        (b'{"shop_domain": "other.myshopify.com"}', {"x-shopify-topic": "shop/redact"}),
    ],
)
def test_signed_but_unusable_webhooks_are_400(body: bytes, extra: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        adapter().verify_webhook(headers=_headers(body, **extra), body=body, now=NOW)


def _delivery(topic: str, payload: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(delivery_id="d1", shop=SHOP, topic=topic, payload=payload)


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "created_at": "2026-12-07T11:00:00-05:00",
        "currency": "EUR",
        "total_price": "129.90",
        "current_total_price": "129.90",
        "financial_status": "paid",
        "note_attributes": [{"name": "_tryon_widget_session", "value": WIDGET}],
        "line_items": [
            {
                "id": 466157049,
                "product_id": 632910392,
                "variant_id": 808950810,
                "quantity": 1,
                "price": "125.00",
                "properties": [
                    {"name": "_tryon_session", "value": TRY},
                    {"name": "Engraving", "value": "Hi"},
                ],
            },
            {
                "id": 466157050,
                "product_id": None,
                "variant_id": None,
                "quantity": 2,
                "price": "2.45",
                "properties": [],
            },
        ],
        "refunds": [],
    }
    return order | overrides


def test_orders_create_reads_session_ids_and_legacy_ids() -> None:
    (event,) = adapter().parse_webhook(_delivery("orders/create", _order()))
    assert isinstance(event, OrderChanged)
    assert event.status is OrderStatus.CREATED
    order = event.order
    assert (order.order_id, order.revenue, order.currency, order.store) == (
        "820982911946154508",
        "129.9",
        "EUR",
        SHOP,
    )
    assert order.widget_session_id == WIDGET
    first, custom = order.lines
    assert (first.product_id, first.variant_id, first.quantity, first.price) == (
        "632910392",
        "808950810",
        1,
        "125",
    )
    assert first.tryon_session_id == TRY
    assert custom.product_id == "custom-line-466157050"
    assert custom.tryon_session_id is None
    assert order.occurred_at == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


def test_properties_as_an_object_and_forged_ids_dropped() -> None:
    payload = _order(note_attributes={"_tryon_widget_session": "bad id with spaces"})
    payload["line_items"][0]["properties"] = {"_tryon_session": TRY}
    payload["line_items"][1]["properties"] = {"_tryon_session": "<script>"}
    (event,) = adapter().parse_webhook(_delivery("orders/create", payload))
    assert isinstance(event, OrderChanged)
    assert event.order.widget_session_id is None
    assert [line.tryon_session_id for line in event.order.lines] == [TRY, None]


@pytest.mark.parametrize(
    ("topic", "overrides", "status", "refunded"),
    [
        ("orders/paid", {}, OrderStatus.CREATED, Decimal(0)),
        ("orders/updated", {}, OrderStatus.UPDATED, Decimal(0)),
        (
            "orders/cancelled",
            {"cancelled_at": "2026-12-07T12:00:00Z"},
            OrderStatus.CANCELLED,
            Decimal(0),
        ),
        (
            "orders/updated",
            {
                "financial_status": "partially_refunded",
                "refunds": [
                    {"transactions": [{"kind": "refund", "status": "success", "amount": "20.00"}]},
                    {"transactions": [{"kind": "refund", "status": "failure", "amount": "99.00"}]},
                ],
            },
            OrderStatus.REFUNDED,
            Decimal("20.00"),
        ),
    ],
)
def test_order_topics_to_statuses(
    topic: str, overrides: dict[str, Any], status: OrderStatus, refunded: Decimal
) -> None:
    (event,) = adapter().parse_webhook(_delivery(topic, _order(**overrides)))
    assert isinstance(event, OrderChanged)
    assert (event.status, event.refunded) == (status, refunded)


def test_refunds_create() -> None:
    refund = {
        "id": 509562969,
        "order_id": 820982911946154508,
        "refund_line_items": [
            {"quantity": 1, "line_item": _order()["line_items"][0]},
        ],
        "transactions": [
            {"kind": "refund", "status": "success", "amount": "125.00", "currency": "EUR"}
        ],
    }
    (event,) = adapter().parse_webhook(_delivery("refunds/create", refund))
    assert isinstance(event, OrderChanged)
    assert event.status is OrderStatus.REFUNDED
    assert event.order.order_id == "820982911946154508"
    assert event.order.lines[0].product_id == "632910392"
    assert event.refunded is None


def test_other_topics() -> None:
    a = adapter()
    assert a.parse_webhook(_delivery("app/uninstalled", {"id": 1})) == [AppUninstalled()]
    assert a.parse_webhook(_delivery("shop/redact", {"shop_id": 1})) == [ShopRedact()]
    assert a.parse_webhook(
        _delivery(
            "customers/redact",
            {"customer": {"id": 207119551}, "orders_to_redact": [299938, 280263]},
        )
    ) == [CustomerRedact("207119551", ("299938", "280263"))]
    assert a.parse_webhook(
        _delivery(
            "customers/data_request",
            {
                "customer": {"id": 207119551},
                "orders_requested": [299938],
                "data_request": {"id": 9999},
            },
        )
    ) == [CustomerDataRequest("207119551", ("299938",), "9999")]
    assert a.parse_webhook(_delivery("products/update", {"id": 632910392})) == [
        ProductChanged("632910392")
    ]
    assert a.parse_webhook(_delivery("products/delete", {"id": 632910392})) == [
        ProductDeleted("632910392")
    ]
    assert a.parse_webhook(_delivery("collections/update", {"id": 1})) == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("orders/create", {"id": 1}),
        ("orders/create", _order(line_items=[])),
        ("orders/create", _order(currency="euro")),
        ("orders/create", _order(current_total_price="-1", total_price="-1")),
        ("orders/create", _order(id="gid://shopify/Order/abc")),
        ("products/update", {"id": None}),
        ("customers/redact", {"customer": {}}),
        ("refunds/create", {"order_id": None}),
    ],
)
def test_unusable_bodies_are_bad_requests(topic: str, payload: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        adapter().parse_webhook(_delivery(topic, payload))


# -- the Admin API against the fake --------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify(API_KEY, API_SECRET) as shopify:
        shopify.add_shop(SHOP)
        yield shopify


def _client(fake: FakeShopify, sleeps: list[float] | None = None) -> PlatformClient:
    return PlatformClient(
        base_url=fake.base_url,
        max_attempts=3,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        jitter=lambda: 0.0,
    )


def _connection(fake: FakeShopify) -> Connection:
    return Connection(shop=SHOP, access_token=fake.issue_token(SHOP, scopes="read_products"))


def test_catalog_pages_through_graphql(fake: FakeShopify) -> None:
    image = fake.add_image("frame.png")
    gids = [
        fake.add_product(
            SHOP,
            title=f"Frame {i}",
            product_type="Sunglasses",
            tags=("summer",),
            collections=("eyewear",),
            images=(image,),
            variants=[
                {"title": "Gold", "sku": f"F{i}", "price": "125.00", "options": {"Color": "Gold"}}
            ],
        )
        for i in range(5)
    ]
    a, connection = adapter(page_size=2), _connection(fake)
    seen, cursor, pages = [], None, 0
    with _client(fake) as client:
        while True:
            page = a.fetch_catalog_page(client=client, connection=connection, cursor=cursor)
            pages += 1
            seen.extend(page.products)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert pages == 3
    assert [p.external_id for p in seen] == [g.rsplit("/", 1)[1] for g in gids]
    product = seen[0]
    assert (product.title, product.product_type, product.tags, product.collections) == (
        "Frame 0",
        "Sunglasses",
        ("summer",),
        ("eyewear",),
    )
    assert product.images == (image,)
    (variant,) = product.variants
    assert (variant.sku, variant.price, variant.options) == ("F0", "125", {"Color": "Gold"})
    assert variant.available is True  # availableForSale: what recommendations keep out if false
    assert variant.external_id.isdigit()
    # GraphQL only: no REST catalog call was made.
    assert all("graphql.json" in r.path for r in fake.requests if "/admin/api/" in r.path)


def test_a_sold_out_variant_is_not_available(fake: FakeShopify) -> None:
    gid = fake.add_product(
        SHOP,
        title="Frame",
        product_type="Sunglasses",
        variants=[
            {"title": "Gold", "price": "99.90", "options": {"Color": "Gold"}, "available": False},
            {"title": "Black", "price": "99.90", "options": {"Color": "Black"}},
        ],
    )
    a, connection = adapter(), _connection(fake)
    with _client(fake) as client:
        product = a.fetch_product(
            client=client, connection=connection, external_id=gid.rsplit("/", 1)[1]
        )
    assert product is not None
    assert [(v.title, v.available) for v in product.variants] == [("Gold", False), ("Black", True)]


def test_fetch_product_and_a_deleted_one(fake: FakeShopify) -> None:
    gid = fake.add_product(SHOP, title="Hat", product_type="Hats")
    a, connection = adapter(), _connection(fake)
    with _client(fake) as client:
        product = a.fetch_product(
            client=client, connection=connection, external_id=gid.rsplit("/", 1)[1]
        )
        assert product is not None
        assert product.title == "Hat"
        fake.delete_product(SHOP, gid)
        assert (
            a.fetch_product(client=client, connection=connection, external_id=gid.rsplit("/", 1)[1])
            is None
        )
        assert (
            a.fetch_product(client=client, connection=connection, external_id="not-a-number")
            is None
        )


def test_ensure_webhooks_is_idempotent(fake: FakeShopify) -> None:
    a, connection = adapter(), _connection(fake)
    url = "https://tryon.test/platforms/shopify/webhooks"
    with _client(fake) as client:
        a.ensure_webhooks(client=client, connection=connection, callback_url=url)
        first = {(s.topic, s.uri) for s in fake.shops[SHOP].subscriptions.values()}
        a.ensure_webhooks(client=client, connection=connection, callback_url=url)
        second = {(s.topic, s.uri) for s in fake.shops[SHOP].subscriptions.values()}
        assert first == second == {(t.replace("/", "_").upper(), url) for t in API_TOPICS}
        assert len(fake.shops[SHOP].subscriptions) == len(API_TOPICS)
        # The app moved: old subscriptions go, new ones come.
        moved = "https://new.tryon.test/platforms/shopify/webhooks"
        a.ensure_webhooks(client=client, connection=connection, callback_url=moved)
        assert {s.uri for s in fake.shops[SHOP].subscriptions.values()} == {moved}
        assert len(fake.shops[SHOP].subscriptions) == len(API_TOPICS)


def test_graphql_errors_raise(fake: FakeShopify) -> None:
    fake.inject_graphql_errors(
        [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    )
    with _client(fake) as client, pytest.raises(GatewayError):
        adapter().fetch_catalog_page(client=client, connection=_connection(fake), cursor=None)


def test_a_throttled_catalog_waits_for_the_bucket() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # a fake clock: waiting only moves it on
        sleeps.append(seconds)
        now[0] += seconds

    with FakeShopify(API_KEY, API_SECRET, clock=lambda: now[0]) as fake:
        fake.add_shop(SHOP)
        fake.add_product(SHOP, title="Hat")
        fake.set_bucket(SHOP, maximum=1000, available=0, restore_rate=50)
        client = PlatformClient(
            base_url=fake.base_url, sleep=sleep, clock=lambda: now[0], jitter=lambda: 0.0
        )
        with client:
            page = adapter().fetch_catalog_page(
                client=client, connection=_connection(fake), cursor=None
            )
    assert [p.title for p in page.products] == ["Hat"]
    assert sleeps, "the client waited for the bucket to refill"


def test_code_exchange_refresh_and_token_exchange(fake: FakeShopify) -> None:
    a = adapter(clock=lambda: NOW)
    with _client(fake) as client:
        # Token exchange: an embedded page's session token for an expiring offline token.
        tokens = a.exchange_session_token(
            client=client, shop=SHOP, session_token=session_token(SHOP)
        )
        assert tokens.access_token
        assert tokens.refresh_token
        assert tokens.expires_at == NOW + timedelta(hours=1)
        connection = Connection(shop=SHOP, access_token=tokens.access_token)
        fresh = a.refresh(client=client, connection=connection, tokens=tokens)
        assert fresh.access_token != tokens.access_token
        assert fake.token_shop(fresh.access_token) == SHOP
        # The token-exchange request is the one Shopify documents.
        form = next(r for r in fake.requests if r.path.endswith("/admin/oauth/access_token")).form()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
        assert (
            form["requested_token_type"]
            == "urn:shopify:params:oauth:token-type:offline-access-token"
        )
        assert form["subject_token_type"] == "urn:ietf:params:oauth:token-type:id_token"
        # A forged session token is refused by Shopify.
        with pytest.raises(GatewayError):
            a.exchange_session_token(
                client=client, shop=SHOP, session_token=session_token(SHOP, secret="f" * 64)
            )


def test_non_expiring_tokens_are_not_refreshed(fake: FakeShopify) -> None:
    tokens = Tokens(access_token="t", scopes=("read_products",))
    with _client(fake) as client:
        assert (
            adapter().refresh(client=client, connection=_connection(fake), tokens=tokens) is tokens
        )
    assert not any("access_token" in r.path for r in fake.requests)


def test_refresh_five_minutes_before_expiry() -> None:
    def tokens(left: timedelta) -> Tokens:
        return Tokens("t", (), expires_at=NOW + left, refresh_token="r")

    assert needs_refresh(tokens(timedelta(minutes=4, seconds=59)), now=NOW)
    assert not needs_refresh(tokens(timedelta(minutes=5, seconds=1)), now=NOW)
    assert not needs_refresh(Tokens("t", (), expires_at=NOW), now=NOW)  # nothing to refresh with


def test_revoke_kills_the_token_and_never_raises(fake: FakeShopify) -> None:
    connection = _connection(fake)
    with _client(fake) as client:
        adapter().revoke(client=client, connection=connection)
        assert fake.token_shop(connection.access_token) is None
        fake.inject("api_permissions", status=500, times=10)
        adapter().revoke(client=client, connection=connection)  # logged, not raised


def _pixel_shopify(
    existing: dict[str, Any] | None,
) -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    """Shopify's webPixel API as its docs describe it (the fake Shopify has no pixels)."""
    calls: list[dict[str, Any]] = []
    pixel = dict(existing) if existing else None

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal pixel
        body = json.loads(request.content)
        calls.append(body)
        query, variables = body["query"], body.get("variables") or {}
        if "webPixelCreate" in query:
            if pixel is not None:
                errors = [{"field": ["webPixel"], "message": "Web pixel is taken", "code": "TAKEN"}]
                return httpx.Response(
                    200, json={"data": {"webPixelCreate": {"userErrors": errors, "webPixel": None}}}
                )
            pixel = {"id": "gid://shopify/WebPixel/1", "settings": variables["settings"]}
            return httpx.Response(
                200, json={"data": {"webPixelCreate": {"userErrors": [], "webPixel": pixel}}}
            )
        if "webPixelUpdate" in query:
            assert pixel is not None
            assert variables["id"] == pixel["id"]
            pixel = {**pixel, "settings": variables["settings"]}
            return httpx.Response(
                200, json={"data": {"webPixelUpdate": {"userErrors": [], "webPixel": pixel}}}
            )
        return httpx.Response(200, json={"data": {"webPixel": pixel}})

    return httpx.MockTransport(handle), calls


@pytest.mark.parametrize(
    ("existing", "mutations"),
    [
        (None, ["webPixelCreate"]),
        (
            {
                "id": "gid://shopify/WebPixel/7",
                "settings": '{"apiBase": "https://old", "publishableKey": "pk_old"}',
            },
            ["webPixelCreate", "webPixel", "webPixelUpdate"],
        ),
        (
            {
                "id": "gid://shopify/WebPixel/7",
                "settings": '{"apiBase": "https://tryon.test", "publishableKey": "pk_1"}',
            },
            ["webPixelCreate", "webPixel"],
        ),
    ],
    ids=["new", "stale-settings", "already-right"],
)
def test_ensure_pixel_creates_or_updates_the_settings(
    existing: dict[str, Any] | None, mutations: list[str]
) -> None:
    transport, calls = _pixel_shopify(existing)
    with PlatformClient(transport=transport, sleep=lambda _s: None) as client:
        adapter().ensure_pixel(
            client=client,
            connection=Connection(shop=SHOP, access_token="t"),
            api_base="https://tryon.test",
            key="pk_1",
        )
    made = [
        next(m for m in ("webPixelCreate", "webPixelUpdate", "webPixel") if m in c["query"])
        for c in calls
    ]
    assert made == mutations
    sent = json.loads(calls[0]["variables"]["settings"])
    assert sent == {"apiBase": "https://tryon.test", "publishableKey": "pk_1"}


def test_ensure_pixel_says_when_shopify_refuses() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        errors = [
            {"field": ["settings"], "message": "Settings are invalid", "code": "INVALID_SETTINGS"}
        ]
        return httpx.Response(
            200, json={"data": {"webPixelCreate": {"userErrors": errors, "webPixel": None}}}
        )

    with (
        PlatformClient(transport=httpx.MockTransport(handle)) as client,
        pytest.raises(GatewayError, match="Settings are invalid"),
    ):
        adapter().ensure_pixel(
            client=client,
            connection=Connection(shop=SHOP, access_token="t"),
            api_base="https://x",
            key="pk",
        )
