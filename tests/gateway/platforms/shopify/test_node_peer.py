"""@shopify/shopify-api (Node, Shopify's own library; h6's harness in tests/peers/shopify) as a
peer: it accepts what our code signs and decodes our session tokens, and our verifiers agree
with it on tampered input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from gateway.platforms.shopify import oauth
from gateway.platforms.shopify.adapter import ShopifyAdapter, webhook_hmac
from gateway.platforms.shopify.session_tokens import decode
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET, session_token
from tests.support.peers import shopify_node

SHOP = "a-shop.myshopify.com"
KEYS = {"api_key": API_KEY, "api_secret": API_SECRET}


def _signed_query(**params: str) -> dict[str, str]:
    query = {"shop": SHOP, "timestamp": str(int(time.time())), **params}
    return query | {"hmac": oauth.query_hmac(query.items(), secret=API_SECRET)}


def test_the_library_accepts_our_query_hmacs_and_we_agree_on_tampering() -> None:
    good = _signed_query(code="0907a61c0c8d55e99db179b68161bc00", state="n0nce", host="aG9zdA")
    assert shopify_node("validate-hmac", KEYS | {"query": good})["valid"] is True
    tampered = good | {"shop": "evil-shop.myshopify.com"}
    assert shopify_node("validate-hmac", KEYS | {"query": tampered})["valid"] is False
    try:
        oauth.verify_query(list(tampered.items()), secret=API_SECRET, now=int(time.time()))
    except oauth.InvalidInstallRequest:
        pass
    else:
        raise AssertionError("we accepted what Shopify's library refuses")


def test_the_library_validates_webhooks_signed_like_ours() -> None:
    body = json.dumps({"id": 820982911946154508, "line_items": []})
    headers = {
        "X-Shopify-Hmac-Sha256": webhook_hmac(body.encode(), secret=API_SECRET),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "e1",
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
    }
    answer = shopify_node("webhook-validate", KEYS | {"headers": headers, "body": body})
    assert answer["valid"] is True, answer
    ours = ShopifyAdapter(api_key=API_KEY, api_secret=API_SECRET, api_version="2025-10")
    lowered = {k.lower(): v for k, v in headers.items()}
    assert ours.verify_webhook(headers=lowered, body=body.encode(), now=datetime.now(UTC))
    forged = KEYS | {"headers": headers, "body": body + " "}
    assert shopify_node("webhook-validate", forged)["valid"] is False


def test_the_library_decodes_our_test_session_tokens_and_refuses_a_forged_one() -> None:
    token = session_token(SHOP)
    answer = shopify_node("decode-session-token", KEYS | {"token": token})
    assert answer["valid"] is True, answer
    assert answer["payload"]["dest"] == f"https://{SHOP}"
    assert decode(token, api_key=API_KEY, secret=API_SECRET).shop == SHOP
    forged = session_token(SHOP, secret="f" * 64)
    assert shopify_node("decode-session-token", KEYS | {"token": forged})["valid"] is False


def test_our_token_exchange_request_matches_the_librarys() -> None:
    from gateway.platforms.http import PlatformClient
    from tests.support.fakes.shopify import FakeShopify

    with FakeShopify(API_KEY, API_SECRET) as fake:
        fake.add_shop(SHOP)
        theirs = shopify_node(
            "token-exchange",
            KEYS
            | {
                "shop": SHOP,
                "session_token": session_token(SHOP),
                "base_url": fake.base_url,
                "expiring": True,
            },
        )
        assert "error" not in theirs, theirs
        (request,) = theirs["requests"]
        their_body = json.loads(request["body"])
        with PlatformClient(base_url=fake.base_url) as client:
            ShopifyAdapter(
                api_key=API_KEY, api_secret=API_SECRET, api_version="2025-10"
            ).exchange_session_token(client=client, shop=SHOP, session_token=session_token(SHOP))
        ours = fake.requests[-1]
    assert request["url"] == f"https://{SHOP}/admin/oauth/access_token"
    assert ours.path == f"/{SHOP}/admin/oauth/access_token"
    ours_form = ours.form()
    for name in (
        "client_id",
        "client_secret",
        "grant_type",
        "subject_token_type",
        "requested_token_type",
    ):
        assert ours_form[name] == str(their_body[name]), name
    assert str(their_body.get("expiring")) in {"1", "True", "true"}
    assert ours_form["expiring"] == "1"
