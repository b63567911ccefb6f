"""The web pixel's second attribution signal: evidence for an order, never a purchase.

The order webhook is the source of truth (it is signed by Shopify; the pixel's post comes
from a shopper's browser and can be forged by anyone holding the shop's public ``pk_`` key).
So a pixel post only records which try-on session ids the checkout carried, keyed by
(store, order id); ``enrich`` fills the ids an order webhook lacks from that evidence before
the purchase is built. Whatever the order of arrival an order is one purchase: the pixel never
emits one, and the purchase's event id is ``uuid5(merchant, order id)`` anyway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.errors import BadRequest
from gateway.orders.schemas import OrderIn
from gateway.platforms.shopify.adapter import (
    CART_SESSION,
    LINE_SESSION,
    legacy_id,
    properties_of,
    session_id,
)
from gateway.platforms.shopify.models import PixelEvidence
from gateway.stores.models import Store

MAX_BODY_BYTES = 64 * 1024
MAX_LINES = 500


@dataclass(frozen=True)
class Checkout:
    """A ``checkout_completed`` post, read and bounded."""

    shop: str
    key: str
    order_id: str
    widget_session_id: str | None
    line_sessions: dict[str, str]


def read_checkout(body: bytes, *, key: str | None = None) -> Checkout:
    """Parse the pixel's body (docs/platforms/shopify.md); ``BadRequest`` for anything else.

    The key comes as ``Authorization: Bearer pk_...`` (``key``) or as the body's ``key``;
    lines as ``lines`` or ``line_items``.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The body is not a JSON object")
    shop, key = data.get("shop"), key or data.get("key")
    order_id = legacy_id(data.get("order_id"))
    if not isinstance(shop, str) or not isinstance(key, str) or not key or len(key) > 128:
        raise BadRequest("The body needs 'shop', and a key ('Authorization: Bearer pk_...')")
    if order_id is None or len(order_id) > 64:
        raise BadRequest("The body needs a Shopify 'order_id'")
    attributes = properties_of(data.get("attributes"))
    lines = data.get("lines", data.get("line_items", []))
    if not isinstance(lines, list) or len(lines) > MAX_LINES:
        raise BadRequest(f"'lines' is a list of at most {MAX_LINES}")
    sessions: dict[str, str] = {}
    for line in lines:
        if not isinstance(line, Mapping):
            raise BadRequest("Each line item is an object")
        tryon = session_id(properties_of(line.get("properties")).get(LINE_SESSION))
        if tryon is None:
            continue
        if (variant := legacy_id(line.get("variant_id"))) is not None:
            sessions.setdefault(f"v:{variant}", tryon)
        if (product := legacy_id(line.get("product_id"))) is not None:
            sessions.setdefault(f"p:{product}", tryon)
    return Checkout(
        shop=shop.strip().lower(),
        key=key,
        order_id=order_id,
        widget_session_id=session_id(attributes.get(CART_SESSION)),
        line_sessions=sessions,
    )


def record(*, session: Session, store: Store, checkout: Checkout, now: datetime) -> bool:
    """Keep the checkout's ids for its order; True when it added something new.

    Ids already known are kept (the first post wins, like the warehouse); the caller commits.
    """
    evidence = _find(session, store, checkout.order_id)
    if evidence is None:
        evidence = PixelEvidence(
            merchant_id=store.merchant_id,
            store_id=store.id,
            order_id=checkout.order_id,
            widget_session_id=checkout.widget_session_id,
            line_sessions=dict(checkout.line_sessions),
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(evidence)
        except IntegrityError:  # the same order posted twice at once: merge into the winner
            found = _find(session, store, checkout.order_id)
            if found is None:
                raise
            return _merge(found, checkout)
        return True
    return _merge(evidence, checkout)


def _merge(evidence: PixelEvidence, checkout: Checkout) -> bool:
    changed = False
    if evidence.widget_session_id is None and checkout.widget_session_id is not None:
        evidence.widget_session_id = checkout.widget_session_id
        changed = True
    merged: dict[str, Any] = dict(evidence.line_sessions or {})
    for key, value in checkout.line_sessions.items():
        if key not in merged:
            merged[key] = value
            changed = True
    evidence.line_sessions = merged
    return changed


def _find(session: Session, store: Store, order_id: str) -> PixelEvidence | None:
    return session.scalar(
        select(PixelEvidence).where(
            PixelEvidence.store_id == store.id, PixelEvidence.order_id == order_id
        )
    )


def enrich(*, session: Session, store: Store, order: OrderIn, now: datetime) -> OrderIn:
    """``order`` with the ids it lacks taken from the pixel's evidence for it.

    Ids the order webhook carries always win. Marks the evidence consumed; the caller
    commits. Call it where a Shopify order becomes a purchase (the core's order handler).
    """
    evidence = _find(session, store, order.order_id)
    if evidence is None:
        return order
    evidence.consumed_at = evidence.consumed_at or now
    sessions: Mapping[str, Any] = evidence.line_sessions or {}
    lines = [
        line
        if line.tryon_session_id is not None
        else line.model_copy(
            update={
                "tryon_session_id": sessions.get(f"v:{line.variant_id}")
                or sessions.get(f"p:{line.product_id}")
            }
        )
        for line in order.lines
    ]
    return order.model_copy(
        update={
            "widget_session_id": order.widget_session_id or evidence.widget_session_id,
            "lines": lines,
        }
    )


def erase(*, session: Session, store_id: uuid.UUID, order_ids: Sequence[str] | None = None) -> int:
    """Delete the store's evidence (``shop/redact``), or only these orders' (``customers/redact``);
    how many rows went. The caller commits."""
    query = delete(PixelEvidence).where(PixelEvidence.store_id == store_id)
    if order_ids is not None:
        query = query.where(PixelEvidence.order_id.in_([str(o) for o in order_ids]))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
