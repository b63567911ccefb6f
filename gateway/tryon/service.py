"""Try-on bookkeeping around the ML call: what to render, quota, counters. No image here.

``begin`` runs before any work (product, variant, asset, session, quota) and reserves the
try-on against the monthly quota (committed at once); ``finish`` after the work succeeded
(usage and session counters); ``release`` gives the reservation back when it failed. All take
the request's database session. The product comes through the read cache; the quota is
reserved in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.errors import NotFound
from gateway.keys.service import Principal
from gateway.limits import quota
from gateway.readcache import ReadCache
from gateway.sessions import service as sessions
from gateway.usage import service as usage
from gateway.widget import reads as widget_reads
from ml_service.engine import SizeOption


@dataclass(frozen=True, slots=True)
class TryOnPlan:
    merchant_id: uuid.UUID
    product_id: uuid.UUID
    category: str
    asset_hash: str
    size_options: tuple[SizeOption, ...]
    session_id: uuid.UUID | None
    reservation: quota.Reservation | None = None
    """The try-on taken from the quota (None where the call only checked it)."""


class SizedVariant(Protocol):
    """What a size recommendation needs of a variant (a row or a cached view)."""

    @property
    def external_id(self) -> str: ...
    @property
    def color(self) -> str | None: ...
    @property
    def size(self) -> str | None: ...
    @property
    def measurements(self) -> Mapping[str, Any]: ...


def begin(
    *,
    session: Session,
    reads: ReadCache,
    principal: Principal,
    product_ref: str,
    variant_ref: str | None,
    session_ref: str | None,
    now: datetime,
    reserve_quota: bool = True,
) -> TryOnPlan:
    """Everything a try-on needs to know, checked before any image work starts; with
    ``reserve_quota``, the try-on is taken from the quota (commits ``session``), otherwise
    a quota left is only checked."""
    product = widget_reads.product(
        session=session, reads=reads, merchant_id=principal.merchant_id, ref=product_ref
    )
    variant = product.variant(variant_ref)
    asset = product.asset_for(variant)
    if asset is None:
        raise NotFound("This product has no try-on asset yet", reason="no-asset")
    session_id = None
    if session_ref is not None:
        session_id = sessions.get(
            session=session, merchant_id=principal.merchant_id, session_id=session_ref
        ).id
    options = size_options(product.variants, chosen=variant)
    reservation = None
    if reserve_quota:
        reservation = quota.reserve(
            session=session,
            merchant_id=principal.merchant_id,
            limit=principal.monthly_tryon_quota,
            now=now,
        )
    else:
        quota.check(
            session=session,
            merchant_id=principal.merchant_id,
            limit=principal.monthly_tryon_quota,
            now=now,
        )
    return TryOnPlan(
        merchant_id=principal.merchant_id,
        product_id=product.id,
        category=product.category.value,
        asset_hash=asset.content_hash,
        size_options=options,
        session_id=session_id,
        reservation=reservation,
    )


def size_options(
    variants: Sequence[SizedVariant], *, chosen: SizedVariant | None
) -> tuple[SizeOption, ...]:
    """The sizes a recommendation may choose among (pure): variants that have a size and
    measurements, in the chosen variant's colour (without one, the first variant's: the one
    the widget shows first). Variants that differ only by colour are not sizes: a product
    sold in black and gold, one size, gets no size advice.

    Options carry the variants' external ids, as every reference the widget API returns."""
    reference = chosen if chosen is not None else (variants[0] if variants else None)
    colour = _colour(reference.color) if reference is not None else None
    return tuple(
        SizeOption(variant_id=v.external_id, size=v.size, measurements=dict(v.measurements))
        for v in variants
        if v.size and v.measurements and _colour(v.color) == colour
    )


def _colour(value: str | None) -> str | None:
    return value.strip().casefold() or None if value else None


def release(*, session: Session, plan: TryOnPlan) -> None:
    """Give the plan's quota reservation back: its try-on failed (commits ``session``)."""
    if plan.reservation is not None:
        quota.release(session=session, reservation=plan.reservation)


def finish(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    session_id: uuid.UUID | None,
    metric: usage.Metric,
    now: datetime,
    count: int = 1,
    renders: int = 1,
) -> None:
    """Count a successful try-on (usage, quota, the session's renders)."""
    usage.record(session=session, merchant_id=merchant_id, metric=metric, now=now, count=count)
    if session_id is not None and renders:
        sessions.count_renders(session=session, session_id=session_id, renders=renders, now=now)
