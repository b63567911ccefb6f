"""Merchant API for store connections (secret keys): ``/v1/stores``.

``GET /v1/stores`` and ``GET /v1/stores/{id}`` give each installation with its sync state
(what the dashboard and the platforms' embedded admin pages show); ``POST .../sync`` queues
a full sync; ``GET``/``PUT .../category-rules`` read and replace the category mapping.
The router's lifespan runs the embedded job worker.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from gateway.api.deps import ProductsRead, ProductsWrite, SessionDep
from gateway.db.base import utcnow
from gateway.errors import Conflict
from gateway.platforms import dashboard, installs, jobs, mapping, worker
from gateway.platforms.context import worker_lifespan
from gateway.platforms.models import JobKind
from gateway.platforms.schemas import (
    RuleList,
    RuleOut,
    RulesIn,
    StoreList,
    StoreOut,
    SyncQueued,
    store_out,
)
from gateway.stores.models import StoreStatus, SyncStatus

router = APIRouter(tags=["merchant: stores"], lifespan=worker_lifespan)
router.include_router(dashboard.router)

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or invalid secret key (problem+json)"},
    403: {"description": "Wrong key type or scope (problem+json)"},
    404: {"description": "No such store of this merchant (problem+json)"},
}


@router.get("/v1/stores", response_model=StoreList, summary="The merchant's store connections")
def list_stores(principal: ProductsRead, session: SessionDep) -> StoreList:
    rows = installs.list_stores(session=session, merchant_id=principal.merchant_id)
    return StoreList(data=[store_out(s) for s in rows])


@router.get(
    "/v1/stores/{store_id}",
    response_model=StoreOut,
    summary="One store connection and its sync state",
    responses=_ERRORS,
)
def get_store(principal: ProductsRead, session: SessionDep, store_id: uuid.UUID) -> StoreOut:
    return store_out(
        installs.get_store(session=session, store_id=store_id, merchant_id=principal.merchant_id)
    )


@router.post(
    "/v1/stores/{store_id}/sync",
    response_model=SyncQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a full catalog sync",
    responses={**_ERRORS, 409: {"description": "The store is not installed (problem+json)"}},
)
def queue_sync(principal: ProductsWrite, session: SessionDep, store_id: uuid.UUID) -> SyncQueued:
    store = installs.get_store(
        session=session, store_id=store_id, merchant_id=principal.merchant_id
    )
    if store.status is not StoreStatus.ACTIVE:
        raise Conflict("The store is not installed")
    queue_store_sync(session=session, store_id=store.id)
    store.sync_status = SyncStatus.QUEUED
    session.commit()
    worker.wake()
    return SyncQueued(store_id=store.id, status=store.sync_status)


def queue_store_sync(*, session: SessionDep, store_id: uuid.UUID) -> None:
    """Queue one full sync of the store (one queued at a time: a second request joins it)."""
    jobs.enqueue(
        session=session,
        kind=JobKind.SYNC_STORE,
        store_id=store_id,
        dedupe_key=None,
        now=utcnow(),
    )


@router.get(
    "/v1/stores/{store_id}/category-rules",
    response_model=RuleList,
    summary="The store's category mapping",
    responses=_ERRORS,
)
def list_rules(principal: ProductsRead, session: SessionDep, store_id: uuid.UUID) -> RuleList:
    store = installs.get_store(
        session=session, store_id=store_id, merchant_id=principal.merchant_id
    )
    return RuleList(
        data=[
            RuleOut.model_validate(r, from_attributes=True)
            for r in mapping.rules_of(session=session, store_id=store.id)
        ]
    )


@router.put(
    "/v1/stores/{store_id}/category-rules",
    response_model=RuleList,
    summary="Replace the store's category mapping (products matching none are not imported)",
    responses={
        **_ERRORS,
        409: {"description": "The same field and value twice (problem+json)"},
        422: {"description": "Invalid rule (problem+json)"},
    },
)
def replace_rules(
    principal: ProductsWrite, session: SessionDep, store_id: uuid.UUID, body: RulesIn
) -> RuleList:
    store = installs.get_store(
        session=session, store_id=store_id, merchant_id=principal.merchant_id
    )
    rows = mapping.replace_rules(
        session=session,
        store=store,
        rules=[(r.field.value, r.value, r.category.value) for r in body.rules],
    )
    return RuleList(data=[RuleOut.model_validate(r, from_attributes=True) for r in rows])
