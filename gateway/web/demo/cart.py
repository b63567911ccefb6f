"""The demo cart, kept in a signed cookie (no table: the demo store owns no data of its own).

Each line keeps the try-on session id the widget reported with ``add_to_cart``, the way a
real store keeps it as a cart attribute or line item property to attribute the order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

COOKIE = "tryon_demo_cart"
MAX_LINES = 20


@dataclass(frozen=True, slots=True)
class Line:
    product: str
    variant: str
    tryon_session: str | None = None


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"demo-cart:" + payload, hashlib.sha256).hexdigest()[:32]


def dump(lines: list[Line], secret: bytes) -> str:
    payload = base64.urlsafe_b64encode(
        json.dumps([asdict(x) for x in lines[-MAX_LINES:]], separators=(",", ":")).encode()
    )
    return f"{payload.decode()}.{_sign(secret, payload)}"


def load(cookie: str | None, secret: bytes) -> list[Line]:
    """The cart in ``cookie``; an empty cart when absent, tampered with or malformed."""
    if not cookie or "." not in cookie or len(cookie) > 4096:
        return []
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return []
    try:
        raw = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return [
            Line(
                product=str(x["product"]),
                variant=str(x["variant"]),
                tryon_session=str(x["tryon_session"]) if x.get("tryon_session") else None,
            )
            for x in raw[:MAX_LINES]
        ]
    except (ValueError, TypeError, KeyError):
        return []
