"""Single-use tokens: each nonce may be consumed once until it expires.

In-process in the embedded mode; Redis (``SET NX EX``) when ``TRYON_REDIS_URL`` is set, so
every gateway replica sees the same used links.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from gateway.settings import GatewaySettings


class NonceStore(Protocol):
    async def consume(self, nonce: str, *, ttl_s: int) -> bool:
        """``True`` the first time ``nonce`` is seen (within ``ttl_s``), ``False`` after."""

    async def close(self) -> None: ...


class MemoryNonceStore:
    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def consume(self, nonce: str, *, ttl_s: int) -> bool:
        now = time.monotonic()
        async with self._lock:
            for key in [k for k, expiry in self._used.items() if expiry <= now]:
                del self._used[key]
            if nonce in self._used:
                return False
            self._used[nonce] = now + ttl_s
            return True

    async def close(self) -> None:
        self._used.clear()


class RedisNonceStore:
    def __init__(self, url: str, prefix: str, timeout_s: float) -> None:
        import redis.asyncio as aioredis  # noqa: PLC0415 - only when Redis is configured

        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._prefix = prefix + "dashboard-link:"

    async def consume(self, nonce: str, *, ttl_s: int) -> bool:
        return bool(await self._client.set(self._prefix + nonce, b"1", nx=True, ex=ttl_s))

    async def close(self) -> None:
        await self._client.aclose()


def make_nonce_store(settings: GatewaySettings) -> NonceStore:
    if settings.redis_url:
        return RedisNonceStore(
            settings.redis_url, settings.redis_prefix, settings.readiness_timeout_s
        )
    return MemoryNonceStore()
