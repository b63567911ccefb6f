"""Reconnection delays: exponential with full jitter, capped (pure)."""

from __future__ import annotations

import random


def delay(
    attempt: int, *, minimum: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before reconnect number ``attempt`` (0 for the first retry).

    The cap grows as ``minimum * 2**attempt`` up to ``maximum``; the delay is drawn between
    half the cap and the cap, so consumers restarted together do not reconnect in lockstep.
    """
    cap = min(maximum, minimum * 2.0 ** min(attempt, 30))
    jitter: float = (rng or random).random()
    return cap * (0.5 + 0.5 * jitter)
