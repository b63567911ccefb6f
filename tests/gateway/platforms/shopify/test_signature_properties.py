"""Properties (hypothesis): a freshly signed webhook or query verifies; any change fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import Unauthorized
from gateway.platforms.shopify import oauth
from gateway.platforms.shopify.adapter import ShopifyAdapter, webhook_hmac
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET

NOW = 1_800_000_000
ADAPTER = ShopifyAdapter(api_key=API_KEY, api_secret=API_SECRET, api_version="2025-10")
HEADERS = {
    "x-shopify-topic": "orders/create",
    "x-shopify-shop-domain": "a-shop.myshopify.com",
    "x-shopify-webhook-id": "w1",
}


@settings(max_examples=150, deadline=None)
@given(
    payload=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=16), max_size=6),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_webhook_signatures(payload: dict[str, object], position: int, flip: int) -> None:
    body = json.dumps(payload).encode()
    headers = HEADERS | {"x-shopify-hmac-sha256": webhook_hmac(body, secret=API_SECRET)}
    assert (
        ADAPTER.verify_webhook(headers=headers, body=body, now=datetime.now(UTC)).payload == payload
    )
    mutated = bytearray(body)
    mutated[position % len(mutated)] ^= flip
    with pytest.raises(Unauthorized):
        ADAPTER.verify_webhook(headers=headers, body=bytes(mutated), now=datetime.now(UTC))


_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    extra=st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
            lambda k: k not in {"hmac", "signature", "shop", "timestamp"}
        ),
        _values,
        max_size=5,
    ),
    victim=st.integers(min_value=0),
    suffix=st.text(min_size=1, max_size=4),
)
def test_query_signatures(extra: dict[str, str], victim: int, suffix: str) -> None:
    query = {"shop": "a-shop.myshopify.com", "timestamp": str(NOW), **extra}
    signed = [*query.items(), ("hmac", oauth.query_hmac(query.items(), secret=API_SECRET))]
    assert oauth.verify_query(signed, secret=API_SECRET, now=NOW)["shop"] == query["shop"]
    keys = sorted(query)
    key = keys[victim % len(keys)]
    changed = [(k, v + suffix if k == key else v) for k, v in signed]
    with pytest.raises(oauth.InvalidInstallRequest):
        oauth.verify_query(changed, secret=API_SECRET, now=NOW)
