"""What a process that emits events holds: ``start(settings)`` -> ``Pipeline``.

The gateway starts one at startup and closes it at shutdown. In the embedded mode the
pipeline also runs the consumer thread, into the warehouse, inside the same process; in the
RabbitMQ mode it only publishes, and ``tryon analytics consume`` stores.

Events left over at shutdown (broker or warehouse down) are spooled to disk and replayed at
the next start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog
from sqlalchemy import Engine

from analytics.dead_letters import WarehouseDeadLetters
from analytics.processing import BatchProcessor, Delivery
from analytics.schema import EventRecord
from analytics.settings import AnalyticsSettings
from analytics.spool import Spool
from analytics.transport.inprocess import ConsumerThread, InProcessQueue
from analytics.warehouse import migrate
from analytics.warehouse.engine import make_engine
from analytics.warehouse.writer import Warehouse

log = structlog.get_logger(__name__)


class Publisher(Protocol):
    def publish(self, bodies: Sequence[bytes]) -> None: ...

    @property
    def pending(self) -> int: ...


class Pipeline:
    """A running publisher (and, embedded, consumer); see ``start``."""

    def __init__(
        self,
        *,
        settings: AnalyticsSettings,
        engine: Engine,
        publisher: Publisher,
        consumer: ConsumerThread | None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        """The warehouse engine, for metric queries."""
        self.publisher = publisher
        self.consumer = consumer
        self.spool = Spool(settings.spool_dir)

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Accept every record or none (``PublishRefused``); never drops one silently."""
        self.publisher.publish([record.to_bytes() for record in records])

    @property
    def broker_connected(self) -> bool | None:
        """Whether the broker connection is up; ``None`` in the embedded mode."""
        from analytics.transport.amqp_publisher import AmqpPublisher  # noqa: PLC0415

        if isinstance(self.publisher, AmqpPublisher):
            return self.publisher.connected
        return None

    def wait_idle(self, timeout: float) -> bool:
        """Until everything published so far is stored (embedded) or confirmed (RabbitMQ)."""
        if self.consumer is not None:
            return self.consumer.wait_idle(timeout)
        from analytics.transport.amqp_publisher import AmqpPublisher  # noqa: PLC0415

        assert isinstance(self.publisher, AmqpPublisher)
        return self.publisher.flush(timeout)

    def close(self) -> None:
        """Flush (bounded by the shutdown timeout), spool the rest, release connections."""
        timeout = self.settings.shutdown_timeout_s
        if self.consumer is not None:
            left = self.consumer.stop(timeout)
        else:
            from analytics.transport.amqp_publisher import AmqpPublisher  # noqa: PLC0415

            assert isinstance(self.publisher, AmqpPublisher)
            left = self.publisher.close(timeout)
        self.spool.write(left)
        self.engine.dispose()

    def _replay_spool(self, processor: BatchProcessor | None) -> None:
        for path, bodies in self.spool.files():
            if processor is not None:
                deliveries = [Delivery(i, body) for i, body in enumerate(bodies)]
                try:
                    processor.process(deliveries)
                except Exception as exc:
                    log.warning("analytics.spool_replay_failed", error=type(exc).__name__)
                    return
            else:
                from analytics.transport.amqp_publisher import AmqpPublisher  # noqa: PLC0415

                assert isinstance(self.publisher, AmqpPublisher)
                self.publisher.publish(bodies)
                # Short: a broker that is down must not hold up start-up. The events stay
                # buffered; the file is kept and replayed again next time (deduplicated).
                if not self.publisher.flush(self.settings.connect_timeout_s):
                    log.warning("analytics.spool_replay_pending", file=path.name)
                    return
            path.unlink()
            log.info("analytics.spool_replayed", file=path.name, events=len(bodies))


def start(settings: AnalyticsSettings) -> Pipeline:
    """Start publishing (and, embedded, consuming) with ``settings``."""
    if settings.is_embedded_warehouse:
        migrate.upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings)
    if settings.is_embedded_transport:
        queue = InProcessQueue(settings.buffer_max_events)
        processor = BatchProcessor(
            warehouse=Warehouse(engine), dead_letters=WarehouseDeadLetters(engine)
        )
        consumer = ConsumerThread(queue, processor, settings)
        pipeline = Pipeline(settings=settings, engine=engine, publisher=queue, consumer=consumer)
        pipeline._replay_spool(processor)
        consumer.start()
        return pipeline
    from analytics.transport.amqp_publisher import AmqpPublisher  # noqa: PLC0415

    publisher = AmqpPublisher(settings)
    publisher.start()
    pipeline = Pipeline(settings=settings, engine=engine, publisher=publisher, consumer=None)
    pipeline._replay_spool(None)
    return pipeline
