"""The embedded transport: a bounded in-memory queue and a consumer thread.

Same contract as the broker: ``publish`` takes a whole batch or refuses it (``BufferFull``),
and a body leaves the process only once the ``BatchProcessor`` has stored it or dead-lettered
it. On shutdown the thread stores what is left; whatever it cannot store is returned to the
caller (which spools it), never dropped.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Sequence

import structlog

from analytics.errors import BufferFull, PublisherClosed
from analytics.processing import BatchProcessor, Delivery, run_until_done
from analytics.settings import AnalyticsSettings

log = structlog.get_logger(__name__)


class InProcessQueue:
    """A bounded FIFO of message bodies shared by publishers and one consumer thread."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def publish(self, bodies: Sequence[bytes]) -> None:
        with self._cond:
            if self._closed:
                raise PublisherClosed("the analytics queue is closed")
            if len(self._items) + len(bodies) > self.capacity:
                raise BufferFull(
                    pending=len(self._items), capacity=self.capacity, requested=len(bodies)
                )
            self._items.extend(bodies)
            self._cond.notify()

    def take(self, max_items: int, max_wait_s: float, stop: threading.Event) -> list[bytes]:
        """Up to ``max_items`` bodies: waits for the first, then up to ``max_wait_s`` more."""
        with self._cond:
            while not self._items and not stop.is_set():
                self._cond.wait(0.2)
            deadline = time.monotonic() + max_wait_s
            while len(self._items) < max_items and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            count = min(max_items, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def close(self) -> list[bytes]:
        """Refuse new bodies; return those still queued."""
        with self._cond:
            self._closed = True
            left = list(self._items)
            self._items.clear()
            self._cond.notify_all()
            return left

    @property
    def pending(self) -> int:
        return len(self._items)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class ConsumerThread:
    """Drains an ``InProcessQueue`` into the warehouse with the shared ``BatchProcessor``."""

    def __init__(
        self, queue: InProcessQueue, processor: BatchProcessor, settings: AnalyticsSettings
    ) -> None:
        self.queue = queue
        self.processor = processor
        self.settings = settings
        self._stop = threading.Event()
        self._held: list[bytes] = []
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="analytics-consumer", daemon=True)
        self.stored = 0
        self.dead = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        tag = 0
        while not self._stop.is_set():
            bodies = self.queue.take(
                self.settings.batch_size, self.settings.batch_max_wait_ms / 1000, self._stop
            )
            if not bodies:
                continue
            self._idle.clear()
            self._held = bodies
            deliveries = []
            for body in bodies:
                tag += 1
                deliveries.append(Delivery(tag, body))
            result = run_until_done(
                functools.partial(self.processor.process, deliveries),
                stop=self._stop,
                minimum=self.settings.reconnect_min_s,
                maximum=self.settings.reconnect_max_s,
            )
            if result is not None:
                self._held = []
                self.stored += result.stored
                self.dead += result.dead
            self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """Until the queue is empty and no batch is in progress (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.pending == 0 and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def stop(self, timeout: float) -> list[bytes]:
        """Stop the thread, store what is still queued; return what could not be stored."""
        self._stop.set()
        self.queue.wake()
        self._thread.join(timeout)
        left = self._held + self.queue.close()
        self._held = []
        if left:
            try:
                result = self.processor.process([Delivery(i, body) for i, body in enumerate(left)])
            except Exception as exc:
                log.error(
                    "analytics.final_batch_failed", error=type(exc).__name__, events=len(left)
                )
                return left
            self.stored += result.stored
            self.dead += result.dead
        return []
