"""Signed, expiring tokens for dashboard sign-in links and session cookies (pure functions).

``v1.<payload>.<signature>``: the payload is base64url JSON, the signature base64url
HMAC-SHA256 under a key derived from ``TRYON_SECRET_KEY`` and the token's purpose, so a link
can never be used as a cookie or the other way round.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Literal

Purpose = Literal["dashboard-link", "dashboard-session"]
MAX_TOKEN_LENGTH = 512


class BadToken(ValueError):
    """Malformed, forged, expired or for another purpose."""


@dataclass(frozen=True, slots=True)
class Claims:
    merchant_id: uuid.UUID
    nonce: str
    expires_at: int
    """Unix seconds."""


def _key(secret: str, purpose: Purpose) -> bytes:
    return hmac.new(secret.encode(), f"tryon/{purpose}/v1".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: Claims, *, secret: str, purpose: Purpose) -> str:
    payload = _b64(
        json.dumps(
            {"m": str(claims.merchant_id), "n": claims.nonce, "exp": claims.expires_at},
            separators=(",", ":"),
        ).encode()
    )
    signature = hmac.new(_key(secret, purpose), payload.encode(), hashlib.sha256).digest()
    return f"v1.{payload}.{_b64(signature)}"


def verify(token: str, *, secret: str, purpose: Purpose, now: int) -> Claims:
    """The claims of a valid, unexpired token of ``purpose``; ``BadToken`` otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadToken("malformed token")
    version, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if version != "v1" or not payload or not signature:
        raise BadToken("malformed token")
    expected = hmac.new(_key(secret, purpose), payload.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadToken("malformed token") from None
    if not hmac.compare_digest(expected, given):
        raise BadToken("bad signature")
    try:
        data = json.loads(_unb64(payload))
        claims = Claims(uuid.UUID(data["m"]), str(data["n"]), int(data["exp"]))
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadToken("malformed token") from None
    if claims.expires_at <= now:
        raise BadToken("expired")
    return claims
