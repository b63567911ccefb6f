"""The ``tryon`` command line."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from analytics import cli as analytics_cli
from gateway.assets import cli as storage_cli
from gateway.cli_errors import fail
from gateway.events import cli as dashboard_cli
from gateway.logging import configure as configure_logging
from gateway.platforms import cli as platforms_cli
from gateway.settings import GatewaySettings, get_settings
from gateway.web.cli import demo_app
from ml_service import cli as ml_cli
from ml_service import ports
from ml_service.render import cli as render_cli

if TYPE_CHECKING:
    import uvicorn

app = typer.Typer(
    name="tryon",
    help="Virtual try-on: run the server, manage the database, merchants and storage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
merchant_app = typer.Typer(help="Merchants (tenants) and their keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(merchant_app, name="merchant")
app.add_typer(demo_app, name="demo")
ml_app = typer.Typer(help="The ML service (the try-on engine over HTTP).", no_args_is_help=True)
app.add_typer(ml_app, name="ml")
app.add_typer(ml_cli.models_app, name="models")
app.command()(ml_cli.analyze)
app.add_typer(analytics_cli.app, name="analytics")
app.add_typer(dashboard_cli.app, name="dashboard")
app.add_typer(storage_cli.app, name="storage")
app.command()(render_cli.render)
app.add_typer(platforms_cli.stores_app, name="stores")
app.add_typer(platforms_cli.platforms_app, name="platforms")
# The retention job needs each merchant's setting (gateway data) and the warehouse: it is the
# gateway's command, mounted with the analytics ones (analytics imports nothing of ours).
analytics_cli.app.command("retention")(platforms_cli.retention)


def _settings() -> GatewaySettings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"bad configuration: {first['msg']}", 2) from None


PortFile = Annotated[
    Path | None,
    typer.Option(
        help="Write the bound port to this file once listening (with --port 0: the OS chooses)"
    ),
]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind [default: TRYON_HOST]")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port; 0 lets the OS choose [default: TRYON_PORT]"),
    ] = None,
    port_file: PortFile = None,
    migrate: Annotated[
        bool, typer.Option(help="Upgrade an embedded (SQLite) database before serving")
    ] = True,
) -> None:
    """Start the gateway (embedded mode unless URLs in the environment say otherwise)."""
    import uvicorn  # noqa: PLC0415 - heavy, only for this command

    from gateway.websocket_protocol import WebSocketProtocol  # noqa: PLC0415

    # The app reads its settings from the environment: the options must reach it there, or
    # its default public URL (same-origin widget calls, links) would name another port.
    if host is not None:
        os.environ["TRYON_HOST"] = host
    get_settings.cache_clear()
    settings = _settings()
    sock = _listen(settings.host, settings.port if port is None else port)
    os.environ["TRYON_PORT"] = str(ports.port_of(sock))
    get_settings.cache_clear()
    settings = _settings()
    if migrate and settings.is_embedded_db:
        from gateway.db import migrate as migrations  # noqa: PLC0415

        migrations.upgrade(settings.sqlalchemy_url)
    config = uvicorn.Config(
        "gateway.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws=WebSocketProtocol,
        # X-Forwarded-For and -Proto only from the proxies named in TRYON_TRUSTED_PROXIES
        # (uvicorn's default would trust 127.0.0.1: anything on the host could pick its address).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=[str(net) for net in settings.trusted_proxies],
        # Frames over the cap are refused by the protocol layer before they are buffered.
        ws_max_size=settings.ws_max_frame_bytes + 1024,
        # No permessage-deflate: live frames are JPEG, which deflate cannot shrink; compressing
        # each answer cost more than half of the event loop's time at 8 live sessions
        # (py-spy, docs/performance.md).
        ws_per_message_deflate=False,
    )
    from gateway import serving  # noqa: PLC0415

    noted = serving.note(settings)
    try:
        _serve_on(uvicorn.Server(config), sock, port_file)
    finally:
        serving.forget(noted)


def _listen(host: str, port: int) -> socket.socket:
    try:
        return ports.listen(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None


def _serve_on(server: uvicorn.Server, sock: socket.socket, port_file: Path | None) -> None:
    """Serve on the bound socket; the port file appears only once it accepts connections."""
    with sock:
        if port_file is not None:
            ports.write_port_file(port_file, ports.port_of(sock))
        server.run(sockets=[sock])
    if not server.started:  # as uvicorn.run: the application failed to start
        raise typer.Exit(3)


@ml_app.command("serve")
def ml_serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 lets the OS choose")] = 8001,
    port_file: PortFile = None,
    warm: Annotated[bool, typer.Option(help="Load the models before accepting requests")] = True,
) -> None:
    """Serve the try-on engine over HTTP (the gateway uses it when TRYON_ML_URL is set)."""
    import uvicorn  # noqa: PLC0415 - heavy, only for this command

    from ml_service.engine import LocalEngine  # noqa: PLC0415
    from ml_service.errors import MLError  # noqa: PLC0415
    from ml_service.service import create_service  # noqa: PLC0415

    configure_logging(level="INFO", json=True)
    engine = LocalEngine()
    if warm:
        try:
            engine.warm_up()
        except MLError as exc:
            raise fail(f"cannot load the models: {exc} (run 'tryon models build')") from None
    sock = _listen(host, port)
    config = uvicorn.Config(
        create_service(engine), host=host, port=ports.port_of(sock), log_config=None
    )
    _serve_on(uvicorn.Server(config), sock, port_file)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from gateway.db import migrate as migrations  # noqa: PLC0415

    settings = _settings()
    try:
        migrations.upgrade(settings.sqlalchemy_url, revision)
    except OperationalError as exc:
        raise fail(f"cannot reach the database: {type(exc.orig).__name__}") from None
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Option(help="Target revision ('base' empties it)")],
) -> None:
    """Revert migrations down to REVISION."""
    from gateway.db import migrate as migrations  # noqa: PLC0415

    settings = _settings()
    try:
        migrations.downgrade(settings.sqlalchemy_url, revision)
    except OperationalError as exc:
        raise fail(f"cannot reach the database: {type(exc.orig).__name__}") from None
    typer.echo(f"database at {revision}")


@merchant_app.command("create")
def merchant_create(
    name: Annotated[str, typer.Option(help="The merchant's display name")],
    origin: Annotated[
        list[str] | None,
        typer.Option(help="An origin allowed to use the publishable key (repeatable)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a merchant and print its keys. The secret key is shown this once only."""
    from gateway.db.session import make_engine, session_scope  # noqa: PLC0415
    from gateway.keys import service  # noqa: PLC0415
    from gateway.origins import normalise_origin  # noqa: PLC0415

    if not name.strip() or len(name) > 200:
        raise fail("--name must be 1 to 200 characters", 2)
    try:
        origins = [normalise_origin(o) for o in origin or []]
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    engine = make_engine(_settings())
    try:
        with session_scope(engine) as session:
            created = service.create_merchant(session=session, name=name, allowed_origins=origins)
    except OperationalError as exc:
        raise fail(
            f"cannot use the database ({type(exc.orig).__name__}); run 'tryon db upgrade'?"
        ) from None
    finally:
        engine.dispose()
    out = {
        "merchant_id": str(created.merchant.id),
        "name": created.merchant.name,
        "publishable_key": created.publishable_key,
        "secret_key": created.secret_key,
    }
    if as_json:
        typer.echo(json.dumps(out))
        return
    for label, value in out.items():
        typer.echo(f"{label:16} {value}")
    typer.secho("Store the secret key now: it cannot be shown again.", err=True, bold=True)


def main() -> None:
    app()
