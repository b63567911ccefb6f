"""Install and callback checks: Shopify's query HMAC (published vector and Shopify's own
Python library as a peer), timestamps, shop domains, the state cookie, install links, scopes."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qsl, urlencode

import pytest
import shopify  # the ShopifyAPI package: Shopify's own code, not ours

from gateway.platforms.shopify import oauth

SECRET = "hush"


def test_the_published_vector() -> None:
    message = (
        "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
        "&state=0.6784241404160823&timestamp=1337178173"
    )
    pairs = parse_qsl(message)
    assert oauth.hmac_message(pairs) == message
    assert (
        oauth.query_hmac(pairs, secret=SECRET)
        == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    )
    signed = [*pairs, ("hmac", "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")]
    assert oauth.verify_query(signed, secret=SECRET, now=1337178173 + 30)["shop"] == (
        "some-shop.myshopify.com"
    )


def _peer_signed(params: dict[str, str]) -> list[tuple[str, str]]:
    """``params`` signed by ShopifyAPI's ``Session.calculate_hmac``, as a parsed query."""
    shopify.Session.secret = SECRET
    signed = {**params, "hmac": shopify.Session.calculate_hmac(params)}
    return parse_qsl(urlencode(signed))


def test_queries_signed_by_shopifyapi_verify() -> None:
    now = int(time.time())
    install = {
        "shop": "a-shop.myshopify.com",
        "timestamp": str(now),
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYS1zaG9w",
    }
    callback = {**install, "code": "0907a61c0c8d55e99db179b68161bc00", "state": "n0nce-123"}
    for params in (install, callback):
        query = oauth.verify_query(_peer_signed(params), secret=SECRET, now=now)
        assert query["shop"] == "a-shop.myshopify.com"
    # And ShopifyAPI accepts what we compute.
    ours = dict(callback, hmac=oauth.query_hmac(callback.items(), secret=SECRET))
    assert shopify.Session.validate_hmac(ours)


def test_array_parameters_are_signed_like_shopifyapi() -> None:
    now = int(time.time())
    params = {"shop": "a-shop.myshopify.com", "timestamp": str(now), "ids[]": ["1", "2"]}
    shopify.Session.secret = SECRET
    digest = shopify.Session.calculate_hmac(params)
    pairs = [
        ("shop", "a-shop.myshopify.com"),
        ("timestamp", str(now)),
        ("ids[]", "1"),
        ("ids[]", "2"),
    ]
    assert oauth.query_hmac(pairs, secret=SECRET) == digest


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: [(k, "evil-shop.myshopify.com" if k == "shop" else v) for k, v in q],
        lambda q: [(k, v) for k, v in q if k != "hmac"],
        lambda q: [(k, v.upper() if k == "hmac" else v) for k, v in q] + [("extra", "1")],
        lambda q: [(k, "0" * 64 if k == "hmac" else v) for k, v in q],
        lambda q: [*q, ("shop", "other.myshopify.com")],
        lambda q: [(k, v + "&shop=x" if k == "code" else v) for k, v in q],
    ],
    ids=["shop-changed", "no-hmac", "extra-param", "zero-hmac", "repeated-shop", "injected-pair"],
)
def test_tampered_queries_are_refused(tamper: object) -> None:
    now = int(time.time())
    pairs = _peer_signed({"shop": "a-shop.myshopify.com", "timestamp": str(now), "code": "abc"})
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.verify_query(tamper(pairs), secret=SECRET, now=now)  # type: ignore[operator]


@pytest.mark.parametrize("skew", [-91, 91, -100_000, 100_000])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    now = 1_800_000_000
    pairs = _peer_signed({"shop": "a-shop.myshopify.com", "timestamp": str(now + skew)})
    with pytest.raises(oauth.InvalidInstallRequest, match="expired"):
        oauth.verify_query(pairs, secret=SECRET, now=now)


@pytest.mark.parametrize("skew", [-90, 0, 90])
def test_timestamps_within_90_seconds_pass(skew: int) -> None:
    now = 1_800_000_000
    pairs = _peer_signed({"shop": "a-shop.myshopify.com", "timestamp": str(now + skew)})
    assert oauth.verify_query(pairs, secret=SECRET, now=now)


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1e9", "9" * 40])
def test_malformed_timestamps_are_refused(timestamp: str) -> None:
    pairs = _peer_signed({"shop": "a-shop.myshopify.com", "timestamp": timestamp})
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.verify_query(pairs, secret=SECRET, now=1_800_000_000)


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "a.myshopify.com.evil.com",
        "myshopify.com",
        ".myshopify.com",
        "-a.myshopify.com",
        "a_b.myshopify.com",
        "a.b.myshopify.com",
        "шоп.myshopify.com",
        "xn--e1aybc.myshopify.com.",
        "a.myshopify.com\n",
        "a.myshopify.com/evil",
        "a.myshopify.com:443",
        "https://a.myshopify.com",
        "a" * 300 + ".myshopify.com",
        "",
    ],
)
def test_bad_shop_domains_are_refused(shop: str) -> None:
    assert not oauth.is_shop_domain(shop)
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.checked_shop(shop)


def test_good_shop_domains_are_lower_cased() -> None:
    assert oauth.checked_shop("My-Shop1.myshopify.com") == "my-shop1.myshopify.com"


def test_state_cookie_round_trip_and_tampering() -> None:
    merchant = uuid.uuid4()
    state = oauth.new_state(shop="a.myshopify.com", now=1000, merchant_id=merchant)
    cookie = oauth.seal_state(state, secret="k" * 32)
    assert oauth.open_state(cookie, secret="k" * 32, now=1001) == state
    payload, _, signature = cookie.partition(".")
    forged = [
        None,
        "",
        "garbage",
        f"{payload}.{signature[:-2]}AA",
        f"{payload[:-2]}AA.{signature}",
        cookie + "x" * 2000,
    ]
    for bad in forged:
        with pytest.raises(oauth.InvalidInstallRequest):
            oauth.open_state(bad, secret="k" * 32, now=1001)
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.open_state(cookie, secret="other" * 8, now=1001)
    with pytest.raises(oauth.InvalidInstallRequest, match="expired"):
        oauth.open_state(cookie, secret="k" * 32, now=1000 + oauth.STATE_TTL_S + 1)


def test_install_links_bind_a_merchant_and_a_shop_and_expire() -> None:
    merchant = uuid.uuid4()
    shop = "a.myshopify.com"
    token = oauth.seal_link(merchant, shop=shop, secret="s" * 32, now=1000)
    assert oauth.open_link(token, shop=shop, secret="s" * 32, now=1001) == merchant
    with pytest.raises(oauth.InvalidInstallRequest, match="another shop"):
        oauth.open_link(token, shop="b.myshopify.com", secret="s" * 32, now=1001)
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.open_link(token, shop=shop, secret="t" * 32, now=1001)
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.open_link(token.replace(".", ".x"), shop=shop, secret="s" * 32, now=1001)
    with pytest.raises(oauth.InvalidInstallRequest, match="expired"):
        oauth.open_link(token, shop=shop, secret="s" * 32, now=1000 + oauth.LINK_TTL_S + 1)
    # A state cookie is not an install link, nor the other way round (separate keys).
    cookie = oauth.seal_state(oauth.new_state(shop=shop, now=1000), secret="s" * 32)
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.open_link(cookie, shop=shop, secret="s" * 32, now=1001)


def test_missing_scopes() -> None:
    wanted = "read_products,read_orders,write_pixels,read_customer_events"
    assert oauth.missing_scopes(requested=wanted, granted=wanted) == []
    assert (
        oauth.missing_scopes(
            requested=wanted, granted="write_products,read_orders,write_pixels,read_customer_events"
        )
        == []
    )
    assert oauth.missing_scopes(requested=wanted, granted="read_products,read_pixels") == [
        "read_customer_events",
        "read_orders",
        "write_pixels",
    ]


def test_authorize_url_asks_for_an_offline_token() -> None:
    url = oauth.authorize_url(
        shop="a.myshopify.com",
        api_key="key",
        scopes="read_products",
        redirect_uri="https://x/cb",
        state="n",
    )
    assert url.startswith("https://a.myshopify.com/admin/oauth/authorize?")
    assert "per-user" not in url
    assert dict(parse_qsl(url.split("?", 1)[1])) == {
        "client_id": "key",
        "scope": "read_products",
        "redirect_uri": "https://x/cb",
        "state": "n",
    }
