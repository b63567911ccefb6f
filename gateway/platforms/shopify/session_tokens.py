"""Session tokens: the JWT Shopify admin gives an embedded page for each of its API calls.

HS256 signed with the app secret, about a minute of life; ``aud`` is our client id, ``iss``
``https://{shop}/admin`` and ``dest`` ``https://{shop}`` (PLATFORMS.md). Only HS256 is
accepted (``alg: none``, HS512 and RS256 tokens are refused), with a small clock leeway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

from gateway.platforms.shopify.oauth import is_shop_domain

ALGORITHMS = ["HS256"]
LEEWAY_S = 10
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ["iss", "dest", "aud", "sub", "exp", "nbf", "iat"]


class InvalidSessionToken(ValueError):
    """A token that is missing, malformed, forged, expired or not for us."""


@dataclass(frozen=True)
class SessionToken:
    shop: str
    user: str
    """``sub``: the Shopify staff member's id."""
    raw: str
    """The token itself, for the token exchange."""
    session_id: str | None = None


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSessionToken("Send the session token as 'Authorization: Bearer <token>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSessionToken("The session token is too long")
    return token


def _shop_of(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or parts.port is not None or not is_shop_domain(host):
        return None
    return host.lower()


def decode(token: str, *, api_key: str, secret: str, now: float | None = None) -> SessionToken:
    """The verified claims of ``token``; ``InvalidSessionToken`` for any failed check."""
    if not api_key or not secret:
        raise InvalidSessionToken("The Shopify app is not configured")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(f"The session token is malformed ({exc})") from None
    if header.get("alg") not in ALGORITHMS:
        raise InvalidSessionToken("The session token must be signed with HS256")
    try:
        # exp and nbf are checked below against ``now`` (injectable for tests), with the leeway.
        claims = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            audience=api_key,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(f"The session token is not valid ({exc})") from None
    _check_times(claims, time.time() if now is None else now)
    shop = _shop_of(claims.get("dest"))
    issuer = claims.get("iss")
    if shop is None or not isinstance(issuer, str) or _shop_of(issuer) != shop:
        raise InvalidSessionToken("The session token's issuer and destination do not match")
    if urlsplit(issuer).path.rstrip("/") != "/admin":
        raise InvalidSessionToken("The session token's issuer is not a shop's admin")
    sid = claims.get("sid")
    return SessionToken(
        shop=shop,
        user=str(claims.get("sub")),
        raw=token,
        session_id=sid if isinstance(sid, str) else None,
    )


def _check_times(claims: dict[str, object], now: float) -> None:
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (exp, nbf, iat)):
        raise InvalidSessionToken("The session token's times are not numbers")
    assert isinstance(exp, int)
    assert isinstance(nbf, int)
    assert isinstance(iat, int)
    if exp <= now - LEEWAY_S:
        raise InvalidSessionToken("The session token has expired")
    if nbf > now + LEEWAY_S or iat > now + LEEWAY_S:
        raise InvalidSessionToken("The session token is not valid yet")
