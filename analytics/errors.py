"""The analytics exception tree. The gateway maps these to problem+json at its edge.

::

    AnalyticsError
    ├── InvalidEvents            a batch or record that does not match the schema (``errors``)
    ├── PublishRefused           the event could not be accepted: nothing was taken
    │   ├── BufferFull           the broker is slow or down and the bounded buffer is full
    │   └── PublisherClosed      the publisher is shutting down
    ├── InvalidQuery             a metric query that cannot be answered as asked
    ├── PoisonMessage            a queued message the consumer can never store (``reason``)
    └── WarehouseError
        └── WarehouseUnavailable the warehouse cannot be reached now; retry later

Each exception carries its context as attributes, never as a formatted string only.
"""

from __future__ import annotations

from typing import Any


class AnalyticsError(Exception):
    """Base of every error raised by the analytics package."""


class InvalidEvents(AnalyticsError):
    """Events that fail validation; ``errors`` lists ``{"loc", "msg", "type"}`` entries."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class PublishRefused(AnalyticsError):
    """Nothing of the batch was accepted; the caller should retry after ``retry_after_s``."""

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BufferFull(PublishRefused):
    """The bounded buffer cannot take the batch (the broker is slow or down)."""

    def __init__(self, *, pending: int, capacity: int, requested: int) -> None:
        super().__init__(
            f"analytics buffer full ({pending}/{capacity} pending, {requested} offered)"
        )
        self.pending = pending
        self.capacity = capacity
        self.requested = requested


class PublisherClosed(PublishRefused):
    """The publisher is closing or closed."""


class InvalidQuery(AnalyticsError):
    """A metric query that cannot be answered as asked (e.g. a reversed date range);
    ``errors`` lists ``{"loc", "msg", "type"}`` entries where the parameter is known."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class PoisonMessage(AnalyticsError):
    """A message that can never be stored; it goes to the dead-letter queue with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WarehouseError(AnalyticsError):
    """The warehouse refused an operation."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached now (connection refused, timeout, restart)."""
