"""Issue, authenticate and revoke API keys. Keys are random; only their SHA-256 is kept."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from sqlalchemy import or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.errors import (
    Conflict,
    InsufficientScope,
    InvalidApiKey,
    InvalidInput,
    NotFound,
)
from gateway.keys.models import ApiKey, KeyKind
from gateway.keys.schemas import PublishableScope, SecretScope
from gateway.merchants import service as merchants
from gateway.merchants.models import Merchant, MerchantStatus

_ALPHABET = string.ascii_letters + string.digits
_BODY_LENGTH = 32  # 62**32 ~ 2**190
PREFIXES = {KeyKind.PUBLISHABLE: "pk_", KeyKind.SECRET: "sk_"}
KEY_PATTERN = re.compile(r"^(pk|sk)_[A-Za-z0-9]{32}$")

SECRET_SCOPES: tuple[str, ...] = get_args(SecretScope)
PUBLISHABLE_SCOPES: tuple[str, ...] = get_args(PublishableScope)
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the merchant and the key it used."""

    merchant_id: uuid.UUID
    key_id: uuid.UUID
    kind: KeyKind
    scopes: frozenset[str]
    allowed_origins: tuple[str, ...]
    monthly_tryon_quota: int = 0
    """The merchant's quota, read with the key (widget calls check it on every try-on)."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key as stored, with its merchant's state: what authenticating it needs, whenever
    (``principal_of`` checks it against a time). Cached by widget calls (never the key)."""

    merchant_id: uuid.UUID
    key_id: uuid.UUID
    kind: KeyKind
    scopes: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    revoked_at: datetime | None
    expires_at: datetime | None
    merchant_active: bool
    monthly_tryon_quota: int


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


@dataclass(frozen=True, slots=True)
class NewMerchant:
    merchant: Merchant
    publishable_key: str
    secret_key: str


def create_merchant(
    *, session: Session, name: str, allowed_origins: list[str] | None = None
) -> NewMerchant:
    """Create a merchant with one publishable and one secret key (raw keys returned once)."""
    merchant = merchants.create(session=session, name=name)
    _, pk = create(
        session=session,
        merchant_id=merchant.id,
        kind=KeyKind.PUBLISHABLE,
        allowed_origins=allowed_origins,
    )
    _, sk = create(session=session, merchant_id=merchant.id, kind=KeyKind.SECRET)
    return NewMerchant(merchant=merchant, publishable_key=pk, secret_key=sk)


def authenticate(*, session: Session, raw_key: str, now: datetime | None = None) -> Principal:
    """The principal behind ``raw_key``; ``InvalidApiKey`` if malformed, unknown or revoked."""
    record = load_record(session=session, key_hash=checked_hash(raw_key))
    return principal_of(record, now=now or utcnow())


def checked_hash(raw_key: str) -> str:
    """The stored form of ``raw_key``; ``InvalidApiKey`` when it is not a key at all."""
    if not KEY_PATTERN.match(raw_key):
        raise InvalidApiKey("The API key is malformed")
    return hash_key(raw_key)


def load_record(*, session: Session, key_hash: str) -> KeyRecord | None:
    """The key stored under ``key_hash`` and its merchant's state, or None."""
    row = session.execute(
        select(
            ApiKey.merchant_id,
            ApiKey.id,
            ApiKey.kind,
            ApiKey.scopes,
            ApiKey.allowed_origins,
            ApiKey.revoked_at,
            ApiKey.expires_at,
            Merchant.status,
            Merchant.monthly_tryon_quota,
        )
        .join(Merchant, Merchant.id == ApiKey.merchant_id)
        .where(ApiKey.key_hash == key_hash)
    ).one_or_none()
    if row is None:
        return None
    return KeyRecord(
        merchant_id=row.merchant_id,
        key_id=row.id,
        kind=row.kind,
        scopes=tuple(row.scopes),
        allowed_origins=tuple(row.allowed_origins),
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        merchant_active=row.status is MerchantStatus.ACTIVE,
        monthly_tryon_quota=row.monthly_tryon_quota,
    )


def principal_of(record: KeyRecord | None, *, now: datetime) -> Principal:
    """Who calls with the key of ``record`` at ``now``; ``InvalidApiKey`` if it is unknown
    (None), revoked, expired or its merchant suspended."""
    if record is None:
        raise InvalidApiKey("The API key is not valid")
    if record.revoked_at is not None or (
        record.expires_at is not None and record.expires_at <= now
    ):
        raise InvalidApiKey("The API key has been revoked")
    if not record.merchant_active:
        raise InvalidApiKey("The merchant account is suspended")
    return Principal(
        merchant_id=record.merchant_id,
        key_id=record.key_id,
        kind=record.kind,
        scopes=frozenset(record.scopes),
        allowed_origins=record.allowed_origins,
        monthly_tryon_quota=record.monthly_tryon_quota,
    )


def revoke(*, session: Session, merchant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the merchant's keys (idempotent)."""
    key = get(session=session, merchant_id=merchant_id, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def list_keys(*, session: Session, merchant_id: uuid.UUID) -> list[ApiKey]:
    """The merchant's keys, newest first (revoked ones included, marked as such)."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant_id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        )
    )


def get(*, session: Session, merchant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """One of the merchant's keys, or ``NotFound`` (also for other merchants' keys)."""
    key = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.merchant_id == merchant_id)
    )
    if key is None:
        raise NotFound("No such API key")
    return key


def check_scopes(*, kind: KeyKind, scopes: list[str], granted_by: frozenset[str]) -> None:
    """A key may only carry scopes of its kind, and only ones its creator holds."""
    allowed = SECRET_SCOPES if kind is KeyKind.SECRET else PUBLISHABLE_SCOPES
    unknown = sorted(set(scopes) - set(allowed))
    if unknown:
        raise InvalidInput(f"Unknown scopes for a {kind.value} key: {', '.join(unknown)}")
    if kind is KeyKind.SECRET and not set(scopes) <= granted_by:
        raise InsufficientScope("A key cannot grant scopes its creator lacks")


def update(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    key_id: uuid.UUID,
    name: str | None = None,
    allowed_origins: list[str] | None = None,
) -> ApiKey:
    """Rename a key or replace its allowed origins."""
    key = get(session=session, merchant_id=merchant_id, key_id=key_id)
    if name is not None:
        key.name = name
    if allowed_origins is not None:
        if key.kind is not KeyKind.PUBLISHABLE:
            raise InvalidInput("Only publishable keys have allowed origins")
        key.allowed_origins = list(allowed_origins)
    return key


def rotate(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    key_id: uuid.UUID,
    grace: timedelta,
    granted_by: frozenset[str] | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Issue a replacement with the same kind, scopes and origins; the old key keeps working
    for ``grace`` (zero: it stops now), so callers can switch without downtime.

    ``granted_by``: the calling key's scopes; a secret key holding scopes the caller lacks
    cannot be rotated by it (the new secret would be an escalation)."""
    now = now or utcnow()
    old = get(session=session, merchant_id=merchant_id, key_id=key_id)
    if granted_by is not None and old.kind is KeyKind.SECRET:
        check_scopes(kind=old.kind, scopes=list(old.scopes), granted_by=granted_by)
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict("This key is already revoked or expired")
    new, raw = create(
        session=session,
        merchant_id=merchant_id,
        kind=old.kind,
        name=old.name,
        allowed_origins=list(old.allowed_origins),
        scopes=list(old.scopes),
    )
    expires = now + grace
    if old.expires_at is None or expires < old.expires_at:
        old.expires_at = expires
    return new, raw


def known_origins(*, session: Session, now: datetime | None = None) -> set[str]:
    """Every origin some active publishable key allows (for CORS preflights)."""
    now = now or utcnow()
    rows = session.execute(
        select(ApiKey.allowed_origins, ApiKey.expires_at).where(
            ApiKey.kind == KeyKind.PUBLISHABLE, ApiKey.revoked_at.is_(None)
        )
    )
    origins: set[str] = set()
    for allowed, expires_at in rows:
        if expires_at is None or expires_at > now:
            origins.update(allowed)
    return origins


def touch(*, session: Session, key_id: uuid.UUID, now: datetime) -> None:
    """Record that a key was used, unless that was done less than a minute ago (one
    conditional ``UPDATE``, no read; callers throttle it with ``TouchThrottle``)."""
    session.execute(
        sql_update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - _TOUCH_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


class TouchThrottle:
    """Which keys this process recorded as used lately, so that ``touch`` runs at most once a
    minute per key and process: a widget call answered from the cache writes nothing else."""

    def __init__(self, every: timedelta = _TOUCH_EVERY, max_keys: int = 10_000) -> None:
        self._every = every
        self._max_keys = max_keys
        self._last: OrderedDict[uuid.UUID, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def due(self, key_id: uuid.UUID, now: datetime) -> bool:
        """Whether to ``touch`` the key now; a True answer counts as touching it."""
        with self._lock:
            last = self._last.get(key_id)
            if last is not None and now - last < self._every:
                return False
            self._last[key_id] = now
            self._last.move_to_end(key_id)
            while len(self._last) > self._max_keys:
                self._last.popitem(last=False)
            return True
