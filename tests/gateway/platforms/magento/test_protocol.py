"""Magento's protocol pieces without a server: the order post signature (the vector shared
with the module's PHPUnit suite), the OAuth 1.0a HMAC-SHA256 signature recomputed by hand
and checked by oauthlib, searchCriteria encoding, orders and products read from REST JSON,
and the guarded client's SSRF checks on a merchant's host."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from gateway.errors import BadRequest, Unauthorized
from gateway.platforms.http import PlatformClient
from gateway.platforms.magento import oauth, signing
from gateway.platforms.magento.adapter import (
    CONSUMER_KEY,
    STORE_BASE_URL,
    MagentoAdapter,
    criteria,
    delivery_id,
    order_of,
    pack_secrets,
    product_of,
    shop_of,
    store_base_url,
)
from gateway.platforms.protocol import Connection, OrderStatus

ROOT = Path(__file__).resolve().parents[4]
VECTOR = json.loads(
    (ROOT / "plugins/magento/Test/Fixtures/signature-vector.json").read_text(encoding="utf-8")
)
SESSION = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"


# -- the order post signature ---------------------------------------------------------------


def test_the_shared_vector_is_what_the_gateway_computes() -> None:
    made = signing.signature(
        VECTOR["secret"],
        timestamp=VECTOR["timestamp"],
        shop=VECTOR["shop"],
        consumer_key=VECTOR["consumer_key"],
        body=VECTOR["body"].encode(),
    )
    assert made == VECTOR["signature"]
    # Recomputed here with hmac alone, from the documented message.
    message = f"{VECTOR['timestamp']}.{VECTOR['shop']}.{VECTOR['consumer_key']}.{VECTOR['body']}"
    digest = hmac.new(VECTOR["secret"].encode(), message.encode(), hashlib.sha256).digest()
    assert made == "v1=" + base64.b64encode(digest).decode()


def _headers(**changes: str) -> dict[str, str]:
    headers = {
        signing.CONSUMER_HEADER: VECTOR["consumer_key"],
        signing.TIMESTAMP_HEADER: VECTOR["timestamp"],
        signing.SIGNATURE_HEADER: VECTOR["signature"],
    }
    return headers | changes


def test_the_vector_verifies_and_nothing_else_does() -> None:
    at = datetime.fromtimestamp(int(VECTOR["timestamp"]), tz=UTC)
    kwargs: dict[str, Any] = {
        "secret": VECTOR["secret"],
        "shop": VECTOR["shop"],
        "consumer_key": VECTOR["consumer_key"],
        "now": at + timedelta(seconds=30),
    }
    body = VECTOR["body"].encode()
    assert signing.verify(_headers(), body, **kwargs) == at
    for headers, raw, changed in [
        (_headers(), body + b" ", {}),
        (_headers(), body, {"secret": VECTOR["secret"][:-1]}),
        (_headers(), body, {"shop": "other.example"}),
        (_headers(**{signing.CONSUMER_HEADER: "x" * 32}), body, {}),
        (_headers(**{signing.SIGNATURE_HEADER: VECTOR["signature"][3:]}), body, {}),
        (_headers(**{signing.SIGNATURE_HEADER: "v1=" + "é" * 40}), body, {}),
        (_headers(**{signing.TIMESTAMP_HEADER: "-1"}), body, {}),
        (_headers(), body, {"now": at + timedelta(minutes=6)}),
        (_headers(), body, {"now": at - timedelta(minutes=6)}),
    ]:
        with pytest.raises(Unauthorized):
            signing.verify(headers, raw, **(kwargs | changed))


# -- OAuth 1.0a -------------------------------------------------------------------------------


def _params(header: str) -> dict[str, str]:
    from urllib.parse import unquote

    fields = header.removeprefix("OAuth ").split(", ")
    return {k: unquote(v.strip('"')) for k, v in (f.split("=", 1) for f in fields)}


def test_our_hmac_sha256_signature_is_the_documented_one_and_oauthlib_agrees() -> None:
    url = "https://magento.test/rest/V1/products?" + urlencode(
        criteria(page=2, page_size=50, filters=[("visibility", "2,3,4", "in")]),
        quote_via=quote,
    )
    assert "searchCriteria%5BpageSize%5D=50" in url  # brackets travel percent-encoded
    credentials = oauth.Credentials("ck" * 16, "cs&secret" * 4, "tk" * 15, "ts" * 16)
    header = oauth.authorization(credentials, "GET", url)
    params = _params(header)
    assert params["oauth_signature_method"] == "HMAC-SHA256"
    # By hand, as PLATFORMS.md describes it: METHOD&enc(url)&enc(sorted params), the query's
    # parameters decoded and signed with the oauth ones.
    from urllib.parse import parse_qsl

    enc = lambda s: quote(s, safe="~")  # noqa: E731
    pairs = [(k, v) for k, v in params.items() if k != "oauth_signature"]
    pairs += parse_qsl(url.split("?", 1)[1])
    normal = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
    base = "&".join(["GET", enc(url.split("?", 1)[0]), enc(normal)])
    key = f"{enc(credentials.consumer_secret)}&{enc(credentials.token_secret or '')}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest())
    assert params["oauth_signature"] == expected.decode()
    # oauthlib (a peer) verifies it.
    request = OAuthRequest(url, "GET", headers={"Authorization": header})
    request.params = oauth_signature.collect_parameters(
        uri_query=url.split("?", 1)[1], headers={"Authorization": header}
    )
    request.signature = params["oauth_signature"]
    assert oauth_signature.verify_hmac_sha256(
        request, credentials.consumer_secret, credentials.token_secret
    )
    assert not oauth_signature.verify_hmac_sha256(request, "other", credentials.token_secret)


def test_the_request_token_call_says_oob_and_the_access_call_carries_the_verifier() -> None:
    consumer = oauth.Credentials("ck" * 16, "cs" * 16)
    first = _params(
        oauth.authorization(consumer, "POST", "https://m.test/oauth/token/request", callback="oob")
    )
    assert first["oauth_callback"] == "oob"
    assert "oauth_token" not in first
    second = _params(
        oauth.authorization(
            oauth.Credentials("ck" * 16, "cs" * 16, "rt" * 15, "rs" * 15),
            "POST",
            "https://m.test/oauth/token/access",
            verifier="v" * 32,
        )
    )
    assert (second["oauth_token"], second["oauth_verifier"]) == ("rt" * 15, "v" * 32)


# -- values -----------------------------------------------------------------------------------


def test_store_base_urls_are_normalised() -> None:
    assert store_base_url("https://Shop.Example/", allow_http=False) == "https://shop.example"
    assert store_base_url("https://shop.example/m2/index.php/", allow_http=False) == (
        "https://shop.example/m2"
    )
    assert store_base_url("http://shop.example:8080/", allow_http=True) == (
        "http://shop.example:8080"
    )
    assert shop_of("https://shop.example:443/m2") == "shop.example"
    assert shop_of("https://shop.example:8443") == "shop.example:8443"


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "entity_id": 12,
        "increment_id": "000000012",
        "created_at": "2026-12-07 10:00:00",
        "state": "processing",
        "grand_total": 130.5,
        "order_currency_code": "eur",
        "items": [
            {
                "item_id": 31,
                "product_id": 2046,
                "qty_ordered": 2.0,
                "price_incl_tax": 65.25,
                "extension_attributes": {"tryon_session": SESSION},
            },
            {"item_id": 32, "parent_item_id": 31, "product_id": 2047, "qty_ordered": 2.0},
            {
                "item_id": 33,
                "product_id": 7,
                "qty_ordered": 1,
                "price": 0,
                "extension_attributes": {"tryon_session": "<script>"},
            },
        ],
    }
    return order | changes


def test_an_order_and_its_configurable_lines() -> None:
    event = order_of(_order(), shop="shop.example")
    assert event.status is OrderStatus.CREATED
    assert event.order.order_id == "000000012"
    assert event.order.currency == "EUR"
    assert event.order.occurred_at == datetime(2026, 12, 7, 10, tzinfo=UTC)
    first, second = event.order.lines
    assert (first.product_id, first.variant_id, first.quantity) == ("2046", "2047", 2)
    assert first.tryon_session_id == SESSION
    assert second.tryon_session_id is None  # a malformed session loses attribution only


def test_a_holdout_shoppers_order_carries_the_widget_session() -> None:
    # Added with the page's own button: no try-on session, the widget session on the item.
    order = _order()
    order["items"] = [
        {
            "item_id": 31,
            "product_id": 2046,
            "qty_ordered": 1,
            "price": 10,
            "extension_attributes": {"tryon_widget_session": "w-4f1c2a9e7b3d"},
        }
    ]
    event = order_of(order, shop="shop.example")
    assert event.order.widget_session_id == "w-4f1c2a9e7b3d"
    assert event.order.lines[0].tryon_session_id is None
    assert order_of(_order(), shop="shop.example").order.widget_session_id is None
    order["items"][0]["extension_attributes"] = {"tryon_widget_session": "<script>"}
    assert order_of(order, shop="shop.example").order.widget_session_id is None


def test_the_attribution_state_is_the_dedupe_key() -> None:
    placed = delivery_id(_order(state="new"))
    assert (
        placed == delivery_id(_order(state="processing")) == delivery_id(_order(state="complete"))
    )
    assert placed == "order:12:placed:0"
    cancelled = _order(state="canceled")
    assert delivery_id(cancelled) == "order:12:cancelled:0"
    assert order_of(cancelled, shop="s").status is OrderStatus.CANCELLED
    partly = _order(total_refunded="30.0000")
    assert delivery_id(partly) == "order:12:refunded:30"
    more = _order(total_refunded=60, state="closed")
    assert delivery_id(more) == "order:12:refunded:60"
    assert order_of(more, shop="s").refunded == 60


@pytest.mark.parametrize(
    "changes",
    [
        {"increment_id": None},
        {"grand_total": "NaN"},
        {"grand_total": -1},
        {"order_currency_code": "euro"},
        {"items": []},
        {"items": [{"product_id": 1, "qty_ordered": 0.5, "price": 1}]},
    ],
)
def test_orders_that_cannot_be_read_are_bad_requests(changes: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        order_of(_order(**changes), shop="shop.example")


def test_a_product_from_rest() -> None:
    raw = {
        "id": 2046,
        "name": "Aviator",
        "status": 1,
        "media_gallery_entries": [
            {"file": "/a/b/side.jpg", "position": 1, "types": [], "disabled": False},
            {"file": "/a/b/main.jpg", "position": 2, "types": ["image"], "disabled": False},
            {"file": "/a/b/off.jpg", "position": 0, "types": [], "disabled": True},
        ],
        "extension_attributes": {"category_links": [{"category_id": "5"}]},
        "custom_attributes": [
            {"attribute_code": "url_key", "value": "aviator"},
            {"attribute_code": "meta_keyword", "value": "sun, metal"},
        ],
    }
    product = product_of(
        raw,
        media_base="https://cdn.shop.example/media/",
        categories={"5": "Sunglasses"},
        children=[{"id": 2047, "sku": "AV-G", "name": "Aviator Gold", "price": 125}],
    )
    assert product is not None
    assert product.images == (
        "https://cdn.shop.example/media/catalog/product/a/b/main.jpg",
        "https://cdn.shop.example/media/catalog/product/a/b/side.jpg",
    )
    assert product.collections == ("5", "Sunglasses")
    assert product.tags == ("sun", "metal")
    assert [(v.external_id, v.sku, v.price) for v in product.variants] == [("2047", "AV-G", "125")]
    assert product.handle == "aviator"
    assert product_of({"id": "x"}, media_base="", categories={}) is None
    assert product_of(raw | {"status": 2}, media_base="", categories={}).active is False  # type: ignore[union-attr]


def test_a_store_that_refuses_its_configuration_still_syncs() -> None:
    from testkit.fakes.magento import FakeMagento

    with FakeMagento() as fake, PlatformClient(base_url=fake.base_url, max_attempts=1) as client:
        key, secret, verifier = fake.create_integration("m.test")
        image = fake.add_image("cap.png", b"png")
        fake.add_product("m.test", name="Cap", images=[image])
        fake.refuse_store_configs = True
        requested = oauth.request_token(client, "https://m.test", oauth.Credentials(key, secret))
        granted = oauth.access_token(client, "https://m.test", requested, verifier=verifier)
        connection = Connection(
            shop="m.test",
            access_token=granted.token or "",
            extra={STORE_BASE_URL: "https://m.test", CONSUMER_KEY: key},
            secret=pack_secrets(consumer_secret=secret, token_secret=granted.token_secret or ""),
        )
        page = MagentoAdapter().fetch_catalog_page(
            client=client, connection=connection, cursor=None
        )
    (product,) = page.products
    assert product.images == ("https://m.test/media/catalog/product/c/a/cap.png",)
