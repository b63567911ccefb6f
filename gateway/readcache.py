"""A read-through cache for merchant data on the widget's hot path, invalidated on commit.

Every widget call needs its key's principal, and the configuration needs the product (with its
variants and assets), the brand models and the month's quota use. ``ReadCache`` keeps these
as JSON in a ``ByteCache``: Redis in the scale-out mode, one copy shared by every replica; an
in-process LRU in the embedded mode. Only merchant data goes here, never a shopper's image or
anything derived from one.

Writes are seen at once, not after a TTL:

- ``install`` listens to the sessions of the app's session factory. Each flush notes the cache
  keys that the rows it changes feed (the ``changed_keys`` given: revoking a key, editing a
  product, a variant or an asset, ...); code that writes with SQL statements the flush does
  not see names its keys with ``invalidate_on_commit``.
- Once the transaction commits (never before, nor on a savepoint), each noted key is replaced
  by a tombstone held for ``hold_s``. Readers treat a tombstone as a miss, and only *add*
  values where a key holds nothing (``ByteCache.add``): a request that read the database just
  before the commit cannot put its stale copy back.
- With Redis, the tombstone is in the copy every replica reads: immediate everywhere.

Entries live ``ttl_s`` at most (``TRYON_WIDGET_CACHE_TTL_S``; 0 turns the cache off). That bounds
what invalidation cannot see: a write by another process that has no access to this cache
(``tryon demo seed`` next to an embedded server), an invalidation lost while Redis was away.

The cache is an optimisation, never a dependency: when it fails, reads go to the database and
the cache is left alone for ``retry_after_s`` (a dead Redis costs one timeout per interval, not
one per request). Invalidations that fail are kept (bounded) and sent first when it answers.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar, overload

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from gateway.cache import ByteCache
from gateway.errors import DependencyUnavailable
from gateway.metrics import Metrics

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")

_GENERATION = "gen"
VERSION = "w1"
"""In every key: a release that changes a record's shape starts from empty entries, so old and
new replicas sharing one Redis during a rollout never read each other's records."""
TOMBSTONE = b"\x00"
HOLD_S = 5.0
RETRY_AFTER_S = 2.0
MAX_UNSENT = 10_000
_PENDING = "readcache.pending"

log = structlog.get_logger("gateway.readcache")


# Cache keys. Tenant-owned records carry the merchant id in their key (and in their value,
# which readers check), so one merchant's entry can never answer another's read.
def key_record_key(key_hash: str) -> str:
    return f"{VERSION}:key:{key_hash}"


def product_key(
    merchant_id: uuid.UUID,
    *,
    product_id: uuid.UUID | None = None,
    external_id: str | None = None,
) -> str:
    """A product's entry by id, or by external id (what widgets usually send)."""
    if product_id is not None:
        return f"{VERSION}:product:{merchant_id}:id:{product_id}"
    return f"{VERSION}:product:{merchant_id}:ext:{external_id}"


def models_key(merchant_id: uuid.UUID) -> str:
    return f"{VERSION}:models:{merchant_id}"


def experiment_key(merchant_id: uuid.UUID) -> str:
    """A merchant's running holdout experiment (or that none runs)."""
    return f"{VERSION}:experiment:{merchant_id}"


def quota_key(merchant_id: uuid.UUID, day: date) -> str:
    """A merchant's quota use in the (UTC) month of ``day``."""
    return f"{VERSION}:quota:{merchant_id}:{day:%Y-%m}"


def merchant_key(merchant_id: uuid.UUID) -> str:
    """The merchant's *generation*: a random token replaced (not tombstoned) whenever anything
    the merchant owns is written. What is rendered from several of its records (the widget's
    configuration bytes) is stored with the token it was rendered at and is only served while
    the token is the same (see ``generation_keys``)."""
    return f"{VERSION}:{_GENERATION}:{merchant_id}"


def generation_keys(keys: Iterable[str]) -> set[str]:
    """The generations that invalidating ``keys`` bumps: every tenant key
    (``VERSION:kind:<merchant id>:...``) bumps its merchant's. Generic on purpose: a new
    kind of entry fed by a merchant's rows bumps the generation without being listed here."""
    out: set[str] = set()
    for key in keys:
        parts = key.split(":", 3)
        if len(parts) < 3 or parts[0] != VERSION or parts[1] == _GENERATION:
            continue
        try:
            merchant_id = uuid.UUID(parts[2])
        except ValueError:
            continue  # not a tenant key (a key record is named by its hash)
        out.add(merchant_key(merchant_id))
    return out


def is_generation_key(key: str) -> bool:
    return key.startswith(f"{VERSION}:{_GENERATION}:")


class Codec(Generic[T]):
    """JSON for one record type (pydantic): compact, and checked when read back.

    Records are immutable, so the same bytes always decode to an equal record: the last
    ``memo`` decoded are kept, and a hit on bytes seen before costs a dict lookup instead of
    a validation (the hot path reads the same few keys and products over and over)."""

    def __init__(self, kind: type[T], *, memo: int = 1024) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)
        self._memo: OrderedDict[bytes, T] = OrderedDict()
        self._memo_size = memo
        self._lock = threading.Lock()

    def encode(self, value: T) -> bytes:
        return self._adapter.dump_json(value)

    def decode(self, raw: bytes) -> T:
        with self._lock:
            found = self._memo.get(raw)
            if found is not None:
                self._memo.move_to_end(raw)
                return found
        value = self._adapter.validate_json(raw)
        with self._lock:
            self._memo[raw] = value
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return value


def _always(_value: object) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """One read through the cache: where, how to decode it, and what to do on a miss."""

    name: str
    """Labels the counters (``tryon_cache_requests_total{cache=...}``)."""
    key: str
    codec: Codec[T]
    load: Callable[[], T | None]
    """The database read for a miss; None (nothing found) is not stored, and what it raises
    propagates with nothing stored."""
    accept: Callable[[T], bool] = _always
    """Whether a record may answer this read (a hit that fails it is a miss) and be stored."""


_UNAVAILABLE = object()
"""What a backend call gives when the cache failed now or lately (not the same as a miss)."""


class ReadCache:
    """Read-through entries over a ``ByteCache`` (see the module docstring)."""

    def __init__(
        self,
        backend: ByteCache,
        *,
        ttl_s: float,
        metrics: Metrics,
        hold_s: float = HOLD_S,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self.hold_s = hold_s
        self.retry_after_s = retry_after_s
        self._metrics = metrics
        self.clock = clock  # public: tests step it instead of sleeping
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._failing = False
        self._unsent: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def read(self, spec: Read[T]) -> T | None:
        """The record at ``spec.key``, else ``spec.load()`` (stored when found and accepted)."""
        found = self.read_many(spec)
        return found[0]

    @overload
    def read_many(self, a: Read[A], /) -> tuple[A | None]: ...
    @overload
    def read_many(self, a: Read[A], b: Read[B], /) -> tuple[A | None, B | None]: ...
    @overload
    def read_many(
        self, a: Read[A], b: Read[B], c: Read[C], /
    ) -> tuple[A | None, B | None, C | None]: ...

    @overload
    def read_many(
        self, a: Read[A], b: Read[B], c: Read[C], d: Read[D], /
    ) -> tuple[A | None, B | None, C | None, D | None]: ...

    def read_many(self, *specs: Read[Any]) -> tuple[Any, ...]:
        """As ``read`` for each, with one round trip to the cache for all their keys."""
        if not self.enabled:
            return tuple(spec.load() for spec in specs)
        names = [spec.name for spec in specs]
        raws = self._backend_call(names, lambda: self.backend.get_many([s.key for s in specs]))
        if not isinstance(raws, list):
            return tuple(self._resolve(spec, _UNAVAILABLE) for spec in specs)
        return tuple(self._resolve(spec, raw) for spec, raw in zip(specs, raws, strict=True))

    def _resolve(self, spec: Read[T], raw: object) -> T | None:
        if isinstance(raw, bytes) and raw != TOMBSTONE:
            try:
                hit = spec.codec.decode(raw)
            except ValidationError:
                log.warning("cache_entry_unreadable", cache=spec.name)
            else:
                if spec.accept(hit):
                    self._count(spec.name, "hit")
                    return hit
        if raw is not _UNAVAILABLE:
            self._count(spec.name, "miss")
        loaded = spec.load()
        # Only where the cache held nothing: a tombstone (a write's hold) is left alone.
        if raw is None and loaded is not None and spec.accept(loaded):
            encoded = spec.codec.encode(loaded)
            self._backend_call(
                [spec.name], lambda: self.backend.add(spec.key, encoded, ttl_s=self.ttl_s)
            )
        return loaded

    def peek_many(self, *specs: Read[Any]) -> tuple[Any, ...] | None:
        """The records of ``specs`` when the cache holds every one (accepted), else None;
        never loads, so it does no I/O beyond the cache's own (none in the embedded mode)."""
        if not self.enabled:
            return None
        names = [spec.name for spec in specs]
        raws = self._backend_call(names, lambda: self.backend.get_many([s.key for s in specs]))
        if not isinstance(raws, list):
            return None
        out: list[Any] = []
        for spec, raw in zip(specs, raws, strict=True):
            if not isinstance(raw, bytes) or raw == TOMBSTONE:
                return None
            try:
                hit = spec.codec.decode(raw)
            except ValidationError:
                return None
            if not spec.accept(hit):
                return None
            out.append(hit)
        for name in names:
            self._count(name, "hit")
        return tuple(out)

    def rendered(self, name: str, merchant_id: uuid.UUID, key: str) -> tuple[str | None, bytes]:
        """For a value rendered from the merchant's records: its generation token (None when
        the cache is off or failing: then nothing may be stored) and what ``key`` holds when
        it was stored at that token (else ``b""``), in one round trip."""
        if not self.enabled:
            return None, b""
        gen_key = merchant_key(merchant_id)
        raws = self._backend_call([name], lambda: self.backend.get_many([gen_key, key]))
        if not isinstance(raws, list):
            return None, b""
        token, held = raws
        if not isinstance(token, bytes) or token == TOMBSTONE:
            token = uuid.uuid4().hex.encode()
            added = self._backend_call(
                [name], lambda: self.backend.add(gen_key, token, ttl_s=self.ttl_s)
            )
            if added is not True:
                return None, b""  # another request set one meanwhile: render, do not store
        prefix = token + b"\n"
        if isinstance(held, bytes) and held.startswith(prefix):
            self._count(name, "hit")
            return token.decode(), held[len(prefix) :]
        self._count(name, "miss")
        return token.decode(), b""

    def peek_with_rendered(
        self, spec: Read[T], name: str, merchant_id: uuid.UUID, key: str
    ) -> tuple[T, bytes] | None:
        """``spec``'s record and what ``key`` holds at the merchant's current generation, in
        one round trip, when the cache holds both; None otherwise (nothing is counted then:
        the caller takes the ``peek_many`` and ``rendered`` steps)."""
        if not self.enabled:
            return None
        gen_key = merchant_key(merchant_id)
        raws = self._backend_call(
            [spec.name, name], lambda: self.backend.get_many([spec.key, gen_key, key])
        )
        if not isinstance(raws, list):
            return None
        raw, token, held = raws
        if not isinstance(raw, bytes) or raw == TOMBSTONE or not isinstance(token, bytes):
            return None
        if token == TOMBSTONE or not isinstance(held, bytes):
            return None
        prefix = token + b"\n"
        if not held.startswith(prefix):
            return None
        try:
            record = spec.codec.decode(raw)
        except ValidationError:
            return None
        if not spec.accept(record):
            return None
        self._count(spec.name, "hit")
        self._count(name, "hit")
        return record, held[len(prefix) :]

    def store_rendered(self, name: str, key: str, token: str, value: bytes) -> None:
        """Keep ``value``, rendered at generation ``token`` (from ``rendered``), at ``key``.
        A value rendered at an older token may overwrite a newer one: readers then see the
        token differ and render again, so nothing stale is ever served."""
        if not self.enabled:
            return
        raw = token.encode() + b"\n" + value
        self._backend_call([name], lambda: self.backend.set(key, raw, ttl_s=self.ttl_s))

    def invalidate(self, keys: Iterable[str]) -> None:
        """Make ``keys`` miss now and refuse re-adds for ``hold_s`` (call after the commit);
        the generations of their merchants get new tokens (``generation_keys``)."""
        if not self.enabled:
            return
        keys = set(keys)
        keys |= generation_keys(keys)
        with self._lock:
            self._unsent.update(keys)
            if len(self._unsent) > MAX_UNSENT:
                # Beyond this the TTL is the bound; memory stays bounded through an outage.
                log.warning("cache_invalidations_dropped", count=len(self._unsent) - MAX_UNSENT)
                while len(self._unsent) > MAX_UNSENT:
                    self._unsent.pop()
        if self.clock() < self._down_until:
            return  # sent with the first call once the retry interval is over
        try:
            self._send_invalidations()
        except DependencyUnavailable as exc:
            self._failed("invalidate", exc)

    def _backend_call(self, names: list[str], call: Callable[[], T]) -> T | object:
        """``call()`` against the backend, after any invalidations still unsent; the
        ``_UNAVAILABLE`` marker when the backend failed now or lately."""
        if self.clock() < self._down_until:
            for name in names:
                self._count(name, "skipped")
            return _UNAVAILABLE
        try:
            self._send_invalidations()
            result = call()
        except DependencyUnavailable as exc:
            self._failed(names[0], exc)
            for name in names:
                self._count(name, "error")
            return _UNAVAILABLE
        if self._failing:
            self._failing = False
            log.info("cache_available")
        return result

    def _failed(self, name: str, exc: DependencyUnavailable) -> None:
        with self._lock:
            self._down_until = self.clock() + self.retry_after_s
            first, self._failing = not self._failing, True
        if first:
            log.warning(
                "cache_unavailable",
                cache=name,
                error=str(exc.__cause__ or exc),
                retry_after_s=self.retry_after_s,
            )

    def _send_invalidations(self) -> None:
        if not self._unsent:
            return
        with self._lock:
            keys, self._unsent = self._unsent, set()
        sent: list[str] = []
        # Tombstones first, then new generation tokens: a reader that sees the new token
        # also misses the records it renders from.
        ordered = sorted(keys, key=is_generation_key)
        try:
            for key in ordered:
                if is_generation_key(key):
                    token = uuid.uuid4().hex.encode()
                    self.backend.set(key, token, ttl_s=max(self.ttl_s, self.hold_s))
                else:
                    self.backend.set(key, TOMBSTONE, ttl_s=self.hold_s)
                sent.append(key)
        except DependencyUnavailable:
            with self._lock:
                self._unsent.update(set(keys) - set(sent))
            raise

    def _count(self, name: str, result: str) -> None:
        self._metrics.cache.labels(name, result).inc()


def invalidate_on_commit(session: Session, keys: Iterable[str]) -> None:
    """Have ``keys`` invalidated once ``session``'s transaction commits."""
    pending: set[str] = session.info.setdefault(_PENDING, set())
    keys = set(keys)
    pending.update(keys)
    pending.update(generation_keys(keys))


def install(
    factory: sessionmaker[Session],
    cache: ReadCache,
    changed_keys: Callable[[Session, list[object]], Iterable[str]],
) -> None:
    """Invalidate ``cache`` after each commit of a session made by ``factory``, for what its
    flushes changed (``changed_keys`` maps the changed rows to cache keys)."""

    @event.listens_for(factory, "after_flush")
    def _note(session: Session, _context: object) -> None:
        # After the flush, ids and foreign keys are set; the new/dirty/deleted sets and the
        # attribute history still describe what it wrote.
        changed = [
            *session.new,
            *(obj for obj in session.dirty if session.is_modified(obj)),
            *session.deleted,
        ]
        if changed:
            invalidate_on_commit(session, changed_keys(session, changed))

    @event.listens_for(factory, "after_commit")
    def _commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint: the outer transaction may still roll back
        keys = session.info.pop(_PENDING, None)
        if keys:
            cache.invalidate(keys)

    @event.listens_for(factory, "after_rollback")
    def _rollback(session: Session) -> None:
        # A savepoint's rollback keeps what earlier flushes noted (invalidating too much is
        # harmless); the outer transaction's rollback changed nothing.
        if not session.in_nested_transaction():
            session.info.pop(_PENDING, None)
