"""The consumer's work, the same for every transport: decode, store, dead-letter, settle.

A transport hands ``BatchProcessor.process`` a batch of deliveries and settles each one by
the verdict it gets back, *after* the warehouse transaction has committed:

* ``ACK``: stored now, stored before (a redelivery), or dead-lettered by us with a reason;
* ``REJECT``: poison that could not be dead-lettered by us; the transport rejects it without
  requeue and the broker's dead-letter exchange takes it.

If the warehouse is unreachable nothing is settled: ``run_until_done`` retries with backoff,
and if the process dies meanwhile the broker delivers the batch again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError

from analytics.errors import PoisonMessage
from analytics.schema import EventRecord
from analytics.transport.backoff import delay
from analytics.warehouse.writer import Warehouse

log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES = 1024 * 1024
"""Above the largest valid record (a 500-line purchase with the longest ids the schema allows
is about 0.6 MB: ``tests/analytics/test_schema.py``); larger is poison. A realistic 500-line
order is already over 64 KB."""


class Verdict(Enum):
    ACK = "ack"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Delivery:
    tag: int
    body: bytes
    redelivered: bool = False


@dataclass(slots=True)
class BatchResult:
    verdicts: list[tuple[int, Verdict]]
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    seconds: float = 0.0


class DeadLetterSink(Protocol):
    def send(self, *, body: bytes, reason: str) -> bool:
        """Keep ``body`` durably with ``reason``; ``False`` if that did not succeed."""


def decode(body: bytes) -> EventRecord:
    """The record in ``body``; ``PoisonMessage`` (with a reason) if it can never be one."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise PoisonMessage(f"message too large: {len(body)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        return EventRecord.from_bytes(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise PoisonMessage(
            f"invalid record ({exc.error_count()} errors; first at {where}: {first['msg']})"
        ) from None


@dataclass
class BatchProcessor:
    warehouse: Warehouse
    dead_letters: DeadLetterSink
    batch_seconds: list[float] = field(default_factory=list)
    """Duration of every committed batch (decode + store + dead-letter), for benchmarks."""

    def process(self, deliveries: Sequence[Delivery]) -> BatchResult:
        """Store a batch; raise if the warehouse cannot be used now (nothing settled then)."""
        started = time.perf_counter()
        good: list[tuple[Delivery, EventRecord]] = []
        poison: list[tuple[Delivery, str]] = []
        for delivery in deliveries:
            try:
                good.append((delivery, decode(delivery.body)))
            except PoisonMessage as exc:
                poison.append((delivery, exc.reason))
        result = BatchResult(verdicts=[])
        try:
            stored = self.warehouse.store([record for _, record in good])
            result.stored, result.duplicates = stored.stored, stored.duplicates
        except (IntegrityError, DataError):
            # One record the database refuses must not block the others: store one by one.
            for delivery, record in good:
                try:
                    one = self.warehouse.store([record])
                except (IntegrityError, DataError) as exc:
                    poison.append((delivery, f"warehouse refused it: {type(exc.orig).__name__}"))
                    continue
                result.stored += one.stored
                result.duplicates += one.duplicates
        dead_tags: dict[int, Verdict] = {}
        for delivery, reason in poison:
            log.warning("analytics.poison", reason=reason, tag=delivery.tag)
            sent = self.dead_letters.send(body=delivery.body, reason=reason)
            dead_tags[delivery.tag] = Verdict.ACK if sent else Verdict.REJECT
        result.dead = len(poison)
        result.verdicts = [(d.tag, dead_tags.get(d.tag, Verdict.ACK)) for d in deliveries]
        result.seconds = time.perf_counter() - started
        self.batch_seconds.append(result.seconds)
        return result


def run_until_done(
    work: Callable[[], BatchResult],
    *,
    stop: threading.Event,
    minimum: float,
    maximum: float,
) -> BatchResult | None:
    """Run ``work`` until it succeeds, backing off between failures; ``None`` if stopped."""
    attempt = 0
    while True:
        try:
            return work()
        except Exception as exc:
            wait = delay(attempt, minimum=minimum, maximum=maximum)
            log.warning(
                "analytics.batch_failed",
                error=type(exc).__name__,
                detail=str(exc)[:200],
                retry_in_s=round(wait, 2),
            )
            attempt += 1
            if stop.wait(wait):
                return None
