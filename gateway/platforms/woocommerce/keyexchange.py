"""WooCommerce's key exchange (``/wc-auth/v1/authorize``): the one-time ``user_id`` we send.

WooCommerce passes ``user_id`` through untouched and POSTs it back with the keys, unsigned
(PLATFORMS.md). Ours is ``{store}.{nonce}.{expires}.{mac}``: the store's URL (base64url), a
random nonce, a Unix expiry and an HMAC-SHA256 of the three keyed by ``TRYON_SECRET_KEY``, so
the callback learns which store the keys must open without a database row, and a forged or
altered id is refused in constant time. The nonce is spent on first use (``NonceStore``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from gateway.errors import Unauthorized
from gateway.settings import GatewaySettings

TTL_S = 3600
"""The merchant may have to sign in to WordPress first: an hour to approve."""
MAX_LENGTH = 512
_PART = re.compile(r"^[A-Za-z0-9_-]{1,400}$")


@dataclass(frozen=True)
class ConnectState:
    store_url: str
    nonce: str
    expires: int


def _mac(settings: GatewaySettings, message: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(key, f"woocommerce-connect:{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_user_id(settings: GatewaySettings, store_url: str, *, now: float) -> str:
    """A fresh one-time ``user_id`` for a connect of ``store_url``."""
    encoded = base64.urlsafe_b64encode(store_url.encode()).decode().rstrip("=")
    message = f"{encoded}.{secrets.token_urlsafe(18)}.{int(now) + TTL_S}"
    return f"{message}.{_mac(settings, message)}"


def open_user_id(settings: GatewaySettings, user_id: object, *, now: float) -> ConnectState:
    """The state a ``user_id`` of ours carries; ``Unauthorized`` when it is not one, was
    altered or has expired (it is not spent here: the caller consumes the nonce)."""
    if not isinstance(user_id, str) or len(user_id) > MAX_LENGTH:
        raise Unauthorized("The key exchange's user_id is not ours")
    parts = user_id.split(".")
    if len(parts) != 4 or not all(_PART.fullmatch(p) for p in parts):
        raise Unauthorized("The key exchange's user_id is not ours")
    encoded, nonce, expires, given = parts
    expected = _mac(settings, f"{encoded}.{nonce}.{expires}")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized("The key exchange's user_id is not ours")
    if not expires.isdigit() or int(expires) < now:
        raise Unauthorized("The key exchange has expired: connect the store again")
    try:
        store_url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("The key exchange's user_id is not ours") from None
    return ConnectState(store_url=store_url, nonce=nonce, expires=int(expires))


def authorize_url(settings: GatewaySettings, store_url: str, *, user_id: str) -> str:
    """Where the merchant's browser goes: the store's ``/wc-auth/v1/authorize`` asking for
    read/write keys (webhooks are written) for this app."""
    public = settings.public_url.rstrip("/")
    query = urlencode(
        {
            "app_name": settings.woocommerce_app_name,
            "scope": "read_write",
            "user_id": user_id,
            "return_url": f"{public}/platforms/woocommerce/connected",
            "callback_url": f"{public}/platforms/woocommerce/callback",
        }
    )
    return f"{store_url}/wc-auth/v1/authorize?{query}"
