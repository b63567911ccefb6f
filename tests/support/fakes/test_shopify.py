"""Self-tests of the fake Shopify: its signatures checked by Shopify's own libraries (the
``ShopifyAPI`` PyPI package and ``@shopify/shopify-api`` on Node), the published vectors, and
the Admin API behaviour the gateway's tests rely on."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import shopify  # the ShopifyAPI package
import shopify.session_token
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fakes.shopify import (
    OFFLINE_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    FakeShopify,
    session_token,
    shopify_hmac,
    webhook_hmac,
)
from tests.support.peers import shopify_node

KEY = "fake-app-key"
SECRET = "shpss_fake_app_secret_0123456789"
SHOP = "some-shop.myshopify.com"
GRAPHQL = "/admin/api/2025-10/graphql.json"
APP = {"api_key": KEY, "api_secret": SECRET}


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify(KEY, SECRET) as running:
        running.add_shop(SHOP)
        yield running


@pytest.fixture
def http(fake: FakeShopify) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{fake.base_url}/{SHOP}", trust_env=False) as client:
        yield client


@pytest.fixture
def shopify_python_session() -> Iterator[None]:
    shopify.Session.setup(api_key=KEY, secret=SECRET)
    yield
    shopify.Session.setup(api_key=None, secret=None)


def authorize(http: httpx.Client, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": KEY,
        "scope": "read_products,read_orders",
        "redirect_uri": "https://tryon.example/platforms/shopify/callback",
        "state": "nonce-123",
    } | overrides
    response = http.get("/admin/oauth/authorize", params=params)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == params["redirect_uri"]
    return dict(parse_qsl(location.query))


def graphql(http: httpx.Client, token: str, document: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        GRAPHQL,
        json={"query": document, "variables": variables},
        headers={"X-Shopify-Access-Token": token},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- published vectors (PLATFORMS.md) ----------------------------------------------------------


def test_oauth_hmac_vector() -> None:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "state": "0.6784241404160823",
        "timestamp": "1337178173",
    }
    expected = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    assert shopify_hmac(params, "hush") == expected
    assert shopify_hmac(params | {"hmac": "ignored"}, "hush") == expected


def test_webhook_hmac_vector() -> None:
    body = b'{"foo": "bar"}'
    assert webhook_hmac(body, "test_secret_key") == "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="


def test_the_node_peer_agrees_with_the_webhook_vector() -> None:
    answer = shopify_node(
        "webhook-validate",
        {
            "api_key": KEY,
            "api_secret": "test_secret_key",
            "body": '{"foo": "bar"}',
            "headers": {
                "X-Shopify-Hmac-Sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-API-Version": "2025-10",
                "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            },
        },
    )
    assert answer["valid"] is True


# -- OAuth -------------------------------------------------------------------------------------


def test_the_callback_hmac_verifies_with_shopifyapi(
    fake: FakeShopify, http: httpx.Client, shopify_python_session: None
) -> None:
    callback = authorize(http)
    assert set(callback) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert callback["shop"] == SHOP
    assert callback["state"] == "nonce-123"
    assert shopify.Session.validate_params(callback)
    assert shopify.Session.calculate_hmac(callback) == callback["hmac"]
    assert not shopify.Session.validate_params(callback | {"state": "other"})


def test_the_callback_and_install_hmacs_verify_with_the_node_peer(
    fake: FakeShopify, http: httpx.Client
) -> None:
    callback = authorize(http)
    assert shopify_node("validate-hmac", APP | {"query": callback}) == {"valid": True}
    forged = callback | {"shop": "evil-shop.myshopify.com"}
    assert shopify_node("validate-hmac", APP | {"query": forged})["valid"] is False
    install = fake.signed_query(SHOP, host="YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvc29tZS1zaG9w")
    assert shopify_node("validate-hmac", APP | {"query": install}) == {"valid": True}


def test_authorize_refuses_another_apps_client_id(http: httpx.Client) -> None:
    response = http.get(
        "/admin/oauth/authorize",
        params={"client_id": "other", "redirect_uri": "https://x.example/cb", "state": "s"},
    )
    assert response.status_code == 400


def test_authorize_refuses_a_redirect_uri_the_app_did_not_list() -> None:
    allowed = "https://tryon.example/platforms/shopify/callback"
    with FakeShopify(KEY, SECRET, redirect_uris=[allowed]) as fake:
        fake.add_shop(SHOP)
        with httpx.Client(base_url=f"{fake.base_url}/{SHOP}", trust_env=False) as http:
            assert authorize(http, redirect_uri=allowed)["shop"] == SHOP
            response = http.get(
                "/admin/oauth/authorize",
                params={"client_id": KEY, "redirect_uri": "https://evil.example/cb", "state": "s"},
            )
    assert response.status_code == 400


def test_code_grant_is_one_time_and_needs_the_secret(fake: FakeShopify, http: httpx.Client) -> None:
    code = authorize(http)["code"]
    wrong = http.post(
        "/admin/oauth/access_token", data={"client_id": KEY, "client_secret": "x", "code": code}
    )
    assert wrong.status_code == 401
    good = http.post(
        "/admin/oauth/access_token", data={"client_id": KEY, "client_secret": SECRET, "code": code}
    )
    assert good.status_code == 200
    assert good.json()["scope"] == "read_products,read_orders"
    assert set(good.json()) == {"access_token", "scope"}
    again = http.post(
        "/admin/oauth/access_token", json={"client_id": KEY, "client_secret": SECRET, "code": code}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_request"


def test_expiring_tokens_expire_and_refresh_rotates(fake: FakeShopify, http: httpx.Client) -> None:
    now = [1_800_000_000.0]
    fake.wall_clock = lambda: now[0]
    code = authorize(http)["code"]
    answer = http.post(
        "/admin/oauth/access_token",
        json={"client_id": KEY, "client_secret": SECRET, "code": code, "expiring": 1},
    ).json()
    assert answer["expires_in"] == 3600
    assert answer["refresh_token_expires_in"] > 3600
    token, refresh = answer["access_token"], answer["refresh_token"]
    assert "data" in graphql(http, token, "{ shop { myshopifyDomain } }")
    now[0] += 3601
    expired = http.post(
        GRAPHQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": token}
    )
    assert expired.status_code == 401
    params = {
        "client_id": KEY,
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh,
    }
    renewed = http.post("/admin/oauth/access_token", data=params)
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != refresh
    assert "data" in graphql(http, renewed.json()["access_token"], "{ shop { name } }")
    reused = http.post("/admin/oauth/access_token", data=params)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


# -- session tokens and token exchange ---------------------------------------------------------


def test_session_tokens_decode_with_both_libraries(fake: FakeShopify) -> None:
    token = session_token(api_key=KEY, api_secret=SECRET, shop=SHOP)
    decoded = shopify_node("decode-session-token", APP | {"token": token})
    assert decoded["valid"] is True
    assert decoded["payload"]["dest"] == f"https://{SHOP}"
    claims = shopify.session_token.decode_from_header(f"Bearer {token}", KEY, SECRET)
    assert claims["iss"] == f"https://{SHOP}/admin"
    forged = session_token(api_key=KEY, api_secret="not-the-secret", shop=SHOP)
    assert shopify_node("decode-session-token", APP | {"token": forged})["valid"] is False


def test_the_node_peers_token_exchange_is_accepted(fake: FakeShopify, http: httpx.Client) -> None:
    token = session_token(api_key=KEY, api_secret=SECRET, shop=SHOP)
    answer = shopify_node(
        "token-exchange",
        APP | {"shop": SHOP, "session_token": token, "base_url": fake.base_url, "expiring": True},
    )
    assert "error" not in answer, answer
    (request,) = answer["requests"]
    assert request["url"] == f"https://{SHOP}/admin/oauth/access_token"
    body = json.loads(request["body"])
    assert body["grant_type"] == TOKEN_EXCHANGE
    assert body["requested_token_type"] == OFFLINE_TOKEN_TYPE
    assert body["subject_token"] == token
    session = answer["session"]
    assert session["shop"] == SHOP
    assert session["accessToken"].startswith("shpat_")
    assert "data" in graphql(http, session["accessToken"], "{ shop { myshopifyDomain } }")
    seen = [r for r in fake.requests if r.path.endswith("/access_token")]
    assert seen[-1].json()["client_secret"] == SECRET


@pytest.mark.parametrize(
    "token",
    [
        session_token(api_key=KEY, api_secret="wrong", shop=SHOP),
        session_token(api_key="other-app", api_secret=SECRET, shop=SHOP),
        session_token(api_key=KEY, api_secret=SECRET, shop=SHOP, exp=1),
        session_token(api_key=KEY, api_secret=SECRET, shop="other.myshopify.com"),
        session_token(api_key=KEY, api_secret=SECRET, shop=SHOP, algorithm="HS512"),
        "eyJhbGciOiJub25lIn0.eyJhdWQiOiJmYWtlLWFwcC1rZXkifQ.",
        "not-a-jwt",
    ],
    ids=["secret", "audience", "expired", "other-shop", "hs512", "alg-none", "garbage"],
)
def test_token_exchange_refuses_bad_session_tokens(http: httpx.Client, token: str) -> None:
    response = http.post(
        "/admin/oauth/access_token",
        json={
            "client_id": KEY,
            "client_secret": SECRET,
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": OFFLINE_TOKEN_TYPE,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_subject_token"


# -- webhooks ----------------------------------------------------------------------------------


class Receiver:
    """A local webhook endpoint: records deliveries, fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((dict(self.headers.items()), body))
                status = 500 if len(receiver.deliveries) <= receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/platforms/shopify/webhooks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_delivered_webhooks_validate_with_the_node_peer(fake: FakeShopify) -> None:
    receiver = Receiver(failures=2)
    payload = {"id": 820982911946154508, "line_items": [{"properties": []}]}
    try:
        response = fake.deliver_webhook(
            receiver.url, "orders/create", SHOP, payload, webhook_id="wh-1", retries=3
        )
        tampered = fake.deliver_webhook(receiver.url, "orders/create", SHOP, payload, tamper=True)
    finally:
        receiver.close()
    assert response.status_code == 200
    assert tampered.status_code == 200  # the receiver here checks nothing; the peer does
    assert len(receiver.deliveries) == 4
    first, *retries, forged = receiver.deliveries
    assert all(h["X-Shopify-Webhook-Id"] == "wh-1" for h, _ in (first, *retries))
    headers, body = first
    assert json.loads(body) == payload
    for name in ("Topic", "Shop-Domain", "Event-Id", "API-Version", "Triggered-At"):
        assert headers[f"X-Shopify-{name}"]
    answer = shopify_node("webhook-validate", APP | {"headers": headers, "body": body.decode()})
    assert answer["valid"] is True
    assert (answer["topic"], answer["domain"], answer["webhookId"]) == (
        "ORDERS_CREATE",
        SHOP,
        "wh-1",
    )
    bad_headers, bad_body = forged
    bad = shopify_node(
        "webhook-validate", APP | {"headers": bad_headers, "body": bad_body.decode()}
    )
    assert bad["valid"] is False


@settings(max_examples=3, deadline=None)
@given(
    payloads=st.lists(
        st.dictionaries(st.text(max_size=8), st.text(max_size=40) | st.integers()),
        min_size=10,
        max_size=10,
    ),
    flips=st.lists(st.integers(min_value=0), min_size=10, max_size=10),
)
def test_any_signed_body_validates_with_the_peer_and_any_change_does_not(
    payloads: list[dict[str, Any]], flips: list[int]
) -> None:
    # One Node process checks every case of an example (a process per case would be slow).
    fake = FakeShopify(KEY, SECRET)  # signing only: no server needed
    cases = []
    for payload, flip in zip(payloads, flips, strict=True):
        body = json.dumps(payload, ensure_ascii=False)
        headers = fake.webhook_headers("products/update", SHOP, body.encode())
        cases.append({"headers": headers, "body": body})
        position = flip % len(body)
        changed = (
            body[:position] + chr((ord(body[position]) + 1) % 0x7F or 0x20) + body[position + 1 :]
        )
        cases.append({"headers": headers, "body": changed})
    results = shopify_node("webhook-validate", APP | {"cases": cases})["results"]
    assert [r["valid"] for r in results] == [True, False] * len(payloads)


# -- the Admin API ------------------------------------------------------------------------------

PRODUCTS = """
query Products($after: String, $query: String) {
  products(first: 2, after: $after, query: $query) {
    nodes {
      id legacyResourceId title handle productType tags status
      featuredImage { url }
      images(first: 5) { nodes { url } }
      collections(first: 5) { nodes { handle title } }
      options { name values }
      variants(first: 10) { nodes { id title sku price selectedOptions { name value } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_products_paginate_with_the_fields_the_sync_reads(
    fake: FakeShopify, http: httpx.Client
) -> None:
    image = fake.add_image("shirt.png")
    ids = [
        fake.add_product(
            SHOP,
            title=f"Shirt {n}",
            product_type="Shirts",
            tags=["summer"],
            collections=["tops"],
            images=[image],
            variants=[
                {
                    "title": "M / Navy",
                    "sku": f"S{n}",
                    "price": "19.90",
                    "options": {"Size": "M", "Color": "Navy"},
                },
                {
                    "title": "L / Navy",
                    "sku": f"L{n}",
                    "price": "21.90",
                    "options": {"Size": "L", "Color": "Navy"},
                },
            ],
        )
        for n in range(5)
    ]
    token = fake.issue_token(SHOP)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = graphql(http, token, PRODUCTS, after=cursor)
        page = answer["data"]["products"]
        seen.extend(page["nodes"])
        assert answer["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 2000
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert [p["id"] for p in seen] == ids
    first = seen[0]
    assert first["featuredImage"] == {"url": image}
    assert first["collections"]["nodes"] == [{"handle": "tops", "title": "Tops"}]
    assert first["options"] == [
        {"name": "Size", "values": ["M", "L"]},
        {"name": "Color", "values": ["Navy"]},
    ]
    assert first["variants"]["nodes"][1]["selectedOptions"] == [
        {"name": "Size", "value": "L"},
        {"name": "Color", "value": "Navy"},
    ]
    assert first["legacyResourceId"] == ids[0].rsplit("/", 1)[1]
    assert httpx.get(image).headers["content-type"] == "image/png"


def test_product_by_id_update_delete_and_search(fake: FakeShopify, http: httpx.Client) -> None:
    token = fake.issue_token(SHOP)
    gid = fake.add_product(SHOP, title="Cap", tags=["hat"])
    fake.add_product(SHOP, title="Draft", status="DRAFT")
    query = "query($id: ID!) { product(id: $id) { title tags status } }"
    assert graphql(http, token, query, id=gid)["data"]["product"]["title"] == "Cap"
    fake.update_product(SHOP, gid, title="Blue cap", tags=["hat", "blue"])
    assert graphql(http, token, query, id=gid)["data"]["product"]["tags"] == ["hat", "blue"]
    found = graphql(http, token, PRODUCTS, query="status:active tag:blue")["data"]["products"]
    assert [p["title"] for p in found["nodes"]] == ["Blue cap"]
    fake.delete_product(SHOP, gid)
    assert graphql(http, token, query, id=gid)["data"]["product"] is None


def test_queries_are_validated_against_the_schema(fake: FakeShopify, http: httpx.Client) -> None:
    token = fake.issue_token(SHOP)
    answer = graphql(http, token, "{ products(first: 1) { nodes { bodyHtmlNope } } }")
    assert "data" not in answer
    assert "bodyHtmlNope" in answer["errors"][0]["message"]


def test_webhook_subscriptions(fake: FakeShopify, http: httpx.Client) -> None:
    token = fake.issue_token(SHOP)
    create = """
    mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
        webhookSubscription { id topic uri }
        userErrors { field message }
      }
    }"""
    url = "https://tryon.example/platforms/shopify/webhooks"
    made = graphql(http, token, create, topic="PRODUCTS_UPDATE", sub={"callbackUrl": url})
    created = made["data"]["webhookSubscriptionCreate"]
    assert created["userErrors"] == []
    assert made["extensions"]["cost"]["requestedQueryCost"] == 10
    again = graphql(http, token, create, topic="PRODUCTS_UPDATE", sub={"uri": url})
    assert again["data"]["webhookSubscriptionCreate"]["userErrors"]
    plain = graphql(
        http, token, create, topic="ORDERS_CREATE", sub={"callbackUrl": "http://x.example/"}
    )
    assert plain["data"]["webhookSubscriptionCreate"]["userErrors"]
    listed = graphql(
        http,
        token,
        "{ webhookSubscriptions(first: 10) { nodes { id topic "
        "endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } }",
    )["data"]["webhookSubscriptions"]["nodes"]
    assert listed == [
        {
            "id": created["webhookSubscription"]["id"],
            "topic": "PRODUCTS_UPDATE",
            "endpoint": {"callbackUrl": url},
        }
    ]
    delete = (
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) "
        "{ deletedWebhookSubscriptionId userErrors { message } } }"
    )
    gone = graphql(http, token, delete, id=listed[0]["id"])["data"]["webhookSubscriptionDelete"]
    assert gone["deletedWebhookSubscriptionId"] == listed[0]["id"]
    compliance = graphql(http, token, create, topic="CUSTOMERS_REDACT", sub={"uri": url})
    assert "errors" in compliance  # compliance topics come from shopify.app.toml, not the API


def test_connections_need_first(fake: FakeShopify, http: httpx.Client) -> None:
    token = fake.issue_token(SHOP)
    fake.add_product(SHOP, title="Cap")
    answer = graphql(http, token, "{ products { nodes { id } } }")
    assert "first or last" in answer["errors"][0]["message"]
    nested = graphql(http, token, "{ products(first: 1) { nodes { images { nodes { url } } } } }")
    assert "first or last" in nested["errors"][0]["message"]


def test_a_query_over_the_single_query_limit_is_refused(
    fake: FakeShopify, http: httpx.Client
) -> None:
    token = fake.issue_token(SHOP)
    query = "{ products(first: 250) { nodes { variants(first: 100) { nodes { id } } } } }"
    answer = graphql(http, token, query)
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in answer


def test_the_bucket_throttles_and_restores(fake: FakeShopify, http: httpx.Client) -> None:
    now = [0.0]
    fake.clock = lambda: now[0]
    token = fake.issue_token(SHOP)
    fake.set_bucket(SHOP, maximum=100, available=10, restore_rate=5)
    throttled = graphql(http, token, PRODUCTS)
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    status = throttled["extensions"]["cost"]["throttleStatus"]
    assert (status["currentlyAvailable"], status["restoreRate"]) == (10, 5)
    needed = throttled["extensions"]["cost"]["requestedQueryCost"]
    now[0] += (needed - 10) / 5
    assert "data" in graphql(http, token, PRODUCTS)


def test_access_is_checked_and_revocation_kills_tokens(
    fake: FakeShopify, http: httpx.Client
) -> None:
    token = fake.issue_token(SHOP)
    other = fake.add_shop("other-shop.myshopify.com")
    no_token = http.post(GRAPHQL, json={"query": "{ shop { name } }"})
    assert no_token.status_code == 401
    assert "Invalid API key or access token" in no_token.json()["errors"]
    cross = httpx.post(
        f"{fake.base_url}/{other}{GRAPHQL}",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": token},
    )
    assert cross.status_code == 401
    revoked = http.delete(
        "/admin/api_permissions/current.json", headers={"X-Shopify-Access-Token": token}
    )
    assert revoked.status_code == 200
    dead = http.post(
        GRAPHQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": token}
    )
    assert dead.status_code == 401
    assert httpx.post(f"{fake.base_url}/nope.myshopify.com{GRAPHQL}").status_code == 404


def test_injected_answers(fake: FakeShopify, http: httpx.Client) -> None:
    token = fake.issue_token(SHOP)
    fake.inject("graphql.json", status=503, body="down", times=2)
    headers = {"X-Shopify-Access-Token": token}
    assert (
        http.post(GRAPHQL, json={"query": "{ shop { name } }"}, headers=headers).status_code == 503
    )
    assert (
        http.post(GRAPHQL, json={"query": "{ shop { name } }"}, headers=headers).status_code == 503
    )
    assert (
        http.post(GRAPHQL, json={"query": "{ shop { name } }"}, headers=headers).status_code == 200
    )
    assert len(fake.requests) == 3
