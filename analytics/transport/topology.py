"""The broker topology, declared identically by the publisher, the consumer and tools.

::

    exchange <exchange> (direct, durable)
        --<routing_key>--> queue <queue> (quorum: replicated, durable)
                               | rejected, or redelivered more than delivery_limit times
                               v
    exchange <dead_letter_exchange> (fanout, durable) --> queue <dead_letter_queue> (quorum)

The consumer also publishes poison messages to the dead-letter exchange itself, with the
reason in the ``x-tryon-reason`` header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.settings import AnalyticsSettings

REASON_HEADER = "x-tryon-reason"


def queue_arguments(settings: AnalyticsSettings) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        # At-least-once dead-lettering (RabbitMQ 3.10+) needs reject-publish overflow.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-delivery-limit": settings.delivery_limit,
    }


def dead_letter_queue_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


def declare_blocking(channel: Any, settings: AnalyticsSettings) -> None:
    """Declare everything on a ``BlockingChannel`` (tools, tests, the dead-letter sink)."""
    for method, args, kwargs in _declarations(settings):
        getattr(channel, method)(*args, **kwargs)


def declare_async(channel: Any, settings: AnalyticsSettings, on_done: Callable[[], None]) -> None:
    """Declare everything on an asynchronous channel, one step after the other."""
    declarations = _declarations(settings)

    def run(index: int) -> None:
        if index == len(declarations):
            on_done()
            return
        method, args, kwargs = declarations[index]
        getattr(channel, method)(*args, callback=lambda _frame: run(index + 1), **kwargs)

    run(0)


def _declarations(s: AnalyticsSettings) -> list[tuple[str, tuple[str, ...], dict[str, Any]]]:
    return [
        (
            "exchange_declare",
            (s.dead_letter_exchange,),
            {"exchange_type": "fanout", "durable": True},
        ),
        (
            "queue_declare",
            (s.dead_letter_queue,),
            {"durable": True, "arguments": dead_letter_queue_arguments()},
        ),
        ("queue_bind", (s.dead_letter_queue, s.dead_letter_exchange), {"routing_key": ""}),
        ("exchange_declare", (s.exchange,), {"exchange_type": "direct", "durable": True}),
        ("queue_declare", (s.queue,), {"durable": True, "arguments": queue_arguments(s)}),
        ("queue_bind", (s.queue, s.exchange), {"routing_key": s.routing_key}),
    ]


def connection_parameters(settings: AnalyticsSettings) -> Any:
    """pika parameters from the URL, with every timeout set (an outage never hangs)."""
    import pika  # noqa: PLC0415 - only the RabbitMQ mode needs pika

    assert settings.amqp_url is not None
    params = pika.URLParameters(settings.amqp_url)
    params.connection_attempts = 1
    params.socket_timeout = settings.connect_timeout_s
    params.stack_timeout = settings.connect_timeout_s * 2
    params.blocked_connection_timeout = max(30.0, settings.connect_timeout_s)
    params.heartbeat = settings.heartbeat_s
    params.client_properties = {"connection_name": "tryon-analytics"}
    return params
