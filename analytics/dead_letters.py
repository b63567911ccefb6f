"""Where poison messages go, with their reason: RabbitMQ's dead-letter queue, or a table."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Engine

from analytics.settings import AnalyticsSettings
from analytics.transport.topology import REASON_HEADER, connection_parameters, declare_blocking
from analytics.warehouse.tables import dead_letter

log = structlog.get_logger(__name__)


class WarehouseDeadLetters:
    """The embedded mode's dead-letter queue: the ``dead_letter`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def send(self, *, body: bytes, reason: str) -> bool:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    dead_letter.insert(),
                    {"dead_at": datetime.now(UTC), "reason": reason[:500], "body": body},
                )
        except Exception as exc:
            log.error("analytics.dead_letter_failed", error=type(exc).__name__)
            return False
        return True


class AmqpDeadLetters:
    """Publishes to the dead-letter exchange with the reason in a header, and a confirm.

    Poison is rare, so a blocking connection of its own (opened on first use, reopened
    after a failure) is simpler than sharing the consumer's asynchronous channel.
    """

    def __init__(self, settings: AnalyticsSettings) -> None:
        self._settings = settings
        self._connection: Any = None
        self._channel: Any = None
        self._lock = threading.Lock()

    def send(self, *, body: bytes, reason: str) -> bool:
        with self._lock:
            # A second try on a fresh connection: an idle one may have been closed meanwhile.
            return self._send(body, reason) or self._send(body, reason)

    def _send(self, body: bytes, reason: str) -> bool:
        import pika  # noqa: PLC0415 - RabbitMQ mode only

        try:
            channel = self._open()
            channel.basic_publish(
                exchange=self._settings.dead_letter_exchange,
                routing_key=self._settings.routing_key,
                body=body,
                properties=pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    content_type="application/json",
                    headers={
                        REASON_HEADER: reason[:500],
                        "x-tryon-dead-at": datetime.now(UTC).isoformat(),
                    },
                ),
                mandatory=True,
            )
        except Exception as exc:
            log.error("analytics.dead_letter_failed", error=type(exc).__name__)
            self.close()
            return False
        return True

    def _open(self) -> Any:
        import pika  # noqa: PLC0415

        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(connection_parameters(self._settings))
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()
        declare_blocking(self._channel, self._settings)
        return self._channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception as exc:
                log.debug("analytics.dead_letter_close_failed", error=type(exc).__name__)
