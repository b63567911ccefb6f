"""Connecting a store: the key exchange through the fake WooCommerce, and every way to abuse
it (forged, altered, expired and reused user ids, keys of another store, read-only keys,
malformed and oversized bodies, hostile store URLs)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gateway.db.session import session_scope
from gateway.keys.models import ApiKey
from gateway.main import create_app
from gateway.platforms.models import JobKind
from gateway.platforms.woocommerce import keyexchange
from gateway.settings import GatewaySettings
from gateway.stores.models import StoreStatus
from testkit.fakes.woocommerce import FakeWooCommerce
from tests.gateway.platforms.woocommerce.conftest import (
    OTHER_URL,
    PUBLIC_URL,
    STORE_URL,
    authorize_url,
    connect,
    jobs_of,
    store_of,
)


def _callback(client: TestClient, body: object) -> httpx.Response:
    return client.post(
        "/platforms/woocommerce/callback",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def test_connect_redirects_to_the_stores_key_exchange(
    app_client: TestClient, fake: FakeWooCommerce
) -> None:
    location = authorize_url(app_client, "HTTPS://Shop.Example/")
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == fake.base_url
    assert parts.path == "/shop.example/wc-auth/v1/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["scope"] == "read_write"
    assert query["callback_url"] == f"{PUBLIC_URL}/platforms/woocommerce/callback"
    assert query["return_url"] == f"{PUBLIC_URL}/platforms/woocommerce/connected"
    assert query["app_name"] == "Virtual try-on"
    # The fake WooCommerce accepts the request (callback over https, known scope).
    assert httpx.get(location).status_code == 200
    # Each click makes a new one-time id.
    assert parse_qs(urlsplit(authorize_url(app_client)).query)["user_id"] != [query["user_id"]]


def test_a_connect_stores_the_keys_encrypted_and_starts_webhooks_and_sync(
    app_client: TestClient, fake: FakeWooCommerce
) -> None:
    status, back = connect(app_client, fake)
    assert status == 200
    store = store_of(app_client)
    assert store is not None
    assert store.status is StoreStatus.ACTIVE
    assert {j.kind for j in jobs_of(app_client)} == {JobKind.ENSURE_WEBHOOKS, JobKind.SYNC_STORE}
    ((ck, (key_id, cs, _)),) = fake.store(STORE_URL).keys.items()
    assert store.extra["key_id"] == str(key_id)
    with app_client.app.state.engine.connect() as db:  # type: ignore[attr-defined]
        dump = " ".join(str(r) for r in db.execute(text("SELECT * FROM stores")).all())
    assert ck not in dump
    assert cs not in dump
    # The widget key is for the store's own origin (scheme and host of its URL).
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        key = session.get(ApiKey, store.widget_key_id)
        assert key is not None
        assert key.allowed_origins == ["https://shop.example"]
    # The browser comes back to a page with the shop's publishable key.
    page = app_client.get(back)
    assert page.status_code == 200
    assert "id=publishable-key>pk_" in page.text
    assert "wp-admin/admin.php?page=wc-settings&amp;tab=integration&amp;section=tryon" in page.text


def test_a_reused_user_id_is_refused_and_its_keys_deleted(
    app_client: TestClient, fake: FakeWooCommerce
) -> None:
    location = authorize_url(app_client)
    assert fake.approve(location)[0] == 200
    status, back = fake.approve(location)
    assert status == 409
    assert "success=0" in back
    assert len(fake.store(STORE_URL).keys) == 1


def test_keys_of_another_store_are_refused(app_client: TestClient, fake: FakeWooCommerce) -> None:
    status, _ = connect(app_client, fake, keys_of=OTHER_URL)
    assert status == 401
    assert store_of(app_client) is None
    assert fake.store(OTHER_URL).keys == {}


def test_read_only_keys_are_refused(app_client: TestClient, fake: FakeWooCommerce) -> None:
    assert connect(app_client, fake, permissions="read")[0] == 403
    assert store_of(app_client) is None


def _body(user_id: str, **changes: object) -> dict[str, object]:
    return {
        "key_id": 7,
        "user_id": user_id,
        "consumer_key": "ck_" + "a" * 40,
        "consumer_secret": "cs_" + "b" * 40,
        "key_permissions": "read_write",
    } | changes


def test_forged_altered_and_expired_user_ids_are_refused(
    app_client: TestClient, wc_settings: Callable[..., GatewaySettings]
) -> None:
    settings = wc_settings()
    good = keyexchange.make_user_id(settings, STORE_URL, now=time.time())
    encoded, nonce, expires, mac = good.split(".")
    other = keyexchange.make_user_id(settings, OTHER_URL, now=time.time()).split(".")[0]
    expired = keyexchange.make_user_id(settings, STORE_URL, now=time.time() - 7200)
    foreign = keyexchange.make_user_id(
        wc_settings(secret_key="another-secret-" + "x" * 40), STORE_URL, now=time.time()
    )
    for user_id in (
        "1",
        f"{other}.{nonce}.{expires}.{mac}",  # another store under this id's MAC
        f"{encoded}.{nonce}.{int(expires) + 999}.{mac}",  # a longer life
        f"{encoded}.{nonce}.{expires}.{mac[:-2]}AA",
        expired,
        foreign,
        "a" * 510,
    ):
        answer = _callback(app_client, _body(user_id))
        assert answer.status_code == 401, (user_id, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        {"user_id": "x"},
        "KEY_ID_TEXT",
        "BAD_KEY",
        "BAD_SECRET",
        "BAD_PERMISSIONS",
        "CONTROL",
    ],
)
def test_malformed_callback_bodies_are_400(app_client: TestClient, body: object) -> None:
    user_id = "u"
    variants: dict[str, object] = {
        "KEY_ID_TEXT": _body(user_id, key_id="seven"),
        "BAD_KEY": _body(user_id, consumer_key="sk_live_123"),
        "BAD_SECRET": _body(user_id, consumer_secret=None),
        "BAD_PERMISSIONS": _body(user_id, key_permissions="admin"),
        "CONTROL": _body(user_id, consumer_key="ck_\x00abc"),
    }
    answer = _callback(app_client, variants.get(body, body) if isinstance(body, str) else body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_oversized_callback_is_413(app_client: TestClient) -> None:
    answer = _callback(app_client, _body("u", padding="x" * 10_000))
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "store_url",
    [
        "",
        "shop.example",
        "javascript:alert(1)",
        "ftp://shop.example",
        "https://user:pass@shop.example",
        "https://shop.example/?x=1",
        "https://shop.example/#x",
        "https://shop.example/<script>",
        "https://shop .example",
        "https://" + "a" * 300 + ".example",
        "https://127.0.0.1",
        "http://localhost:8080",
        "https://169.254.169.254/latest",
        "https://[::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://0x7f.1/",
        "https://2130706433/",
        "https://10.1.2.3/wp",
        "https://100.64.0.1/",
    ],
)
def test_hostile_store_urls_are_refused_with_a_page(
    wc_settings: Callable[..., GatewaySettings], store_url: str
) -> None:
    # No test base URL here: the SSRF rules apply as in production.
    app = create_app(wc_settings(platform_api_base_url=None))
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as client:
        answer = client.get(
            "/platforms/woocommerce/connect",
            params={"store_url": store_url},
            follow_redirects=False,
        )
    app.state.engine.dispose()
    assert answer.status_code in {400, 422}, (store_url, answer.status_code)
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script>" not in answer.text


def test_production_asks_for_https_stores() -> None:
    from gateway.errors import InvalidInput
    from gateway.platforms.woocommerce import storeurl

    with pytest.raises(InvalidInput):
        storeurl.normalise("http://shop.example", allow_http=False)
    assert storeurl.normalise("http://Shop.Example:80/wp/", allow_http=True) == (
        "http://shop.example/wp"
    )
    assert storeurl.normalise("https://shop.example:8443", allow_http=False) == (
        "https://shop.example:8443"
    )


def test_the_connected_page_refuses_ids_that_are_not_ours(app_client: TestClient) -> None:
    answer = app_client.get("/platforms/woocommerce/connected", params={"user_id": "x<script>"})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script>" not in answer.text
