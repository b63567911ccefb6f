"""Create and look up merchants. A merchant's first keys come from
``gateway.keys.service.create_merchant``: keys belong to merchants, never the other way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.merchants.models import Merchant


def create(*, session: Session, name: str) -> Merchant:
    """Create a merchant (no keys yet); ``ValueError`` when the name is blank."""
    name = name.strip()
    if not name:
        raise ValueError("a merchant needs a name")
    merchant = Merchant(name=name)
    session.add(merchant)
    session.flush()
    return merchant
