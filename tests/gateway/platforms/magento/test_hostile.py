"""Hostile and malformed input on every Magento route: forged, replayed and stale order
posts, posts for another store or consumer, a verifier for another consumer, store base URLs
that point inside our network, callbacks to other sites, expired or forged confirm forms,
oversized and malformed bodies. Each is a clear 4xx (problem+json on the APIs, an HTML page
on the pages people see) and changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms.magento.models import PendingActivation
from gateway.platforms.models import JobKind
from gateway.stores.models import StoreStatus
from testkit.fakes.magento import FakeMagento
from tests.gateway.platforms.magento.conftest import (
    HOST,
    ORDERS,
    activate,
    identity_form,
    install,
    jobs_of,
    signed_post,
    store_of,
)

CALLBACK = f"https://{HOST}/admin/admin/integration/loginSuccessCallback/"


def _problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    return body


def _order(fake: FakeMagento) -> dict[str, Any]:
    product = fake.add_product(HOST, name="Aviator")
    return fake.add_order(HOST, lines=[{"product_id": product, "price": 10}])


def _webhooks(client: TestClient) -> int:
    return len([j for j in jobs_of(client) if j.kind is JobKind.WEBHOOK])


# -- order posts ------------------------------------------------------------------------------


def test_order_posts_that_are_forged_stale_or_for_someone_else_change_nothing(
    app_client: TestClient, fake: FakeMagento
) -> None:
    integration = install(app_client, fake)
    order = _order(fake)
    body, headers = signed_post(order, integration)

    forged = dict(headers, **{"X-Tryon-Magento-Signature": "v1=" + "A" * 43 + "="})
    _problem(app_client.post(ORDERS, content=body, headers=forged), 401)
    tampered = body.replace(b'"grand_total": 10.0', b'"grand_total": 0.01')
    assert tampered != body
    _problem(app_client.post(ORDERS, content=tampered, headers=headers), 401)
    stale_body, stale = signed_post(order, integration, timestamp=int(time.time()) - 3600)
    _problem(app_client.post(ORDERS, content=stale_body, headers=stale), 401)
    future_body, future = signed_post(order, integration, timestamp=int(time.time()) + 3600)
    _problem(app_client.post(ORDERS, content=future_body, headers=future), 401)
    # Signed with another integration's secret (a store that knows its own secret only).
    other = (integration[0], "x" * 32, integration[2])
    other_body, other_headers = signed_post(order, other)
    _problem(app_client.post(ORDERS, content=other_body, headers=other_headers), 401)
    # The right secret, another consumer key, or another store's name.
    renamed = dict(headers, **{"X-Tryon-Magento-Consumer": "k" * 32})
    _problem(app_client.post(ORDERS, content=body, headers=renamed), 401)
    unknown_body, unknown = signed_post(order, integration, shop="other.example")
    _problem(app_client.post(ORDERS, content=unknown_body, headers=unknown), 401)
    missing = {k: v for k, v in headers.items() if not k.startswith("X-Tryon-Magento-Shop")}
    _problem(app_client.post(ORDERS, content=body, headers=missing), 401)
    for broken in ("", "12ab", "9" * 20):
        stamped = dict(headers, **{"X-Tryon-Magento-Timestamp": broken})
        _problem(app_client.post(ORDERS, content=body, headers=stamped), 401)
    assert _webhooks(app_client) == 0

    # The genuine post, then its replay inside the window: one job.
    assert app_client.post(ORDERS, content=body, headers=headers).status_code == 200
    assert app_client.post(ORDERS, content=body, headers=headers).status_code == 200
    assert _webhooks(app_client) == 1


def test_malformed_signed_posts_are_400(app_client: TestClient, fake: FakeMagento) -> None:
    integration = install(app_client, fake)
    for raw in (
        b"not json",
        b"[1, 2]",
        b'{"order": "x"}',
        b'{"order": {"increment_id": "1"}}',
        b'{"order": {"entity_id": "-1", "increment_id": "1"}}',
        b'{"order": {"entity_id": 5, "increment_id": "1", "grand_total": "x"}}',
        b'{"order": {"entity_id": 5, "increment_id": "1", "grand_total": 1, "items": []}}',
        b"\xff\xfe",
    ):
        body, headers = signed_post({}, integration, body=raw)
        _problem(app_client.post(ORDERS, content=body, headers=headers), 400)
    assert _webhooks(app_client) == 0


def test_oversized_posts_are_refused_before_they_are_read(
    app_client: TestClient, fake: FakeMagento
) -> None:
    integration = install(app_client, fake)
    limit = app_client.app.state.settings.platform_webhook_max_bytes  # type: ignore[attr-defined]
    huge = json.dumps({"order": {"pad": "x" * limit}}).encode()
    body, headers = signed_post({}, integration, body=huge)
    _problem(app_client.post(ORDERS, content=body, headers=headers), 413)
    _problem(
        app_client.post(
            "/platforms/magento/activate",
            content=b"a=" + b"x" * 10_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        413,
    )


def test_posts_for_an_uninstalled_store_are_refused(
    app_client: TestClient, fake: FakeMagento
) -> None:
    integration = install(app_client, fake)
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        from gateway.platforms import installs
        from gateway.stores.models import Platform

        store = installs.find_store(session=session, platform=Platform.MAGENTO, shop=HOST)
        assert store is not None
        installs.mark_uninstalled(session=session, store=store, now=store.created_at)
    body, headers = signed_post(_order(fake), integration)
    _problem(app_client.post(ORDERS, content=body, headers=headers), 401)


# -- activation -------------------------------------------------------------------------------


HOSTILE_BASE_URLS = [
    "http://169.254.169.254/",  # cloud metadata
    "https://169.254.169.254/",
    "https://127.0.0.1/",
    "https://localhost/",
    "https://shop.localhost/",
    "https://10.0.0.7/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://0x7f.1/",
    "https://2130706433/",
    "https://user:pass@magento.test/",
    "ftp://magento.test/",
    "http://magento.test/",  # http only with TRYON_MAGENTO_ALLOW_HTTP (development)
    "https://magento.test/?next=x",
    "javascript:alert(1)",
    "",
    "https://" + "a" * 300 + ".example/",
]


def test_store_base_urls_that_reach_inside_are_refused(
    app_client: TestClient, fake: FakeMagento
) -> None:
    for base_url in HOSTILE_BASE_URLS:
        _, answer = activate(app_client, fake, store_base_url=base_url)
        problem = _problem(answer, 422)
        assert "store_base_url" in problem["detail"] or "URL" in problem["detail"], base_url
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(PendingActivation)) is None


MALFORMED_FORMS = [
    {"oauth_consumer_key": ""},
    {"oauth_consumer_key": "short"},
    {"oauth_consumer_secret": "has spaces in it and is long enough"},
    {"oauth_verifier": "x" * 65},
    {"oauth_verifier": "../../etc/passwd1234567890"},
]


def test_malformed_activation_posts_are_400(app_client: TestClient, fake: FakeMagento) -> None:
    for form in MALFORMED_FORMS:
        _, answer = activate(app_client, fake, **form)
        _problem(answer, 400)


def test_activation_bodies_that_are_not_forms_are_400(app_client: TestClient) -> None:
    for raw in (b"\xff\xfe\x00", b"a=1&a=2", b"=&&=", b"a=1&" * 20):
        answer = app_client.post(
            "/platforms/magento/activate",
            content=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        _problem(answer, 400)


def test_a_second_activation_cannot_move_a_consumer_to_another_store(
    app_client: TestClient, fake: FakeMagento
) -> None:
    integration, answer = activate(app_client, fake)
    assert answer.status_code == 200
    moved = fake.activation_form(HOST, integration, base_url="https://attacker.example/")
    _problem(app_client.post("/platforms/magento/activate", data=moved), 409)
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PendingActivation))
        assert row is not None
        assert row.store_base_url == f"https://{HOST}"


def test_a_verifier_for_another_consumer_installs_nothing(
    app_client: TestClient, fake: FakeMagento
) -> None:
    mine = fake.create_integration(HOST)
    theirs = fake.create_integration(HOST)
    form = fake.activation_form(HOST, (mine[0], mine[1], theirs[2]))
    assert app_client.post("/platforms/magento/activate", data=form).status_code == 200
    fields = identity_form(app_client, mine[0], CALLBACK)
    answer = app_client.post("/platforms/magento/identity", data=fields, follow_redirects=False)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert store_of(app_client) is None
    # The store refused the verifier (oauthlib: 401), our client asked for no access token.
    assert not fake.stores[HOST].access_tokens


def test_an_activation_with_a_forged_consumer_secret_installs_nothing(
    app_client: TestClient, fake: FakeMagento
) -> None:
    key, _, verifier = fake.create_integration(HOST)
    form = fake.activation_form(HOST, (key, "f" * 32, verifier))
    assert app_client.post("/platforms/magento/activate", data=form).status_code == 200
    fields = identity_form(app_client, key, CALLBACK)
    answer = app_client.post("/platforms/magento/identity", data=fields, follow_redirects=False)
    assert answer.status_code == 400
    assert store_of(app_client) is None


# -- the identity link ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "callback",
    [
        "https://attacker.example/steal",
        f"http://{HOST}/admin/",  # another scheme is another origin
        f"https://{HOST}:8443/admin/",
        f"https://user@{HOST}/admin/",
        "javascript:alert(1)",
        "",
    ],
)
def test_the_identity_link_sends_nobody_to_another_site(
    app_client: TestClient, fake: FakeMagento, callback: str
) -> None:
    integration, _ = activate(app_client, fake)
    page = app_client.get(
        "/platforms/magento/identity",
        params={"oauth_consumer_key": integration[0], "success_call_back": callback},
    )
    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]
    assert "attacker" not in page.text


def test_the_identity_page_escapes_and_is_locked_down(
    app_client: TestClient, fake: FakeMagento
) -> None:
    integration, _ = activate(app_client, fake)
    callback = f'https://{HOST}/admin/?x="><script>alert(1)</script>'
    page = app_client.get(
        "/platforms/magento/identity",
        params={"oauth_consumer_key": integration[0], "success_call_back": callback},
    )
    assert page.status_code == 200
    assert "<script>" not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert f"form-action 'self' https://{HOST}" in policy
    assert "frame-ancestors 'none'" in policy


def test_unknown_consumers_and_forged_confirmations_are_refused(
    app_client: TestClient, fake: FakeMagento
) -> None:
    unknown = app_client.get(
        "/platforms/magento/identity",
        params={"oauth_consumer_key": "u" * 32, "success_call_back": CALLBACK},
    )
    assert unknown.status_code == 404
    assert app_client.get("/platforms/magento/identity").status_code == 400
    integration, _ = activate(app_client, fake)
    fields = identity_form(app_client, integration[0], CALLBACK)
    for changed in (
        {"token": "9999999999.forged"},
        {"token": "1.x"},
        {"success_call_back": "https://attacker.example/"},
        {"oauth_consumer_key": "z" * 32},
    ):
        answer = app_client.post(
            "/platforms/magento/identity", data=fields | changed, follow_redirects=False
        )
        assert answer.status_code in (400, 401), changed
        assert "text/html" in answer.headers["content-type"]
    assert store_of(app_client) is None
    # The genuine confirmation still works, once.
    done = app_client.post("/platforms/magento/identity", data=fields, follow_redirects=False)
    assert done.status_code == 303
    store = store_of(app_client)
    assert store is not None
    assert store.status is StoreStatus.ACTIVE
    again = app_client.post("/platforms/magento/identity", data=fields, follow_redirects=False)
    assert again.status_code == 404  # the activation was used
