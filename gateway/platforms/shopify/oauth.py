"""Shopify's install handshake as pure functions: shop names, query HMACs, the state cookie.

Shopify opens the app URL with ``shop``, ``timestamp`` and ``hmac``; we answer with a redirect
to the shop's authorize page carrying a one-time ``state`` that we also keep in a signed
cookie; Shopify comes back to the callback with ``code``, ``shop``, ``state``, ``timestamp``,
``host`` and ``hmac``. Everything here is checked before any I/O (PLATFORMS.md, "Shopify").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

SHOP_PATTERN = re.compile(r"\A[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com\Z")
MAX_SHOP_LENGTH = 255
TIMESTAMP_TOLERANCE_S = 90
"""How far ``timestamp`` may be from now, in either direction (the JS library's 90 s)."""
STATE_TTL_S = 10 * 60
STATE_COOKIE = "tryon_shopify_state"
_STATE_PURPOSE = b"shopify-oauth-state"
_LINK_PURPOSE = b"shopify-install-link"
LINK_TTL_S = 30 * 60


class InvalidInstallRequest(ValueError):
    """A query or cookie that fails a check; the message is safe to show the merchant."""


def is_shop_domain(shop: str) -> bool:
    """Whether ``shop`` is exactly ``<name>.myshopify.com`` (ASCII, anchored, bounded)."""
    return len(shop) <= MAX_SHOP_LENGTH and SHOP_PATTERN.match(shop) is not None


def checked_shop(shop: str | None) -> str:
    """``shop`` lower-cased when it is a valid shop domain; ``InvalidInstallRequest`` if not."""
    if not shop or not is_shop_domain(shop):
        raise InvalidInstallRequest("The shop must be a <name>.myshopify.com domain")
    return shop.lower()


def hmac_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs: pairs but ``hmac`` (and ``signature``), sorted, ``k=v&k=v``.

    Values are the decoded ones; a key given several times (``ids[]=1&ids[]=2``) is joined the
    way Shopify's libraries do: ``ids=["1", "2"]``.
    """
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in {"hmac", "signature"}:
            continue
        grouped.setdefault(key, []).append(value)
    parts = []
    for key, values in grouped.items():
        if len(values) == 1 and not key.endswith("[]"):
            name, value = key, values[0]
        else:
            name, value = key.removesuffix("[]"), json.dumps(values)
        # Delimiters inside keys and values are escaped, so no value can forge a pair.
        name = name.replace("%", "%25").replace("=", "%3D")
        value = value.replace("%", "%25")
        parts.append(f"{name}={value}".replace("&", "%26"))
    return "&".join(sorted(parts))


def query_hmac(pairs: Iterable[tuple[str, str]], *, secret: str) -> str:
    """The hex HMAC-SHA256 of ``pairs`` as Shopify computes it for installs and callbacks."""
    message = hmac_message(pairs).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_query(pairs: Sequence[tuple[str, str]], *, secret: str, now: int) -> dict[str, str]:
    """The query as a dict when its ``hmac`` is right and its ``timestamp`` fresh.

    Every key must appear once (a repeated ``shop`` could mean two different shops to two
    readers); ``InvalidInstallRequest`` otherwise.
    """
    query: dict[str, str] = {}
    for key, value in pairs:
        if key in query:
            raise InvalidInstallRequest(f"The parameter {key!r} is given more than once")
        query[key] = value
    given = query.get("hmac", "")
    if not given or not secret:
        raise InvalidInstallRequest("The request is not signed by Shopify")
    expected = query_hmac(pairs, secret=secret)
    if not hmac.compare_digest(expected.encode(), given.lower().encode("ascii", "replace")):
        raise InvalidInstallRequest("The request's signature is wrong")
    timestamp = query.get("timestamp", "")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidInstallRequest("The request has no valid timestamp")
    if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE_S:
        raise InvalidInstallRequest("The request has expired; start the install again")
    return query


def authorize_url(*, shop: str, api_key: str, scopes: str, redirect_uri: str, state: str) -> str:
    """Shopify's authorize page for an offline token (no ``grant_options[]=per-user``)."""
    query = urlencode(
        {"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state}
    )
    return f"https://{shop}/admin/oauth/authorize?{query}"


def granted_scopes(granted: str) -> frozenset[str]:
    """Scopes as Shopify reports them; ``write_x`` implies ``read_x``."""
    scopes = {s.strip() for s in granted.split(",") if s.strip()}
    implied = {"read_" + s.removeprefix("write_") for s in scopes if s.startswith("write_")}
    implied |= {
        "read_" + s.removeprefix("unauthenticated_write_")
        for s in scopes
        if s.startswith("unauthenticated_write_")
    }
    return frozenset(scopes | implied)


def missing_scopes(*, requested: str, granted: str) -> list[str]:
    """The requested scopes the grant lacks, sorted (empty when everything was granted)."""
    have = granted_scopes(granted)
    wanted = {s.strip() for s in requested.split(",") if s.strip()}
    return sorted(wanted - have)


# -- the state cookie -----------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the install remembers until the callback: the nonce and who asked."""

    nonce: str
    shop: str
    expires_at: int
    merchant_id: uuid.UUID | None = None


def new_state(*, shop: str, now: int, merchant_id: uuid.UUID | None = None) -> State:
    return State(secrets.token_urlsafe(24), shop, now + STATE_TTL_S, merchant_id)


def _key(secret: str, purpose: bytes = _STATE_PURPOSE) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_state(state: State, *, secret: str) -> str:
    """The cookie value: base64url JSON and its HMAC under a key only cookies use."""
    payload = _b64(
        json.dumps(
            {
                "n": state.nonce,
                "s": state.shop,
                "e": state.expires_at,
                "m": str(state.merchant_id) if state.merchant_id else None,
            },
            separators=(",", ":"),
        ).encode()
    )
    signature = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def open_state(cookie: str | None, *, secret: str, now: int) -> State:
    """The unexpired state in a cookie we sealed; ``InvalidInstallRequest`` if not."""
    if not cookie:
        raise InvalidInstallRequest(
            "The install session is missing (cookies blocked, or the install was started in "
            "another browser); start the install again from Shopify"
        )
    payload, _, signature = cookie.partition(".")
    if len(cookie) > 1024 or not payload or not signature:
        raise InvalidInstallRequest("The install session is not valid")
    expected = _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
        raise InvalidInstallRequest("The install session is not valid")
    try:
        data: Mapping[str, object] = json.loads(_unb64(payload))
        merchant = data.get("m")
        state = State(
            nonce=str(data["n"]),
            shop=str(data["s"]),
            expires_at=int(str(data["e"])),
            merchant_id=uuid.UUID(str(merchant)) if merchant else None,
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInstallRequest("The install session is not valid") from None
    if state.expires_at < now:
        raise InvalidInstallRequest("The install session has expired; start the install again")
    return state


# -- installs started from our dashboard ------------------------------------------------


def seal_link(
    merchant_id: uuid.UUID, *, shop: str, secret: str, now: int, ttl_s: int = LINK_TTL_S
) -> str:
    """A token for ``/platforms/shopify/install?shop=..&link=..``: binds the install of this
    shop to a merchant of ours (the dashboard hands it out to a signed-in merchant)."""
    body = {"m": str(merchant_id), "s": checked_shop(shop), "e": now + ttl_s}
    payload = _b64(json.dumps(body).encode())
    signature = _b64(
        hmac.new(_key(secret, _LINK_PURPOSE), payload.encode(), hashlib.sha256).digest()
    )
    return f"{payload}.{signature}"


def open_link(token: str, *, shop: str, secret: str, now: int) -> uuid.UUID:
    """The merchant of a link we sealed for ``shop`` that has not expired;
    ``InvalidInstallRequest`` if not."""
    payload, _, signature = token.partition(".")
    expected = _b64(
        hmac.new(_key(secret, _LINK_PURPOSE), payload.encode(), hashlib.sha256).digest()
    )
    if len(token) > 512 or not hmac.compare_digest(
        expected.encode(), signature.encode("ascii", "replace")
    ):
        raise InvalidInstallRequest("The install link is not valid")
    try:
        data = json.loads(_unb64(payload))
        merchant, linked, expires_at = uuid.UUID(str(data["m"])), str(data["s"]), int(data["e"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInstallRequest("The install link is not valid") from None
    if expires_at < now:
        raise InvalidInstallRequest("The install link has expired; ask for a new one")
    if linked != shop.lower():
        raise InvalidInstallRequest("The install link is for another shop")
    return merchant
