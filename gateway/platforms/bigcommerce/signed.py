"""BigCommerce's signed callbacks: ``signed_payload_jwt`` and the legacy ``signed_payload``.

BigCommerce opens ``load``, ``uninstall`` and ``remove_user`` in the merchant's browser with
``?signed_payload_jwt=<jwt>`` (and, for older apps, ``?signed_payload=<b64 json>.<b64 hex
hmac>``), both signed with the app's client secret (PLATFORMS.md, BigCommerce section).

The JWT: HS256 only (BigCommerce's Python client also takes HS512; we take one algorithm, the
one BigCommerce signs with), ``aud`` = our client id, ``iss`` = ``bc``, ``sub`` =
``stores/{hash}``, ``exp``/``nbf``/``iat`` with a small leeway. The legacy payload has no
expiry of its own: its ``timestamp`` must be recent. Either way a verified payload names the
store hash and the user; the callbacks are one-shot page loads, so a replay inside the expiry
only shows the same page again (or repeats an idempotent uninstall).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = ["HS256"]
ISSUER = "bc"
LEEWAY_S = 10
LEGACY_MAX_AGE_S = 300
MAX_PAYLOAD_LENGTH = 8192
STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
_CONTEXT = re.compile(r"^stores/([a-z0-9]{1,32})$")


class InvalidSignedPayload(ValueError):
    """A callback whose payload is missing, malformed, forged, expired or not for this app."""


@dataclass(frozen=True)
class SignedPayload:
    """What a verified callback says: which store, which user (owner or not)."""

    store_hash: str
    user_id: str | None
    user_email: str | None
    owner_id: str | None
    url: str | None = None
    channel_id: int | None = None
    nonce: str = ""
    """What makes this payload one of a kind (the JWT's ``jti``, else a digest of the legacy
    payload): ``load`` accepts each once."""
    expires_at: float = 0.0

    @property
    def is_owner(self) -> bool:
        return self.user_id is not None and self.user_id == self.owner_id


def store_hash_of(context: str | None) -> str:
    """``stores/{hash}`` -> ``hash`` (lower-case letters and digits); refuses anything else."""
    match = _CONTEXT.fullmatch((context or "").strip())
    if match is None:
        raise InvalidSignedPayload("The context is not 'stores/<store hash>'")
    return match.group(1)


def shop_of(store_hash: str) -> str:
    """The installation's shop name: the store's permanent ``mybigcommerce.com`` host (also
    the storefront origin the widget key allows before a custom domain is known)."""
    if not STORE_HASH.fullmatch(store_hash):
        raise InvalidSignedPayload("Not a store hash")
    return f"store-{store_hash}.mybigcommerce.com"


def _id(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, int | str) and str(value) else None


def _person(claims: Mapping[str, Any], key: str) -> tuple[str | None, str | None]:
    person = claims.get(key)
    if not isinstance(person, Mapping):
        return None, None
    email = person.get("email")
    return _id(person.get("id")), email if isinstance(email, str) else None


def verify_jwt(token: str | None, *, client_id: str, client_secret: str) -> SignedPayload:
    """Verify ``signed_payload_jwt`` (see the module doc)."""
    if not token or len(token) > MAX_PAYLOAD_LENGTH:
        raise InvalidSignedPayload("The request has no signed payload")
    if not client_id or not client_secret:
        raise InvalidSignedPayload("The app is not configured")
    try:
        claims = jwt.decode(
            token,
            client_secret,
            algorithms=ALGORITHMS,
            audience=client_id,
            issuer=ISSUER,
            leeway=LEEWAY_S,
            options={"require": ["aud", "iss", "sub", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidSignedPayload("The signed payload has expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidSignedPayload(
            f"The signed payload is not valid: {type(exc).__name__}"
        ) from None
    store_hash = store_hash_of(claims.get("sub"))
    user_id, email = _person(claims, "user")
    owner_id, _ = _person(claims, "owner")
    channel = claims.get("channel_id")
    url = claims.get("url")
    return SignedPayload(
        store_hash=store_hash,
        user_id=user_id,
        user_email=email,
        owner_id=owner_id,
        url=url if isinstance(url, str) else None,
        channel_id=channel if isinstance(channel, int) and not isinstance(channel, bool) else None,
        nonce=f"jti:{claims['jti']}"[:200],
        expires_at=float(claims["exp"]),
    )


def legacy_signature(data: bytes, *, client_secret: str) -> str:
    """The hex HMAC-SHA256 of the JSON part of a legacy ``signed_payload``."""
    return hmac.new(client_secret.encode(), data, hashlib.sha256).hexdigest()


def decode_legacy(signed_payload: str | None, *, client_secret: str) -> dict[str, Any]:
    """The JSON object of a legacy ``signed_payload`` once its signature checks out."""
    if not signed_payload or len(signed_payload) > MAX_PAYLOAD_LENGTH or not client_secret:
        raise InvalidSignedPayload("The request has no signed payload")
    encoded, dot, signature = signed_payload.partition(".")
    if not dot:
        raise InvalidSignedPayload("The signed payload is not '<data>.<signature>'")
    try:
        data = base64.b64decode(encoded, validate=True)
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignedPayload("The signed payload is not base64") from None
    expected = legacy_signature(data, client_secret=client_secret).encode()
    if not hmac.compare_digest(expected, given):
        raise InvalidSignedPayload("The signed payload's signature is wrong")
    try:
        loaded = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise InvalidSignedPayload("The signed payload is not JSON") from None
    if not isinstance(loaded, dict):
        raise InvalidSignedPayload("The signed payload is not a JSON object")
    return loaded


def verify_legacy(signed_payload: str | None, *, client_secret: str, now: float) -> SignedPayload:
    """Verify a legacy ``signed_payload`` (signature, store hash, a timestamp within 5 min)."""
    data = decode_legacy(signed_payload, client_secret=client_secret)
    stamp = data.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise InvalidSignedPayload("The signed payload has no timestamp")
    if not now - LEGACY_MAX_AGE_S <= float(stamp) <= now + LEEWAY_S:
        raise InvalidSignedPayload("The signed payload has expired")
    raw_hash = data.get("store_hash")
    context = data.get("context")
    store_hash = (
        raw_hash
        if isinstance(raw_hash, str) and STORE_HASH.fullmatch(raw_hash)
        else store_hash_of(context if isinstance(context, str) else None)
    )
    if isinstance(context, str) and store_hash_of(context) != store_hash:
        raise InvalidSignedPayload("The signed payload names two stores")
    user_id, email = _person(data, "user")
    owner_id, _ = _person(data, "owner")
    return SignedPayload(
        store_hash=store_hash,
        user_id=user_id,
        user_email=email,
        owner_id=owner_id,
        nonce="legacy:" + hashlib.sha256(str(signed_payload).encode()).hexdigest(),
        expires_at=float(stamp) + LEGACY_MAX_AGE_S,
    )
