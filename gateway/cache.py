"""A small byte cache: Redis when configured, an in-process LRU otherwise.

Only for merchant data and what is derived from it (brand model try-ons, the widget's reads
in ``gateway.readcache``). Shopper images and anything derived from them are never put here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import redis
from redis.exceptions import RedisError

from gateway.errors import DependencyUnavailable


class ByteCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys``, in order, in one round trip."""
        ...

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None: ...

    def add(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        """Set ``key`` only when it holds nothing; True when it was set."""
        ...


class MemoryCache:
    """LRU bounded by total bytes; entries expire after their TTL."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._size = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._get(key)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            return [self._get(key) for key in keys]

    def _get(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return value

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        if len(value) > self._max:
            return
        with self._lock:
            self._put(key, value, ttl_s)

    def add(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        if len(value) > self._max:
            return False
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] >= time.monotonic():
                return False
            self._put(key, value, ttl_s)
            return True

    def _put(self, key: str, value: bytes, ttl_s: float) -> None:
        if key in self._items:
            self._drop(key)
        self._items[key] = (time.monotonic() + ttl_s, value)
        self._size += len(value)
        while self._size > self._max:
            self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, value = self._items.pop(key)
        self._size -= len(value)


class RedisCache:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "cache:"

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(self._prefix + key)
        except RedisError as exc:
            raise DependencyUnavailable("redis", "The cache (Redis) does not answer") from exc
        return value if isinstance(value, bytes) else None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        try:
            values = self._client.mget([self._prefix + key for key in keys])
        except RedisError as exc:
            raise DependencyUnavailable("redis", "The cache (Redis) does not answer") from exc
        return [v if isinstance(v, bytes) else None for v in values]

    def set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        try:
            self._client.set(self._prefix + key, value, px=_milliseconds(ttl_s))
        except RedisError as exc:
            raise DependencyUnavailable("redis", "The cache (Redis) does not answer") from exc

    def add(self, key: str, value: bytes, *, ttl_s: float) -> bool:
        try:
            done = self._client.set(self._prefix + key, value, px=_milliseconds(ttl_s), nx=True)
        except RedisError as exc:
            raise DependencyUnavailable("redis", "The cache (Redis) does not answer") from exc
        return bool(done)


def _milliseconds(ttl_s: float) -> int:
    return max(1, round(ttl_s * 1000))
