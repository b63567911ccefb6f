"""The RabbitMQ consumer (``tryon analytics consume``), after pika's asynchronous example.

Lifecycle: connect -> open a channel -> declare the topology -> ``basic.qos`` (prefetch) ->
``basic.consume`` with manual acks. Deliveries are gathered into batches (``batch_size``
or ``batch_max_wait_ms``, whichever comes first); one batch at a time is stored by a worker
thread so the I/O loop keeps answering heartbeats; the batch is acked (``multiple``) on the
loop only after the warehouse transaction committed. A lost connection is re-established
with backoff; acks for a channel that has gone are dropped and the broker redelivers those
messages to the next consumer (stored once thanks to the event-id dedupe).

``stop`` (from a signal handler or another thread) cancels the consumer, lets the batch in
progress finish and be acked, then closes: unprocessed prefetched messages go back to the
queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pika
import structlog

from analytics.processing import BatchProcessor, BatchResult, Delivery, Verdict, run_until_done
from analytics.settings import AnalyticsSettings
from analytics.transport.backoff import delay
from analytics.transport.topology import connection_parameters, declare_async

log = structlog.get_logger(__name__)


class AmqpConsumer:
    def __init__(
        self,
        settings: AnalyticsSettings,
        processor: BatchProcessor,
        *,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self.processor = processor
        self.on_batch = on_batch
        self._connection: Any = None
        self._channel: Any = None
        self._generation = 0
        self._consumer_tag: str | None = None
        self._was_consuming = False
        self._pending: list[Delivery] = []
        self._first_pending_at = 0.0
        self._timer: Any = None
        self._busy = False
        self._busy_since = 0.0
        self._closing = False
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics-batch")
        self.consuming = threading.Event()
        self.stored = 0
        self.duplicates = 0
        self.dead = 0

    # -- outer loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Consume until ``stop``; reconnects with backoff while the broker is away."""
        attempt = 0
        self._touch_alive()
        try:
            while not self._stop.is_set():
                self._was_consuming = False
                self._connection = pika.SelectConnection(
                    parameters=connection_parameters(self.settings),
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_open_error,
                    on_close_callback=self._on_connection_closed,
                )
                self._connection.ioloop.start()
                self._connection.ioloop.close()  # its wake-up socket pair, not the connection
                self._connection = None
                if self._stop.is_set():
                    break
                attempt = 0 if self._was_consuming else attempt + 1
                wait = delay(
                    attempt,
                    minimum=self.settings.reconnect_min_s,
                    maximum=self.settings.reconnect_max_s,
                )
                log.info("analytics.consumer_reconnecting", in_s=round(wait, 2))
                # Waiting for the broker is healthy: keep the liveness file fresh meanwhile.
                deadline = time.monotonic() + wait
                while not self._stop.is_set() and time.monotonic() < deadline:
                    self._touch_alive()
                    self._stop.wait(min(self.settings.alive_interval_s, wait))
        finally:
            self._executor.shutdown(wait=True)
            log.info(
                "analytics.consumer_stopped",
                stored=self.stored,
                duplicates=self.duplicates,
                dead=self.dead,
            )

    def stop(self) -> None:
        """Ask for a clean shutdown; safe from signal handlers and other threads."""
        self._stop.set()
        connection = self._connection
        if connection is not None:
            try:
                connection.ioloop.add_callback_threadsafe(self._begin_shutdown)
            except Exception as exc:
                log.debug("analytics.consumer_stop_wake_failed", error=type(exc).__name__)

    # -- connection and channel ------------------------------------------------------------

    # -- liveness --------------------------------------------------------------------------

    def _touch_alive(self) -> None:
        """Refresh ``alive_file`` unless a batch has been in hand for ``stuck_after_s``."""
        path = self.settings.alive_file
        if path is None:
            return
        if self._busy and time.monotonic() - self._busy_since > self.settings.stuck_after_s:
            log.warning(
                "analytics.consumer_stuck", busy_s=round(time.monotonic() - self._busy_since)
            )
            return
        try:
            path.touch()
        except OSError as exc:
            log.warning("analytics.alive_file_failed", error=type(exc).__name__)

    def _on_alive_tick(self) -> None:
        self._touch_alive()
        if self._connection is not None and not self._stop.is_set():
            self._connection.ioloop.call_later(self.settings.alive_interval_s, self._on_alive_tick)

    def _on_connection_open(self, connection: Any) -> None:
        connection.ioloop.call_later(0, self._on_alive_tick)
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        log.warning(
            "analytics.broker_unreachable", url=self.settings.safe_amqp_url, error=repr(error)
        )
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        self._forget_channel()
        if not self._stop.is_set():
            log.warning("analytics.broker_connection_lost", reason=repr(reason))
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        self._generation += 1
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_cancel_callback(self._on_cancelled_by_broker)
        declare_async(channel, self.settings, self._on_declared)

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        self._forget_channel()
        connection = self._connection
        if connection is not None and connection.is_open:
            if not self._stop.is_set():
                log.warning("analytics.consumer_channel_closed", reason=repr(reason))
            connection.close()

    def _forget_channel(self) -> None:
        # Unacked deliveries of a closed channel are requeued by the broker.
        self._channel = None
        self._consumer_tag = None
        self._pending.clear()
        self.consuming.clear()
        if self._timer is not None and self._connection is not None:
            self._connection.ioloop.remove_timeout(self._timer)
        self._timer = None

    def _on_declared(self) -> None:
        assert self._channel is not None
        self._channel.basic_qos(prefetch_count=self.settings.prefetch, callback=self._on_qos)

    def _on_qos(self, _frame: Any) -> None:
        assert self._channel is not None
        if self._stop.is_set():
            self._begin_shutdown()
            return
        self._consumer_tag = self._channel.basic_consume(
            self.settings.queue, on_message_callback=self._on_message, auto_ack=False
        )
        self._was_consuming = True
        self.consuming.set()
        log.info(
            "analytics.consuming",
            queue=self.settings.queue,
            prefetch=self.settings.prefetch,
            batch_size=self.settings.batch_size,
        )

    def _on_cancelled_by_broker(self, _frame: Any) -> None:
        log.warning("analytics.consumer_cancelled_by_broker")
        if self._channel is not None and self._channel.is_open:
            self._channel.close()

    # -- batching --------------------------------------------------------------------------

    def _on_message(self, _channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        if not self._pending:
            self._first_pending_at = time.monotonic()
        self._pending.append(Delivery(method.delivery_tag, body, bool(method.redelivered)))
        self._maybe_dispatch()

    def _maybe_dispatch(self) -> None:
        if self._busy or self._closing or not self._pending or self._channel is None:
            return
        waited = time.monotonic() - self._first_pending_at
        max_wait = self.settings.batch_max_wait_ms / 1000
        if len(self._pending) < self.settings.batch_size and waited < max_wait:
            if self._timer is None:
                self._timer = self._connection.ioloop.call_later(max_wait - waited, self._on_timer)
            return
        batch = self._pending[: self.settings.batch_size]
        del self._pending[: self.settings.batch_size]
        self._first_pending_at = time.monotonic()
        self._busy = True
        self._busy_since = time.monotonic()
        generation = self._generation
        self._executor.submit(self._work, batch, generation)

    def _on_timer(self) -> None:
        self._timer = None
        self._maybe_dispatch()

    def _work(self, batch: list[Delivery], generation: int) -> None:
        """On the worker thread: store the batch (retrying while the warehouse is down)."""
        result = run_until_done(
            lambda: self.processor.process(batch),
            stop=self._stop,
            minimum=self.settings.reconnect_min_s,
            maximum=self.settings.reconnect_max_s,
        )
        connection = self._connection
        callback = lambda: self._settle(batch, result, generation)  # noqa: E731
        try:
            if connection is None:
                raise RuntimeError("no connection")
            connection.ioloop.add_callback_threadsafe(callback)
        except Exception:
            # The connection is gone: its deliveries will be redelivered; nothing to ack.
            self._busy = False

    def _settle(self, batch: list[Delivery], result: BatchResult | None, generation: int) -> None:
        self._busy = False
        channel = self._channel
        if result is not None:
            self.stored += result.stored
            self.duplicates += result.duplicates
            self.dead += result.dead
            log.debug(
                "analytics.batch",
                messages=len(batch),
                stored=result.stored,
                duplicates=result.duplicates,
                dead=result.dead,
                ms=round(result.seconds * 1000, 3),
            )
            if self.on_batch is not None:
                self.on_batch(result)
        if result is not None and channel is not None and generation == self._generation:
            last_ack = 0
            for tag, verdict in result.verdicts:
                if verdict is Verdict.REJECT:
                    channel.basic_nack(delivery_tag=tag, multiple=False, requeue=False)
                else:
                    last_ack = max(last_ack, tag)
            if last_ack:
                # Every earlier tag of this channel is in this batch or already settled.
                channel.basic_ack(delivery_tag=last_ack, multiple=True)
        if self._closing:
            self._finish_shutdown()
        else:
            self._maybe_dispatch()

    # -- shutdown --------------------------------------------------------------------------

    def _begin_shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        log.info("analytics.consumer_stopping")
        channel = self._channel
        if channel is not None and channel.is_open and self._consumer_tag is not None:
            channel.basic_cancel(self._consumer_tag, callback=lambda _f: self._after_cancel())
        else:
            self._after_cancel()

    def _after_cancel(self) -> None:
        if not self._busy:
            self._finish_shutdown()
        # else: _settle calls _finish_shutdown once the batch in progress is acked.

    def _finish_shutdown(self) -> None:
        connection = self._connection
        if connection is None:
            return
        if connection.is_open:
            connection.close()  # -> _on_connection_closed -> ioloop.stop()
        else:
            connection.ioloop.stop()
