"""The signed callback payloads: the published vector, BigCommerce's own client as a peer,
and hostile tokens (forged, expired, wrong audience/issuer/subject, other algorithms)."""

from __future__ import annotations

import base64
import json
import time
import warnings

import jwt
import pytest
from bigcommerce.api import BigcommerceApi
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.platforms.bigcommerce import signed
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms.bigcommerce.conftest import CLIENT_ID, CLIENT_SECRET, STORE_HASH

VECTOR = (
    "eyJmb28iOiJmb28ifQ==.YjMzMTQ2ZGU4ZTUzNWJiOTI3NTI1ODJmNzhiZGM5NzBjNGQ3MjZkZDdkMDY1Mjdk"
    "ZGYxZDA0NGZjNDVjYmNkMA=="
)


def _fake() -> FakeBigCommerce:
    return FakeBigCommerce(CLIENT_ID, CLIENT_SECRET, redirect_uri="https://tryon.test/a")


def _verify(token: str) -> signed.SignedPayload:
    return signed.verify_jwt(token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def test_the_published_legacy_vector_verifies_here_and_in_the_peer() -> None:
    assert signed.decode_legacy(VECTOR, client_secret="123456abcdef") == {"foo": "foo"}
    assert BigcommerceApi.oauth_verify_payload(VECTOR, "123456abcdef") == {"foo": "foo"}
    with pytest.raises(signed.InvalidSignedPayload):
        signed.decode_legacy(VECTOR, client_secret="123456abcdeF")


def test_a_jwt_minted_like_bigcommerce_passes_the_peer_and_us() -> None:
    token = _fake().signed_payload_jwt(STORE_HASH, user_id=7, owner_id=7)
    peer = BigcommerceApi.oauth_verify_payload_jwt(token, CLIENT_SECRET, CLIENT_ID)
    assert peer["sub"] == f"stores/{STORE_HASH}"
    ours = _verify(token)
    assert (ours.store_hash, ours.user_id, ours.is_owner) == (STORE_HASH, "7", True)


def test_a_legacy_payload_minted_here_passes_the_peer_and_us() -> None:
    payload = _fake().signed_payload(STORE_HASH)
    assert BigcommerceApi.oauth_verify_payload(payload, CLIENT_SECRET)["store_hash"] == STORE_HASH
    assert signed.verify_legacy(
        payload, client_secret=CLIENT_SECRET, now=time.time()
    ).store_hash == (STORE_HASH)


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "aud": CLIENT_ID,
        "iss": "bc",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "sub": f"stores/{STORE_HASH}",
        "jti": "3f0a",
        "user": {"id": 1},
        "owner": {"id": 1},
    }
    claims.update(overrides)
    return claims


@pytest.mark.parametrize(
    ("claims", "key"),
    [
        (_claims(), "not-the-secret-but-long-enough-for-hs256"),
        (_claims(exp=int(time.time()) - 60), CLIENT_SECRET),
        (_claims(aud="another-app"), CLIENT_SECRET),
        (_claims(iss="not-bc"), CLIENT_SECRET),
        (_claims(sub="stores/../x"), CLIENT_SECRET),
        (_claims(sub="customers/abc123"), CLIENT_SECRET),
        ({k: v for k, v in _claims().items() if k != "exp"}, CLIENT_SECRET),
        ({k: v for k, v in _claims().items() if k != "aud"}, CLIENT_SECRET),
        ({k: v for k, v in _claims().items() if k != "jti"}, CLIENT_SECRET),
    ],
    ids=[
        "forged",
        "expired",
        "audience",
        "issuer",
        "traversal",
        "subject",
        "no-exp",
        "no-aud",
        "no-jti",
    ],
)
def test_hostile_jwts_are_refused(claims: dict[str, object], key: str) -> None:
    token = jwt.encode(claims, key, algorithm="HS256")
    with pytest.raises(signed.InvalidSignedPayload):
        _verify(token)


def test_other_algorithms_are_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short key for HS512: the point is the algorithm
        hs512 = jwt.encode(_claims(), CLIENT_SECRET, algorithm="HS512")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(_claims(), private, algorithm="RS256")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
    for token in (hs512, rs256, f"{header}.{body}.", "", "x" * 9000, "a.b.c"):
        with pytest.raises(signed.InvalidSignedPayload):
            _verify(token)


def test_legacy_payloads_that_are_stale_tampered_or_malformed_are_refused() -> None:
    fake = _fake()
    stale = fake.signed_payload(STORE_HASH, timestamp=time.time() - 3600)
    data, _, mac = fake.signed_payload(STORE_HASH).partition(".")
    other = json.loads(base64.b64decode(data)) | {"store_hash": "evil1"}
    tampered = base64.b64encode(json.dumps(other).encode()).decode() + "." + mac
    for payload in (stale, tampered, "no-dot", "!!!.???", VECTOR, None):
        with pytest.raises(signed.InvalidSignedPayload):
            signed.verify_legacy(payload, client_secret=CLIENT_SECRET, now=time.time())
