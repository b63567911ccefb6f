"""The OAuth install end to end against the fake Shopify, and every way to break it.

install -> Shopify's authorize page (the fake) -> callback -> expiring offline token ->
installation recorded (tokens encrypted) -> webhooks ensured -> first sync queued.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms import installs
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import JobKind, PlatformJob
from gateway.platforms.shopify import oauth
from gateway.platforms.shopify.adapter import API_TOPICS, ShopifyAdapter
from gateway.stores.models import Platform, Store, StoreStatus
from tests.gateway.platforms.shopify.conftest import PUBLIC_URL, SHOP
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET
from tests.support.fakes.shopify import FakeShopify


def _start(
    client: TestClient, fake: FakeShopify, shop: str = SHOP, **params: str
) -> httpx.Response:
    return client.get(
        "/platforms/shopify/install",
        params=fake.signed_query(shop, **params),
        follow_redirects=False,
    )


def _authorize(location: str, **tamper: str) -> str:
    """Follow our redirect to the fake's authorize page; where it sends the browser back."""
    if tamper:
        parts = urlsplit(location)
        query = dict(parse_qsl(parts.query)) | tamper
        location = parts._replace(query=httpx.QueryParams(query).__str__()).geturl()
    answer = httpx.get(location, follow_redirects=False, trust_env=False)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(f"{PUBLIC_URL}/platforms/shopify/callback?")
    return back.removeprefix(PUBLIC_URL)


def install(client: TestClient, fake: FakeShopify, shop: str = SHOP) -> httpx.Response:
    started = _start(client, fake, shop)
    assert started.status_code == 302, started.text
    return client.get(_authorize(started.headers["location"]), follow_redirects=False)


def _store(client: TestClient, shop: str = SHOP) -> Store | None:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=shop)
        if store is not None:
            session.expunge(store)
        return store


def _jobs(client: TestClient) -> list[tuple[JobKind, Any]]:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return [(j.kind, j.store_id) for j in session.scalars(select(PlatformJob))]


def _is_page(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_the_full_install_flow(any_db_client: TestClient, fake: FakeShopify) -> None:
    app_client = any_db_client
    started = _start(app_client, fake)
    assert started.status_code == 302
    location = started.headers["location"]
    assert location.startswith(f"{fake.base_url}/{SHOP}/admin/oauth/authorize?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["client_id"] == API_KEY
    assert query["scope"] == app_client.app.state.settings.shopify_scopes  # type: ignore[attr-defined]
    assert query["redirect_uri"] == f"{PUBLIC_URL}/platforms/shopify/callback"
    assert "grant_options[]" not in query  # offline token
    cookie = started.headers["set-cookie"].lower()
    for attribute in ("httponly", "secure", "samesite=lax", "path=/platforms/shopify"):
        assert attribute in cookie

    done = app_client.get(_authorize(location), follow_redirects=False)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == f"{fake.base_url}/{SHOP}/admin/apps/{API_KEY}"

    store = _store(app_client)
    assert store is not None
    assert store.status is StoreStatus.ACTIVE
    # An expiring offline token, kept encrypted.
    token_request = next(r for r in fake.requests if r.path.endswith("/admin/oauth/access_token"))
    assert token_request.form()["expiring"] == "1"
    assert store.token_expires_at is not None
    assert store.refresh_token_encrypted
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    tokens = installs.tokens_of(settings=settings, store=store)
    assert fake.token_shop(tokens.access_token) == SHOP
    assert tokens.access_token not in (store.access_token_encrypted or "")
    assert store.extra.get("primary_domain") == "shop.example"
    # The web pixel was turned on with the shop's key (the fake has no web pixels and refuses
    # the mutation: the install goes on, the pixel is best effort).
    pixel_calls = [r for r in fake.requests if b"webPixelCreate" in r.body]
    assert len(pixel_calls) == 1
    sent = json.loads(json.loads(pixel_calls[0].body)["variables"]["settings"])
    assert sent["apiBase"] == PUBLIC_URL
    assert sent["publishableKey"].startswith("pk_")
    # The core queued the webhook subscription and the first sync.
    kinds = {kind for kind, store_id in _jobs(app_client) if store_id == store.id}
    assert {JobKind.ENSURE_WEBHOOKS, JobKind.SYNC_STORE} <= kinds

    # What the ENSURE_WEBHOOKS job does with this installation's connection:
    connection = installs.connection_for(settings=settings, store=store)
    with PlatformClient.from_settings(settings) as client:
        ShopifyAdapter.from_settings(settings).ensure_webhooks(
            client=client,
            connection=connection,
            callback_url=installs.webhook_callback_url(settings, Platform.SHOPIFY),
        )
    subscribed = {(s.topic, s.uri) for s in fake.shops[SHOP].subscriptions.values()}
    assert subscribed == {
        (t.replace("/", "_").upper(), f"{PUBLIC_URL}/platforms/shopify/webhooks")
        for t in API_TOPICS
    }


def test_an_installed_shop_opening_the_app_goes_to_the_app(
    app_client: TestClient, fake: FakeShopify
) -> None:
    assert install(app_client, fake).status_code == 302
    again = _start(app_client, fake)
    assert again.status_code == 302
    assert again.headers["location"] == f"{fake.base_url}/{SHOP}/admin/apps/{API_KEY}"


def test_install_started_from_our_dashboard_binds_the_merchant(
    app_client: TestClient, fake: FakeShopify
) -> None:
    from gateway.merchants import service as merchants

    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        merchant_id = merchants.create(session=session, name="Ours").merchant.id
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    token = oauth.seal_link(
        merchant_id, shop=SHOP, secret=settings.secret_key.get_secret_value(), now=int(time.time())
    )
    started = app_client.get(
        "/platforms/shopify/install", params={"shop": SHOP, "link": token}, follow_redirects=False
    )
    assert started.status_code == 302
    done = app_client.get(_authorize(started.headers["location"]), follow_redirects=False)
    assert done.status_code == 302
    store = _store(app_client)
    assert store is not None
    assert store.merchant_id == merchant_id
    forged = app_client.get(
        "/platforms/shopify/install",
        params={"shop": SHOP, "link": token[:-3] + "AAA"},
        follow_redirects=False,
    )
    _is_page(forged, 400)
    elsewhere = app_client.get(
        "/platforms/shopify/install",
        params={"shop": "other-shop.myshopify.com", "link": token},
        follow_redirects=False,
    )
    assert "another shop" in _is_page(elsewhere, 400)


# -- hostile installs and callbacks -----------------------------------------------------------


@pytest.mark.parametrize(
    "shop",
    ["evil.com", "a.myshopify.com.evil.com", "шоп.myshopify.com", "a" * 300 + ".myshopify.com"],
)
def test_bad_shop_domains_get_a_page(app_client: TestClient, shop: str) -> None:
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    params = {"shop": shop, "timestamp": str(int(time.time()))}
    params["hmac"] = oauth.query_hmac(
        params.items(), secret=settings.shopify_api_secret.get_secret_value()
    )
    response = app_client.get("/platforms/shopify/install", params=params, follow_redirects=False)
    assert "myshopify.com domain" in _is_page(response, 400)
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"shop": SHOP},
        {"shop": SHOP, "timestamp": "1", "hmac": "0" * 64},
        {"shop": SHOP, "link": "garbage"},
    ],
)
def test_unsigned_or_forged_installs_get_a_page(
    app_client: TestClient, params: dict[str, str]
) -> None:
    response = app_client.get("/platforms/shopify/install", params=params, follow_redirects=False)
    _is_page(response, 400)


def test_a_stale_install_is_refused(app_client: TestClient) -> None:
    params = {"shop": SHOP, "timestamp": str(int(time.time()) - 600)}
    params["hmac"] = oauth.query_hmac(params.items(), secret=API_SECRET)
    response = app_client.get("/platforms/shopify/install", params=params, follow_redirects=False)
    assert "expired" in _is_page(response, 400)


def test_an_oversized_query_is_refused(app_client: TestClient) -> None:
    response = app_client.get(
        "/platforms/shopify/install?shop=" + SHOP + "&x=" + "a" * 10_000, follow_redirects=False
    )
    _is_page(response, 400)


def test_a_replayed_callback_is_refused(app_client: TestClient, fake: FakeShopify) -> None:
    started = _start(app_client, fake)
    cookie = app_client.cookies.get(oauth.STATE_COOKIE)
    back = _authorize(started.headers["location"])
    assert app_client.get(back, follow_redirects=False).status_code == 302
    app_client.cookies.set(
        oauth.STATE_COOKIE, cookie or "", domain="tryon.test", path="/platforms/shopify"
    )
    replay = app_client.get(back, follow_redirects=False)
    assert "already used" in _is_page(replay, 400)


def test_a_callback_without_the_cookie_is_refused(
    app_client: TestClient, fake: FakeShopify
) -> None:
    started = _start(app_client, fake)
    back = _authorize(started.headers["location"])
    app_client.cookies.clear()
    response = app_client.get(back, follow_redirects=False)
    assert "install session is missing" in _is_page(response, 400)
    assert _store(app_client) is None


def test_a_callback_with_another_installs_state_is_refused(
    app_client: TestClient, fake: FakeShopify
) -> None:
    first = _start(app_client, fake)
    back = _authorize(first.headers["location"])
    _start(app_client, fake)  # a second install in the same browser replaces the cookie
    response = app_client.get(back, follow_redirects=False)
    assert "does not match" in _is_page(response, 400)


def test_a_callback_for_another_shop_is_refused(app_client: TestClient, fake: FakeShopify) -> None:
    fake.add_shop("other-shop.myshopify.com")
    _start(app_client, fake)  # the cookie is for SHOP
    other = _start(app_client, fake, "other-shop.myshopify.com")
    back = _authorize(other.headers["location"])
    # Put SHOP's cookie back, keep the other shop's signed callback.
    started = _start(app_client, fake)
    assert started.status_code == 302
    response = app_client.get(back, follow_redirects=False)
    _is_page(response, 400)


@pytest.mark.parametrize(
    "change",
    [
        {"shop": "other-shop.myshopify.com"},
        {"code": "attacker-code"},
        {"state": "guessed"},
        {"hmac": "0" * 64},
    ],
)
def test_a_tampered_callback_is_refused(
    app_client: TestClient, fake: FakeShopify, change: dict[str, str]
) -> None:
    started = _start(app_client, fake)
    back = _authorize(started.headers["location"])
    path, _, raw = back.partition("?")
    query = dict(parse_qsl(raw)) | change
    response = app_client.get(path, params=query, follow_redirects=False)
    _is_page(response, 400)
    assert _store(app_client) is None


def test_a_stale_callback_is_refused(app_client: TestClient, fake: FakeShopify) -> None:
    started = _start(app_client, fake)
    state = dict(parse_qsl(urlsplit(started.headers["location"]).query))["state"]
    params = {"code": "c", "shop": SHOP, "state": state, "timestamp": str(int(time.time()) + 120)}
    params["hmac"] = oauth.query_hmac(params.items(), secret=API_SECRET)
    response = app_client.get("/platforms/shopify/callback", params=params, follow_redirects=False)
    assert "expired" in _is_page(response, 400)


def test_a_scope_downgrade_is_refused_and_said(app_client: TestClient, fake: FakeShopify) -> None:
    started = _start(app_client, fake)
    back = _authorize(started.headers["location"], scope="read_products")
    response = app_client.get(back, follow_redirects=False)
    text = _is_page(response, 403)
    assert "missing" in text
    assert "read_orders" in text
    assert "write_pixels" in text
    assert _store(app_client) is None
    # The underpowered token was handed back.
    token_answers = [r for r in fake.requests if r.path.endswith("/api_permissions/current.json")]
    assert token_answers
    assert token_answers[0].method == "DELETE"


def test_a_code_shopify_refuses_gets_a_page(app_client: TestClient, fake: FakeShopify) -> None:
    started = _start(app_client, fake)
    back = _authorize(started.headers["location"])
    fake.inject("/admin/oauth/access_token", status=400, body={"error": "invalid_request"})
    response = app_client.get(back, follow_redirects=False)
    _is_page(response, 400)
    assert _store(app_client) is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.text(max_size=300), path=st.sampled_from(["install", "callback"]))
def test_any_query_gets_a_page_never_a_500(app_client: TestClient, raw: str, path: str) -> None:
    response = app_client.get(
        f"/platforms/shopify/{path}?{quote(raw, safe='=&%+')}", follow_redirects=False
    )
    assert response.status_code in {302, 400, 403}, response.text
    if response.status_code != 302:
        assert response.headers["content-type"].startswith("text/html")


def test_the_state_cookie_is_not_secure_only_in_development(
    shopify_settings: Any, fake: FakeShopify
) -> None:
    from gateway.main import create_app

    app = create_app(shopify_settings(env="development"))
    with TestClient(app, base_url="http://127.0.0.1:8260") as client:
        started = client.get(
            "/platforms/shopify/install", params=fake.signed_query(SHOP), follow_redirects=False
        )
    app.state.engine.dispose()
    assert started.status_code == 302
    cookie = started.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie
