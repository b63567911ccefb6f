"""Rate limiting with GCRA (a leaky bucket kept as one timestamp per key).

Two backends with one protocol: Redis (shared by every gateway process, clock from Redis) and
in-process (the embedded mode). ``limit`` requests are allowed per ``window_s``, as a burst or
spread out; a refused hit says how long until the next one would pass (``Retry-After``).
A Redis outage raises ``DependencyUnavailable`` (503): limits fail closed, never silently off.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import redis
from redis.exceptions import RedisError

from gateway.errors import DependencyUnavailable


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float
    """Seconds until a hit would be allowed (0 when allowed)."""


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        """Count one request against ``key``; say whether it is allowed."""
        ...


def gcra(tat: float, now: float, *, limit: int, window_s: float) -> tuple[Decision, float]:
    """One GCRA step: the decision and the new theoretical arrival time (pure)."""
    interval = window_s / limit
    tat = max(tat, now)
    new_tat = tat + interval
    allow_at = new_tat - window_s
    if now < allow_at:
        return Decision(False, allow_at - now), tat
    return Decision(True, 0.0), new_tat


def retry_after_header(decision: Decision) -> int:
    """Whole seconds for ``Retry-After`` (at least 1)."""
    return max(1, math.ceil(decision.retry_after_s))


class MemoryRateLimiter:
    """In-process limiter for the embedded mode; keeps at most ``max_keys`` keys (LRU)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        now = time.monotonic()
        with self._lock:
            decision, tat = gcra(self._tats.get(key, now), now, limit=limit, window_s=window_s)
            self._tats[key] = tat
            self._tats.move_to_end(key)
            while len(self._tats) > self._max_keys:
                self._tats.popitem(last=False)
        return decision


# KEYS[1]: the bucket; ARGV: limit, window (ms). Time from Redis so every process agrees.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = window / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, tostring(allow_at - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, '0'}
"""


class RedisRateLimiter:
    """Limiter shared by every gateway process through Redis (one Lua call per hit)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "rl:"
        self._script = client.register_script(_GCRA_LUA)

    def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        try:
            allowed, wait_ms = self._script(
                keys=[self._prefix + key], args=[limit, round(window_s * 1000)]
            )
        except RedisError as exc:
            raise DependencyUnavailable(
                "redis", "Rate limiting is unavailable (Redis does not answer)"
            ) from exc
        return Decision(bool(int(allowed)), float(wait_ms) / 1000)
