"""Hook intake: the per-store secret header (constant time), Standard Webhooks signatures
made by the ``standardwebhooks`` peer, replays, unknown stores, oversized and hostile bodies,
and the callbacks' hostile requests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from gateway.db.session import session_scope
from gateway.keys.models import ApiKey
from gateway.platforms import installs
from gateway.platforms.bigcommerce import signed
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, hook_secret
from gateway.platforms.models import JobKind
from gateway.stores.models import Platform
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms.bigcommerce.conftest import (
    CLIENT_SECRET,
    STORE_HASH,
    install,
    jobs_of,
    store_of,
)

URL = "/platforms/bigcommerce/webhooks"


def _headers(store_hash: str = STORE_HASH) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        HOOK_HEADER: hook_secret(client_secret=CLIENT_SECRET, store_hash=store_hash),
    }


def _webhook_jobs(client: TestClient) -> list[str | None]:
    return [j.dedupe_key for j in jobs_of(client) if j.kind is JobKind.WEBHOOK]


@pytest.fixture
def installed(app_client: TestClient, fake: FakeBigCommerce) -> TestClient:
    assert install(app_client, fake).status_code == 200
    return app_client


def test_a_hook_with_the_store_secret_is_one_job_however_often_sent(
    installed: TestClient, fake: FakeBigCommerce
) -> None:
    body = fake.hook_body(STORE_HASH, "store/order/created", 250)
    for _ in range(3):
        assert installed.post(URL, content=body, headers=_headers()).status_code == 200
    assert len(_webhook_jobs(installed)) == 1


def test_an_update_of_the_same_order_later_is_a_new_delivery(
    installed: TestClient, fake: FakeBigCommerce
) -> None:
    now = int(time.time())
    for at in (now, now + 5):
        body = fake.hook_body(STORE_HASH, "store/order/updated", 250, created_at=at)
        assert installed.post(URL, content=body, headers=_headers()).status_code == 200
    assert len(_webhook_jobs(installed)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", HOOK_HEADER: "0" * 64},
        {
            "Content-Type": "application/json",
            HOOK_HEADER: hook_secret(client_secret="another-apps-secret", store_hash=STORE_HASH),
        },
        _headers("other1"),  # another store's secret
    ],
    ids=["missing", "wrong", "other-app", "other-store"],
)
def test_a_wrong_or_missing_secret_is_401(
    installed: TestClient, fake: FakeBigCommerce, headers: dict[str, str]
) -> None:
    body = fake.hook_body(STORE_HASH, "store/order/created", 250)
    answer = installed.post(URL, content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert _webhook_jobs(installed) == []


def test_standard_webhooks_signatures_from_the_peer_are_checked(
    installed: TestClient, fake: FakeBigCommerce
) -> None:
    body = fake.hook_body(STORE_HASH, "store/product/updated", 111)
    peer = Webhook(CLIENT_SECRET.encode())
    now = datetime.now(UTC)
    signature = peer.sign("msg_1", now, body.decode())
    good = _headers() | {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert installed.post(URL, content=body, headers=good).status_code == 200
    # Tampered body, wrong key, stale timestamp, missing part: all 401.
    stale_at = now - timedelta(minutes=10)
    cases = [
        (body.replace(b"111", b"112"), good),
        (
            body,
            good | {"webhook-signature": Webhook(b"other-key").sign("msg_1", now, body.decode())},
        ),
        (
            body,
            good
            | {
                "webhook-timestamp": str(int(stale_at.timestamp())),
                "webhook-signature": peer.sign("msg_1", stale_at, body.decode()),
            },
        ),
        (body, {k: v for k, v in good.items() if k != "webhook-signature"}),
    ]
    for raw, headers in cases:
        assert installed.post(URL, content=raw, headers=headers).status_code == 401
    assert _webhook_jobs(installed) == ["webhook:bigcommerce:msg_1"]


def test_a_stale_replay_is_refused(installed: TestClient, fake: FakeBigCommerce) -> None:
    old = int(time.time()) - 4 * 24 * 3600
    body = fake.hook_body(STORE_HASH, "store/order/created", 250, created_at=old)
    assert installed.post(URL, content=body, headers=_headers()).status_code == 401


def test_an_unknown_store_gets_200_and_nothing_changes(
    app_client: TestClient, fake: FakeBigCommerce
) -> None:
    fake.add_store("zz9")
    body = fake.hook_body("zz9", "store/order/created", 250)
    assert app_client.post(URL, content=body, headers=_headers("zz9")).status_code == 200
    assert jobs_of(app_client) == []


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"producer": "stores/../x"}', b'{"producer": 5}'],
)
def test_hostile_bodies_are_4xx(installed: TestClient, body: bytes) -> None:
    answer = installed.post(URL, content=body, headers=_headers())
    assert 400 <= answer.status_code < 500


def test_a_signed_body_without_scope_or_hash_is_400(installed: TestClient) -> None:
    for payload in (
        {"producer": f"stores/{STORE_HASH}", "hash": "x", "created_at": int(time.time())},
        {"producer": f"stores/{STORE_HASH}", "scope": "store/order/created"},
        {"producer": f"stores/{STORE_HASH}", "scope": "tryon/shop_redact", "hash": "x"},
    ):
        answer = installed.post(URL, content=json.dumps(payload), headers=_headers())
        assert answer.status_code == 400, payload


def test_an_oversized_body_is_413(installed: TestClient) -> None:
    body = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert installed.post(URL, content=body, headers=_headers()).status_code == 413


# -- callbacks ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["load", "uninstall", "remove_user"])
def test_callbacks_refuse_forged_expired_and_foreign_payloads(
    installed: TestClient, fake: FakeBigCommerce, route: str
) -> None:
    forged = FakeBigCommerce("bc-client-id-123", "x" * 40, redirect_uri="https://x")
    cases = [
        {},
        {"signed_payload_jwt": forged.signed_payload_jwt(STORE_HASH)},
        {"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH, now=time.time() - 3600)},
        {"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH, aud="someone-else")},
        {"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH, iss="https://evil")},
        {"signed_payload": fake.signed_payload(STORE_HASH, timestamp=time.time() - 3600)},
        {"signed_payload_jwt": "x" * 10000},
    ]
    for params in cases:
        answer = installed.get(f"/platforms/bigcommerce/{route}", params=params)
        assert answer.status_code in {400, 401}, (params, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html")
    store = store_of(installed)
    assert store is not None
    assert store.access_token_encrypted is not None  # no refused uninstall changed anything


def test_the_legacy_payload_opens_the_app_and_remove_user_changes_nothing(
    installed: TestClient, fake: FakeBigCommerce
) -> None:
    page = installed.get(
        "/platforms/bigcommerce/load", params={"signed_payload": fake.signed_payload(STORE_HASH)}
    )
    assert page.status_code == 200
    gone = installed.get(
        "/platforms/bigcommerce/remove_user",
        params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH, user_id=55)},
    )
    assert gone.status_code == 200
    store = store_of(installed)
    assert store is not None
    assert store.access_token_encrypted is not None


def test_the_auth_callback_refuses_a_reused_code_and_bad_context(
    app_client: TestClient, fake: FakeBigCommerce
) -> None:
    code = fake.install_code(STORE_HASH, scope="store_v2_products_read_only")
    params = {"code": code, "scope": "x", "context": f"stores/{STORE_HASH}"}
    # Fewer scopes than the app needs: refused, nothing stored.
    assert app_client.get("/platforms/bigcommerce/auth", params=params).status_code == 403
    assert store_of(app_client) is None
    # The code is spent at BigCommerce: a replay is refused by the token endpoint.
    assert app_client.get("/platforms/bigcommerce/auth", params=params).status_code == 400
    for context in ("stores/", "stores/../../x", "customers/abc", ""):
        answer = app_client.get(
            "/platforms/bigcommerce/auth", params={"code": "c", "context": context}
        )
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")


def test_the_page_actions_need_the_page_token(installed: TestClient, fake: FakeBigCommerce) -> None:
    assert (
        installed.post(
            "/platforms/bigcommerce/admin/widget", data={"token": "x.y.z", "enabled": "false"}
        ).status_code
        == 401
    )
    page = installed.get(
        "/platforms/bigcommerce/load",
        params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
    )
    token = page.text.split('name=token value="', 1)[1].split('"', 1)[0]
    off = installed.post(
        "/platforms/bigcommerce/admin/widget", data={"token": token, "enabled": "false"}
    )
    assert off.status_code == 200
    assert "<p id=widget-state>off</p>" in off.text
    config = installed.get(f"/platforms/bigcommerce/storefront/config?store={STORE_HASH}")
    assert config.json() == {"enabled": False}
    # Off for the API too, not only for the loader: the shop's key lost its widget scope.
    with session_scope(installed.app.state.engine) as session:  # type: ignore[attr-defined]
        store = installs.find_store(
            session=session, platform=Platform.BIGCOMMERCE, shop=signed.shop_of(STORE_HASH)
        )
        assert store is not None
        key = session.get(ApiKey, store.widget_key_id)
        assert key is not None
        assert key.scopes == []


def test_a_load_payload_opens_the_page_once(installed: TestClient, fake: FakeBigCommerce) -> None:
    for params in (
        {"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
        {"signed_payload": fake.signed_payload(STORE_HASH)},
    ):
        first = installed.get("/platforms/bigcommerce/load", params=params)
        assert first.status_code == 200
        assert "/dashboard/login?token=" in first.text
        replay = installed.get("/platforms/bigcommerce/load", params=params)
        assert replay.status_code == 401
        assert "already used" in replay.text
        assert "/dashboard/login" not in replay.text


def test_the_uninstall_hook_schedules_the_redaction_once(
    installed: TestClient, fake: FakeBigCommerce
) -> None:
    store = store_of(installed)
    assert store is not None
    for created in (1, 2):  # two deliveries of the hook: one pending redaction
        body = fake.hook_body(
            STORE_HASH, "store/app/uninstalled", 1, created_at=int(time.time()) - created
        )
        assert installed.post(URL, content=body, headers=_headers()).status_code == 200
    pending = [j for j in jobs_of(installed) if j.dedupe_key == f"bigcommerce-redact:{store.id}"]
    assert len(pending) == 1
    # A reinstall cancels it.
    assert install(installed, fake).status_code == 200
    assert not [j for j in jobs_of(installed) if j.dedupe_key == f"bigcommerce-redact:{store.id}"]
