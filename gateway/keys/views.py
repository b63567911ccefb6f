"""Merchant API: API keys (create, list, change origins, rotate, revoke)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Response, status

from gateway.api.deps import SessionDep
from gateway.keys import service
from gateway.keys.deps import KeysWrite
from gateway.keys.models import KeyKind
from gateway.keys.schemas import (
    KeyIn,
    KeyList,
    KeyOut,
    KeyPatch,
    NewKeyOut,
    PublishableKeyIn,
    RotatedKeyOut,
    RotateIn,
)

router = APIRouter(prefix="/v1/keys", tags=["merchant: keys"])


@router.get("", response_model=KeyList, summary="List the merchant's keys")
def list_keys(principal: KeysWrite, session: SessionDep) -> KeyList:
    rows = service.list_keys(session=session, merchant_id=principal.merchant_id)
    return KeyList(data=[KeyOut.model_validate(k) for k in rows])


@router.post(
    "",
    response_model=NewKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a key (the key is in this response only)",
)
def create_key(principal: KeysWrite, session: SessionDep, body: KeyIn) -> NewKeyOut:
    scopes: list[str] | None = list(body.scopes) if body.scopes is not None else None
    if scopes is None and body.kind is KeyKind.SECRET:
        # Omitted: every secret scope the creating key holds, never more (no escalation).
        scopes = [s for s in service.SECRET_SCOPES if s in principal.scopes]
    if scopes is not None:
        service.check_scopes(kind=body.kind, scopes=scopes, granted_by=principal.scopes)
    # A secret key's body has no allowed_origins (the schema refuses one: 422).
    origins = body.allowed_origins if isinstance(body, PublishableKeyIn) else []
    key, raw = service.create(
        session=session,
        merchant_id=principal.merchant_id,
        kind=body.kind,
        name=body.name,
        allowed_origins=list(dict.fromkeys(origins)),
        scopes=scopes,
    )
    return NewKeyOut.model_validate({**KeyOut.model_validate(key).model_dump(), "key": raw})


@router.get("/{key_id}", response_model=KeyOut, summary="Get a key (never the key itself)")
def get_key(principal: KeysWrite, session: SessionDep, key_id: uuid.UUID) -> KeyOut:
    key = service.get(session=session, merchant_id=principal.merchant_id, key_id=key_id)
    return KeyOut.model_validate(key)


@router.patch("/{key_id}", response_model=KeyOut, summary="Rename a key or set its origins")
def update_key(
    principal: KeysWrite, session: SessionDep, key_id: uuid.UUID, body: KeyPatch
) -> KeyOut:
    key = service.update(
        session=session,
        merchant_id=principal.merchant_id,
        key_id=key_id,
        name=body.name,
        allowed_origins=(
            list(dict.fromkeys(body.allowed_origins)) if body.allowed_origins is not None else None
        ),
    )
    return KeyOut.model_validate(key)


@router.post(
    "/{key_id}/rotate",
    response_model=RotatedKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Replace a key; the old one keeps working for the grace period",
)
def rotate_key(
    principal: KeysWrite, session: SessionDep, key_id: uuid.UUID, body: RotateIn
) -> RotatedKeyOut:
    new, raw = service.rotate(
        session=session,
        merchant_id=principal.merchant_id,
        key_id=key_id,
        grace=timedelta(seconds=body.grace_period_s),
        granted_by=principal.scopes,
    )
    old = service.get(session=session, merchant_id=principal.merchant_id, key_id=key_id)
    return RotatedKeyOut(
        new=NewKeyOut.model_validate({**KeyOut.model_validate(new).model_dump(), "key": raw}),
        old=KeyOut.model_validate(old),
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a key")
def revoke_key(principal: KeysWrite, session: SessionDep, key_id: uuid.UUID) -> Response:
    service.revoke(session=session, merchant_id=principal.merchant_id, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
