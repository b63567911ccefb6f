"""The demo cart, kept in a signed cookie (no table: the demo store owns no data of its own).

It keeps what a real store keeps to attribute its orders (docs/attribution.md): each line the
try-on session id the widget reported with ``add_to_cart`` (the ``_tryon_session`` line item
property), and the cart the widget session id (the ``_tryon_widget_session`` cart attribute).
The cart's random ``id`` becomes the order number, so placing the same cart twice (a double
click, a resent form) is one order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field

COOKIE = "tryon_demo_cart"
MAX_LINES = 20
MAX_COOKIE = 4096
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
"""The analytics schema's session ids (``analytics.schema.SessionId``)."""
_CART_ID = re.compile(r"^[A-Z0-9]{10}$")


@dataclass(frozen=True, slots=True)
class Line:
    product: str
    variant: str
    tryon_session: str | None = None


def new_id() -> str:
    return secrets.token_hex(5).upper()


@dataclass(slots=True)
class Cart:
    id: str = field(default_factory=new_id)
    widget_session: str | None = None
    lines: list[Line] = field(default_factory=list)

    @property
    def order_id(self) -> str:
        return f"DEMO-{self.id}"


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"demo-cart:" + payload, hashlib.sha256).hexdigest()[:32]


def dump(cart: Cart, secret: bytes) -> str:
    # Short keys and lines as arrays: 20 lines with the longest session ids stay far under
    # the 4 KB browsers allow a cookie.
    data = {
        "id": cart.id,
        "ws": cart.widget_session,
        "l": [[x.product, x.variant, x.tryon_session] for x in cart.lines[-MAX_LINES:]],
    }
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return f"{payload.decode()}.{_sign(secret, payload)}"


def _session(value: object) -> str | None:
    return value if isinstance(value, str) and SESSION_ID.match(value) else None


def load(cookie: str | None, secret: bytes) -> Cart:
    """The cart in ``cookie``; a new empty cart when absent, tampered with or malformed."""
    if not cookie or "." not in cookie or len(cookie) > MAX_COOKIE:
        return Cart()
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return Cart()
    try:
        raw = json.loads(base64.urlsafe_b64decode(payload.encode()))
        cart_id = raw["id"]
        return Cart(
            id=cart_id if isinstance(cart_id, str) and _CART_ID.match(cart_id) else new_id(),
            widget_session=_session(raw.get("ws")),
            lines=[
                Line(product=str(product), variant=str(variant), tryon_session=_session(session))
                for product, variant, session in raw["l"][:MAX_LINES]
            ],
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return Cart()
