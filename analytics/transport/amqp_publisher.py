"""The RabbitMQ publisher: confirms, persistent messages, mandatory routing, a bounded buffer.

One background thread owns a pika ``SelectConnection`` (pika connections are not thread
safe); callers hand it bodies through ``publish``, which never blocks on the network:

* a body is *pending* from ``publish`` until the broker confirms it (``basic.ack``). Pending
  bodies are the buffer: bounded by ``buffer_max_events``; a batch that does not fit is
  refused whole with ``BufferFull`` (the gateway answers 503), never half taken;
* a ``basic.nack``, a ``basic.return`` (unroutable: the queue was deleted) or a lost
  connection puts the affected bodies back at the front of the buffer to be published again.
  A body whose confirm was lost may then reach the queue twice; the warehouse deduplicates
  on event id;
* the thread reconnects with exponential backoff while the broker is down;
* ``close`` waits (bounded) for the buffer to drain and returns what is left, for the caller
  to spool: nothing is dropped silently.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pika
import structlog
from pika.spec import Basic

from analytics.errors import BufferFull, PublisherClosed
from analytics.settings import AnalyticsSettings
from analytics.transport.backoff import delay
from analytics.transport.topology import connection_parameters, declare_async

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Message:
    body: bytes
    message_id: str


def _message_id(body: bytes) -> str:
    """The event id, so the broker's tools show which event a message is."""
    try:
        event_id = json.loads(body)["event"]["event_id"]
    except (ValueError, KeyError, TypeError):
        return ""
    return str(event_id)


class AmqpPublisher:
    """Publishes message bodies to the analytics exchange; see the module docstring."""

    def __init__(self, settings: AnalyticsSettings) -> None:
        self.settings = settings
        self._buffer: deque[_Message] = deque()
        self._outstanding: dict[int, _Message] = {}
        self._returned: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._connection: Any = None
        self._channel: Any = None
        self._ready = False
        self._next_tag = 0
        self._had_ready = False
        self._closing = threading.Event()
        self._done = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="analytics-publisher", daemon=True)
        self.confirmed = 0
        self.republished = 0

    # -- caller side (any thread) ----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def publish(self, bodies: Sequence[bytes]) -> None:
        """Take every body or none (``BufferFull``, ``PublisherClosed``)."""
        messages = [_Message(body, _message_id(body)) for body in bodies]
        with self._cond:
            if self._closing.is_set():
                raise PublisherClosed("the analytics publisher is closing")
            pending = len(self._buffer) + len(self._outstanding)
            if pending + len(messages) > self.settings.buffer_max_events:
                raise BufferFull(
                    pending=pending,
                    capacity=self.settings.buffer_max_events,
                    requested=len(messages),
                )
            self._buffer.extend(messages)
        self._kick()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._buffer) + len(self._outstanding)

    @property
    def connected(self) -> bool:
        return self._ready

    def flush(self, timeout: float) -> bool:
        """Wait until every body taken so far is confirmed; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._buffer or self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def close(self, timeout: float | None = None) -> list[bytes]:
        """Stop taking bodies, flush for up to ``timeout``; return the bodies not confirmed."""
        timeout = self.settings.shutdown_timeout_s if timeout is None else timeout
        with self._cond:
            self._closing.set()
        if self._thread.is_alive():
            self.flush(timeout)
        self._done.set()
        self._wake.set()
        self._call(self._close_connection)
        self._thread.join(timeout=self.settings.connect_timeout_s * 2 + 1)
        with self._cond:
            left = [m.body for _, m in sorted(self._outstanding.items())]
            left += [m.body for m in self._buffer]
            self._outstanding.clear()
            self._buffer.clear()
        if left:
            log.warning("analytics.publisher_unflushed", events=len(left))
        return left

    def _kick(self) -> None:
        self._call(self._drain)

    def _call(self, callback: Any) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            connection.ioloop.add_callback_threadsafe(callback)
        except Exception as exc:  # the loop is closing; the next connection drains
            log.debug("analytics.publisher_wake_failed", error=type(exc).__name__)

    # -- the publisher thread --------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._done.is_set():
            self._had_ready = False
            self._connection = pika.SelectConnection(
                parameters=connection_parameters(self.settings),
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_open_error,
                on_close_callback=self._on_connection_closed,
            )
            self._connection.ioloop.start()
            self._connection = None
            if self._done.is_set():
                break
            if self._had_ready:
                attempt = 0
            wait = delay(
                attempt,
                minimum=self.settings.reconnect_min_s,
                maximum=self.settings.reconnect_max_s,
            )
            attempt += 1
            log.info("analytics.publisher_reconnecting", in_s=round(wait, 2))
            self._wake.wait(wait)
            self._wake.clear()

    def _on_connection_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        log.warning(
            "analytics.broker_unreachable", url=self.settings.safe_amqp_url, error=repr(error)
        )
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        self._channel = None
        self._mark_not_ready()
        if not self._done.is_set():
            log.warning("analytics.broker_connection_lost", reason=repr(reason))
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        declare_async(channel, self.settings, self._on_declared)

    def _on_declared(self) -> None:
        assert self._channel is not None
        self._channel.confirm_delivery(
            ack_nack_callback=self._on_confirm, callback=self._on_confirm_selected
        )

    def _on_confirm_selected(self, _frame: Any) -> None:
        self._next_tag = 0
        self._ready = True
        self._had_ready = True
        log.info("analytics.publisher_ready", url=self.settings.safe_amqp_url)
        self._drain()

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        self._channel = None
        self._mark_not_ready()
        connection = self._connection
        if connection is not None and connection.is_open:
            if not self._done.is_set():
                log.warning("analytics.publisher_channel_closed", reason=repr(reason))
            connection.close()

    def _mark_not_ready(self) -> None:
        """Everything unconfirmed goes back to the front of the buffer, in order."""
        self._ready = False
        with self._cond:
            requeue = [m for _, m in sorted(self._outstanding.items())]
            self._outstanding.clear()
            self._buffer.extendleft(reversed(requeue))
            self.republished += len(requeue)
            self._returned.clear()
            self._cond.notify_all()

    def _drain(self) -> None:
        channel = self._channel
        if not self._ready or channel is None or not channel.is_open:
            return
        with self._cond:
            while self._buffer and len(self._outstanding) < self.settings.max_in_flight:
                message = self._buffer.popleft()
                self._next_tag += 1
                self._outstanding[self._next_tag] = message
                channel.basic_publish(
                    exchange=self.settings.exchange,
                    routing_key=self.settings.routing_key,
                    body=message.body,
                    properties=pika.BasicProperties(
                        delivery_mode=pika.DeliveryMode.Persistent,
                        content_type="application/json",
                        type="tryon.analytics.event",
                        message_id=message.message_id,
                    ),
                    mandatory=True,
                )

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        # The broker sends basic.return before the ack of the same message.
        self._returned[properties.message_id or ""] += 1
        log.error("analytics.unroutable", exchange=self.settings.exchange)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        with self._cond:
            if method.multiple:
                tags = [tag for tag in self._outstanding if tag <= method.delivery_tag]
            else:
                tags = [method.delivery_tag] if method.delivery_tag in self._outstanding else []
            retry: list[_Message] = []
            for tag in sorted(tags):
                message = self._outstanding.pop(tag)
                if acked and self._returned[message.message_id] == 0:
                    self.confirmed += 1
                    continue
                if self._returned[message.message_id] > 0:
                    self._returned[message.message_id] -= 1
                retry.append(message)
            if retry:
                self._buffer.extendleft(reversed(retry))
                self.republished += len(retry)
            self._cond.notify_all()
        if retry:
            # Unroutable or refused: declare again (the queue may have been deleted), then
            # publish again after a pause rather than in a tight loop.
            log.warning("analytics.publish_retry", events=len(retry), nacked=not acked)
            self._ready = False
            if self._connection is not None:
                self._connection.ioloop.call_later(self.settings.reconnect_min_s, self._redeclare)
        else:
            self._drain()

    def _redeclare(self) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            return

        def ready() -> None:
            self._ready = True
            self._drain()

        declare_async(channel, self.settings, ready)

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            if connection.is_closing or connection.is_closed:
                connection.ioloop.stop()
            else:
                connection.close()
        except Exception as exc:  # still opening: stopping the loop abandons it
            log.debug("analytics.publisher_close", error=type(exc).__name__)
            connection.ioloop.stop()
