"""Create and look up merchants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.merchants.models import Merchant


@dataclass(frozen=True, slots=True)
class NewMerchant:
    merchant: Merchant
    publishable_key: str
    secret_key: str


def create(*, session: Session, name: str, allowed_origins: list[str] | None = None) -> NewMerchant:
    """Create a merchant with one publishable and one secret key (raw keys returned once)."""
    name = name.strip()
    if not name:
        raise ValueError("a merchant needs a name")
    merchant = Merchant(name=name)
    session.add(merchant)
    session.flush()
    _, pk = keys.create(
        session=session,
        merchant_id=merchant.id,
        kind=KeyKind.PUBLISHABLE,
        allowed_origins=allowed_origins,
    )
    _, sk = keys.create(session=session, merchant_id=merchant.id, kind=KeyKind.SECRET)
    return NewMerchant(merchant=merchant, publishable_key=pk, secret_key=sk)
