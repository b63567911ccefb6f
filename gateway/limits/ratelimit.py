"""Rate limiting with GCRA (a leaky bucket kept as one timestamp per key).

Two backends with one protocol: Redis (shared by every gateway process, clock from Redis) and
in-process (the embedded mode). ``limit`` requests are allowed per ``window_s``, as a burst or
spread out; a refused hit says how long until the next one would pass (``Retry-After``).
A Redis outage raises ``DependencyUnavailable`` (503): limits fail closed, never silently off.
``hit_all`` counts one request against several limits (a widget call's per-key and per-IP) in
one step: one round trip to Redis.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
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


@dataclass(frozen=True, slots=True)
class Hit:
    """One limit a request counts against: ``limit`` requests per ``window_s`` on ``key``."""

    key: str
    limit: int
    window_s: float


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    """Which of the hits refused the request."""
    decision: Decision


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        """Count one request against ``key``; say whether it is allowed."""
        ...

    def hit_all(self, hits: Sequence[Hit]) -> Refusal | None:
        """Count one request against each hit in order, as ``hit`` would, stopping at the
        first that refuses it (the later ones are not counted); None when all allow it."""
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
        refused = self.hit_all([Hit(key, limit, window_s)])
        return refused.decision if refused else Decision(True, 0.0)

    def hit_all(self, hits: Sequence[Hit]) -> Refusal | None:
        now = time.monotonic()
        with self._lock:
            for index, one in enumerate(hits):
                decision, tat = gcra(
                    self._tats.get(one.key, now), now, limit=one.limit, window_s=one.window_s
                )
                self._tats[one.key] = tat
                self._tats.move_to_end(one.key)
                while len(self._tats) > self._max_keys:
                    self._tats.popitem(last=False)
                if not decision.allowed:
                    return Refusal(index, decision)
        return None


# KEYS: the buckets, in order; ARGV: limit and window (ms) of each. Returns the 1-based index
# of the bucket that refused (0: none did) and the wait in ms. Time from Redis so every process
# agrees.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local interval = window / limit
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - window
  if now < allow_at then
    return {i, tostring(allow_at - now)}
  end
  redis.call('SET', key, tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
end
return {0, '0'}
"""


class RedisRateLimiter:
    """Limiter shared by every gateway process through Redis (one Lua call per hit)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "rl:"
        self._script = client.register_script(_GCRA_LUA)

    def hit(self, key: str, *, limit: int, window_s: float) -> Decision:
        refused = self.hit_all([Hit(key, limit, window_s)])
        return refused.decision if refused else Decision(True, 0.0)

    def hit_all(self, hits: Sequence[Hit]) -> Refusal | None:
        args: list[int] = []
        for one in hits:
            args += [one.limit, round(one.window_s * 1000)]
        try:
            index, wait_ms = self._script(keys=[self._prefix + h.key for h in hits], args=args)
        except RedisError as exc:
            raise DependencyUnavailable(
                "redis", "Rate limiting is unavailable (Redis does not answer)"
            ) from exc
        if int(index) == 0:
            return None
        return Refusal(int(index) - 1, Decision(False, float(wait_ms) / 1000))
