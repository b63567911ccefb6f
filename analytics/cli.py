"""``tryon analytics ...``: run the consumer, migrate the warehouse, inspect dead letters.

The gateway's CLI mounts this Typer app; it imports nothing from the gateway.
"""

from __future__ import annotations

import json
import signal
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from analytics.settings import AnalyticsSettings

app = typer.Typer(
    help="Analytics: the RabbitMQ consumer and the warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _settings() -> AnalyticsSettings:
    try:
        return AnalyticsSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _fail(f"bad configuration ({where}): {first['msg']}", 2) from None


@app.command()
def consume(
    migrate: Annotated[
        bool, typer.Option(help="Upgrade the warehouse schema before consuming")
    ] = False,
    log_level: Annotated[str, typer.Option(help="Log level")] = "INFO",
) -> None:
    """Consume events from RabbitMQ into the warehouse until SIGTERM or SIGINT."""
    from analytics import logs  # noqa: PLC0415
    from analytics.dead_letters import AmqpDeadLetters  # noqa: PLC0415
    from analytics.processing import BatchProcessor  # noqa: PLC0415
    from analytics.transport.amqp_consumer import AmqpConsumer  # noqa: PLC0415
    from analytics.warehouse import migrate as migrations  # noqa: PLC0415
    from analytics.warehouse.engine import make_engine  # noqa: PLC0415
    from analytics.warehouse.writer import Warehouse  # noqa: PLC0415

    settings = _settings()
    if settings.amqp_url is None:
        raise _fail(
            "TRYON_ANALYTICS_AMQP_URL is not set: in the embedded mode the gateway consumes "
            "in-process, there is nothing to run",
            2,
        )
    logs.configure(log_level)
    if migrate:
        _upgrade(settings, "head", migrations.upgrade)
    engine = make_engine(settings)
    dead_letters = AmqpDeadLetters(settings)
    consumer = AmqpConsumer(
        settings,
        BatchProcessor(warehouse=Warehouse(engine), dead_letters=dead_letters),
    )

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        consumer.run()
    finally:
        dead_letters.close()
        engine.dispose()


def _upgrade(settings: AnalyticsSettings, revision: str, action: object) -> None:
    try:
        action(settings.sqlalchemy_url, revision)  # type: ignore[operator]
    except OperationalError as exc:
        raise _fail(f"cannot reach the warehouse: {type(exc.orig).__name__}") from None


@app.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead")] = False,
) -> None:
    """Upgrade (or with --down, downgrade) the warehouse schema."""
    from analytics.warehouse import migrate as migrations  # noqa: PLC0415

    settings = _settings()
    _upgrade(settings, revision, migrations.downgrade if down else migrations.upgrade)
    typer.echo(f"warehouse at {revision}")


@app.command("dead-letters")
def dead_letters_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to show")] = 20,
) -> None:
    """List the embedded mode's dead letters (RabbitMQ mode: see the dead-letter queue)."""
    from sqlalchemy import select  # noqa: PLC0415

    from analytics.warehouse.engine import make_engine  # noqa: PLC0415
    from analytics.warehouse.tables import dead_letter  # noqa: PLC0415

    engine = make_engine(_settings())
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(dead_letter).order_by(dead_letter.c.id.desc()).limit(limit)
            ).all()
    except OperationalError as exc:
        raise _fail(f"cannot read the warehouse ({type(exc.orig).__name__}); migrated?") from None
    finally:
        engine.dispose()
    for row in rows:
        typer.echo(
            json.dumps(
                {
                    "id": row.id,
                    "dead_at": row.dead_at.isoformat(),
                    "reason": row.reason,
                    "bytes": len(row.body),
                }
            )
        )
