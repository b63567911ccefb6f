"""The embedded admin page and its API: session tokens on every call (hostile ones refused),
token exchange when the store's token is missing or about to expire, per-shop framing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms import installs
from gateway.platforms.models import JobKind, PlatformJob
from gateway.stores.models import Platform, Store
from testkit.fakes.shopify import FakeShopify
from tests.gateway.conftest import assert_problem
from tests.gateway.platforms.shopify.conftest import SHOP, install_store
from tests.gateway.platforms.shopify.test_session_tokens import HOSTILE
from tests.gateway.platforms.shopify.tokens import session_token

API = "/platforms/shopify/admin/api"


def _auth(shop: str = SHOP, **claims: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(shop, **claims)}"}


def _store(client: TestClient) -> Store:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=SHOP)
        assert store is not None
        session.expunge(store)
        return store


def test_the_page_is_framed_only_by_its_shop_and_shopify_admin(app_client: TestClient) -> None:
    page = app_client.get("/platforms/shopify/admin", params={"shop": SHOP})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in csp
    assert "script-src 'self' https://cdn.shopify.com;" in csp
    assert "x-frame-options" not in page.headers
    # App Bridge first, from Shopify's CDN, told our API key; then our own script; nothing else
    # from outside.
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == [
        "https://cdn.shopify.com/shopifycloud/app-bridge.js",
        "/platforms/shopify/static/admin.js",
    ]
    assert '<meta name="shopify-api-key" content="test-api-key">' in page.text
    assert re.findall(r'(?:src|href)="(https://[^"]+)"', page.text) == [scripts[0]]
    for shop in ("evil.com", "a.myshopify.com.evil.com", "x y"):
        csp = app_client.get("/platforms/shopify/admin", params={"shop": shop}).headers[
            "content-security-policy"
        ]
        assert csp.endswith("frame-ancestors https://admin.shopify.com")
    assert app_client.get("/platforms/shopify/static/admin.js").status_code == 200
    assert app_client.get("/platforms/shopify/static/../views.py").status_code == 404


def test_state_rules_widget_sync_and_dashboard_link(
    app_client: TestClient, fake: FakeShopify
) -> None:
    install_store(app_client, fake)
    state = app_client.get(f"{API}/state", headers=_auth())
    assert state.status_code == 200, state.text
    body = state.json()
    assert body["shop"] == SHOP
    assert body["sync"]["status"] == "queued"
    assert body["widget_enabled"] is True
    assert body["widget_key"].startswith("pk_")
    assert body["api_base"] == "https://tryon.test"
    assert body["rules"] == []

    rules = [
        {"field": "product_type", "value": "Sunglasses", "category": "eyewear"},
        {"field": "tag", "value": "hats", "category": "hat"},
    ]
    saved = app_client.put(f"{API}/rules", json={"rules": rules}, headers=_auth())
    assert saved.status_code == 200, saved.text
    assert saved.json()["rules"] == rules
    assert app_client.get(f"{API}/state", headers=_auth()).json()["rules"] == rules
    # Replacing, not appending.
    one = app_client.put(f"{API}/rules", json={"rules": rules[:1]}, headers=_auth())
    assert one.json()["rules"] == rules[:1]

    off = app_client.put(f"{API}/widget", json={"enabled": False}, headers=_auth())
    assert off.json()["widget_enabled"] is False

    synced = app_client.post(f"{API}/sync", headers=_auth())
    assert synced.status_code == 202
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        kinds = [j.kind for j in session.scalars(select(PlatformJob))]
    assert kinds.count(JobKind.SYNC_STORE) == 2  # the install's and this one

    link = app_client.post(f"{API}/dashboard-link", headers=_auth())
    assert link.status_code == 200
    url = link.json()["url"]
    assert url.startswith("https://tryon.test/dashboard/login?token=")
    login = app_client.get(url.removeprefix("https://tryon.test"))
    assert login.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"rules": [{"field": "vendor", "value": "x", "category": "hat"}]},
        {"rules": [{"field": "tag", "value": "", "category": "hat"}]},
        {"rules": [{"field": "tag", "value": "x", "category": "shoes"}]},
        {"rules": [{"field": "tag", "value": "x", "category": "hat", "extra": 1}]},
        {"rules": [{"field": "tag", "value": "x", "category": "hat"}] * 2},
        {"rules": [{"field": "tag", "value": f"x{i}", "category": "hat"} for i in range(201)]},
        {"rules": "all"},
    ],
)
def test_bad_mappings_are_4xx(app_client: TestClient, fake: FakeShopify, body: object) -> None:
    install_store(app_client, fake)
    response = app_client.put(f"{API}/rules", json=body, headers=_auth())
    assert response.status_code in {400, 409, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_session_tokens_are_401(
    app_client: TestClient, fake: FakeShopify, name: str
) -> None:
    install_store(app_client, fake)
    response = app_client.get(
        f"{API}/state", headers={"Authorization": f"Bearer {HOSTILE[name]()}"}
    )
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic x"},
        {"Authorization": "Bearer"},
        {"Cookie": "tryon_dashboard=x"},
    ],
)
def test_no_session_token_is_401(app_client: TestClient, headers: dict[str, str]) -> None:
    assert_problem(app_client.get(f"{API}/state", headers=headers), 401, "unauthorized")


def test_a_token_for_a_shop_shopify_does_not_know_is_403(
    app_client: TestClient, fake: FakeShopify
) -> None:
    install_store(app_client, fake)
    response = app_client.get(f"{API}/state", headers=_auth("other-shop.myshopify.com"))
    assert_problem(response, 403, "forbidden")


def test_a_managed_install_is_recorded_on_the_first_page_load(
    app_client: TestClient, fake: FakeShopify
) -> None:
    """Shopify installed the app itself (scopes from shopify.app.toml): no OAuth callback."""
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    fake.issue_token(SHOP, scopes=settings.shopify_scopes)  # what Shopify's install granted
    state = app_client.get(f"{API}/state", headers=_auth())
    assert state.status_code == 200, state.text
    assert state.json()["sync"]["status"] == "queued"
    store = _store(app_client)
    assert fake.token_shop(installs.tokens_of(settings=settings, store=store).access_token) == SHOP
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        kinds = {j.kind for j in session.scalars(select(PlatformJob))}
    assert {JobKind.ENSURE_WEBHOOKS, JobKind.SYNC_STORE} <= kinds


def test_a_managed_install_with_too_few_scopes_is_refused_and_said(
    app_client: TestClient, fake: FakeShopify
) -> None:
    fake.issue_token(SHOP, scopes="read_products")
    response = app_client.get(f"{API}/state", headers=_auth())
    body = assert_problem(response, 403, "forbidden")
    assert body["missing_scopes"] == ["read_customer_events", "read_orders", "write_pixels"]
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert installs.find_store(session=session, platform=Platform.SHOPIFY, shop=SHOP) is None


def test_one_shop_cannot_touch_another(app_client: TestClient, fake: FakeShopify) -> None:
    fake.add_shop("other-shop.myshopify.com")
    install_store(app_client, fake)
    install_store(app_client, fake, "other-shop.myshopify.com")
    rules = [{"field": "tag", "value": "mine", "category": "hat"}]
    app_client.put(f"{API}/rules", json={"rules": rules}, headers=_auth("other-shop.myshopify.com"))
    assert app_client.get(f"{API}/state", headers=_auth()).json()["rules"] == []


@pytest.mark.parametrize("expires_in_s", [60, -60])
def test_an_expiring_token_is_exchanged(
    app_client: TestClient, fake: FakeShopify, expires_in_s: int
) -> None:
    install_store(app_client, fake, expires_in_s=expires_in_s)
    before = _store(app_client).access_token_encrypted
    assert app_client.get(f"{API}/state", headers=_auth()).status_code == 200
    store = _store(app_client)
    assert store.access_token_encrypted != before
    assert store.token_expires_at is not None
    assert store.token_expires_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(minutes=50)
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    assert fake.token_shop(installs.tokens_of(settings=settings, store=store).access_token) == SHOP
    exchanges = [r for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]
    assert exchanges[-1].form()["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"


def test_a_fresh_token_is_not_exchanged(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake, expires_in_s=3600)
    assert app_client.get(f"{API}/state", headers=_auth()).status_code == 200
    assert not [r for r in fake.requests if r.path.endswith("/admin/oauth/access_token")]


def test_after_uninstall_the_admin_api_is_closed(app_client: TestClient, fake: FakeShopify) -> None:
    install_store(app_client, fake)
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        store = installs.find_store(session=session, platform=Platform.SHOPIFY, shop=SHOP)
        assert store is not None
        installs.mark_uninstalled(session=session, store=store, now=datetime.now(UTC))
    fake.revoke_tokens(SHOP)
    fake.shops.pop(SHOP)  # Shopify no longer answers for the app on this shop
    assert_problem(app_client.get(f"{API}/state", headers=_auth()), 403, "forbidden")


def test_two_first_loads_at_once_make_one_installation(
    app_client: TestClient, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other load recorded the install between our read and our insert."""
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    fake.issue_token(SHOP, scopes=settings.shopify_scopes)
    install_store(app_client, fake)  # what the other request committed
    real = installs.find_store
    stale = {"left": 2}  # admin_store's read and complete_install's read both miss it

    def find_store(**kwargs: object) -> object:
        if stale["left"]:
            stale["left"] -= 1
            return None
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(installs, "find_store", find_store)
    response = app_client.get(f"{API}/state", headers=_auth())
    assert response.status_code == 200, response.text
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert len(installs.list_stores(session=session)) == 1


def test_the_widget_switch_stops_and_restarts_the_shops_widget(
    app_client: TestClient, fake: FakeShopify
) -> None:
    store = install_store(app_client, fake)
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    key = installs.widget_key_for(settings=settings, store=store)
    assert key is not None
    widget = {"Authorization": f"Bearer {key}", "Origin": f"https://{SHOP}"}

    def config() -> object:
        # No such product: a 404 means the key was accepted; the switch is what we test.
        return app_client.get("/v1/widget/config", params={"product": "nope"}, headers=widget)

    assert config().status_code == 404  # type: ignore[attr-defined]
    app_client.put(f"{API}/widget", json={"enabled": False}, headers=_auth())
    assert_problem(config(), 403, "insufficient-scope")  # type: ignore[arg-type]
    app_client.put(f"{API}/widget", json={"enabled": True}, headers=_auth())
    assert config().status_code == 404  # type: ignore[attr-defined]
    # The same key throughout: the theme keeps working without being edited.
    assert installs.widget_key_for(settings=settings, store=_store(app_client)) == key
