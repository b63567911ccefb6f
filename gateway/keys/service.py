"""Issue, authenticate and revoke API keys. Keys are random; only their SHA-256 is kept."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.errors import InvalidApiKey, NotFound
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants.models import Merchant, MerchantStatus

_ALPHABET = string.ascii_letters + string.digits
_BODY_LENGTH = 32  # 62**32 ~ 2**190
PREFIXES = {KeyKind.PUBLISHABLE: "pk_", KeyKind.SECRET: "sk_"}
KEY_PATTERN = re.compile(r"^(pk|sk)_[A-Za-z0-9]{32}$")

SECRET_SCOPES = ("products:read", "products:write", "keys:write", "usage:read")
PUBLISHABLE_SCOPES = ("widget",)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the merchant and the key it used."""

    merchant_id: uuid.UUID
    key_id: uuid.UUID
    kind: KeyKind
    scopes: frozenset[str]
    allowed_origins: tuple[str, ...]


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate(kind: KeyKind) -> str:
    return PREFIXES[kind] + "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))


def create(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    kind: KeyKind,
    name: str = "default",
    allowed_origins: list[str] | None = None,
    scopes: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never retrievable again."""
    raw = generate(kind)
    default_scopes = SECRET_SCOPES if kind is KeyKind.SECRET else PUBLISHABLE_SCOPES
    key = ApiKey(
        merchant_id=merchant_id,
        kind=kind,
        key_hash=hash_key(raw),
        display_prefix=raw[:7],
        name=name,
        scopes=list(scopes if scopes is not None else default_scopes),
        allowed_origins=list(allowed_origins or []),
    )
    session.add(key)
    session.flush()
    return key, raw


def authenticate(*, session: Session, raw_key: str, now: datetime | None = None) -> Principal:
    """The principal behind ``raw_key``; ``InvalidApiKey`` if malformed, unknown or revoked."""
    if not KEY_PATTERN.match(raw_key):
        raise InvalidApiKey("The API key is malformed")
    now = now or utcnow()
    row = session.execute(
        select(ApiKey, Merchant.status)
        .join(Merchant, Merchant.id == ApiKey.merchant_id)
        .where(ApiKey.key_hash == hash_key(raw_key))
    ).one_or_none()
    if row is None:
        raise InvalidApiKey("The API key is not valid")
    key, merchant_status = row
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise InvalidApiKey("The API key has been revoked")
    if merchant_status is not MerchantStatus.ACTIVE:
        raise InvalidApiKey("The merchant account is suspended")
    return Principal(
        merchant_id=key.merchant_id,
        key_id=key.id,
        kind=key.kind,
        scopes=frozenset(key.scopes),
        allowed_origins=tuple(key.allowed_origins),
    )


def revoke(*, session: Session, merchant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the merchant's keys (idempotent)."""
    key = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.merchant_id == merchant_id)
    )
    if key is None:
        raise NotFound("No such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
