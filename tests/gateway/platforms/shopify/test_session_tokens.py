"""Session tokens: what we accept, what Shopify's own library decodes, and hostile tokens."""

from __future__ import annotations

import base64
import json
import time

import pytest
import shopify.session_token  # the ShopifyAPI package as a peer
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.platforms.shopify.session_tokens import InvalidSessionToken, bearer, decode
from tests.gateway.platforms.shopify.tokens import API_KEY, API_SECRET, session_token

SHOP = "a-shop.myshopify.com"


def _decode(token: str, now: float | None = None) -> str:
    return decode(token, api_key=API_KEY, secret=API_SECRET, now=now).shop


def test_a_valid_token_names_its_shop() -> None:
    token = session_token(SHOP)
    assert _decode(token) == SHOP
    assert decode(token, api_key=API_KEY, secret=API_SECRET).raw == token


def test_shopifyapi_decodes_our_test_tokens() -> None:
    """Our test tokens are what Shopify's library accepts, so the tests test real tokens."""
    claims = shopify.session_token.decode_from_header(
        f"Bearer {session_token(SHOP)}", api_key=API_KEY, secret=API_SECRET
    )
    assert claims["dest"] == f"https://{SHOP}"


def test_leeway_is_small_and_both_ways() -> None:
    now = 1_800_000_000
    token = session_token(SHOP, now=now)
    assert _decode(token, now=now + 60 + 9) == SHOP  # just expired, within the leeway
    assert _decode(token, now=now - 9) == SHOP  # nbf slightly ahead (App Bridge does that)
    with pytest.raises(InvalidSessionToken, match="expired"):
        _decode(token, now=now + 60 + 11)
    with pytest.raises(InvalidSessionToken, match="not valid yet"):
        _decode(token, now=now - 11)


def _none_token() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": API_KEY,
        "sub": "1",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)

HOSTILE = {
    "alg-none": _none_token,
    "hs512": lambda: session_token(SHOP, algorithm="HS512"),
    "rs256": lambda: session_token(SHOP, algorithm="RS256", key=_RSA),
    "wrong-secret": lambda: session_token(SHOP, secret="n" * 64),
    "wrong-aud": lambda: session_token(SHOP, api_key="another-app"),
    "no-aud": lambda: session_token(SHOP, aud=None),
    "expired": lambda: session_token(SHOP, now=time.time() - 3600),
    "not-yet": lambda: session_token(SHOP, nbf=int(time.time()) + 600),
    "no-exp": lambda: session_token(SHOP, exp=None),
    "iss-dest-differ": lambda: session_token(SHOP, dest="https://other.myshopify.com"),
    "dest-not-shopify": lambda: session_token(
        "evil.com", iss="https://evil.com/admin", dest="https://evil.com"
    ),
    "dest-lookalike": lambda: session_token(
        "a.myshopify.com.evil.com",
    ),
    "http-dest": lambda: session_token(SHOP, dest=f"http://{SHOP}", iss=f"http://{SHOP}/admin"),
    "iss-not-admin": lambda: session_token(SHOP, iss=f"https://{SHOP}/apps"),
    "garbage": lambda: "not.a.jwt",
    "empty-parts": lambda: "..",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_tokens_are_refused(name: str) -> None:
    with pytest.raises(InvalidSessionToken):
        _decode(HOSTILE[name]())


def test_bearer_header() -> None:
    assert bearer("Bearer abc") == "abc"
    for bad in (None, "", "Basic abc", "Bearer ", "Bearer " + "a" * 5000):
        with pytest.raises(InvalidSessionToken):
            bearer(bad)


def test_an_unconfigured_app_accepts_nothing() -> None:
    with pytest.raises(InvalidSessionToken):
        decode(session_token(SHOP), api_key="", secret="")
