"""``tryon demo ...``: set up the demo store."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError

from gateway.cli_errors import fail

demo_app = typer.Typer(help="The demo store at /demo.", no_args_is_help=True)


@demo_app.command("seed")
def seed_command(
    origin: Annotated[
        list[str] | None,
        typer.Option(
            help="An origin the demo's publishable key accepts (repeatable) "
            "[default: TRYON_PUBLIC_URL's origin and its 127.0.0.1/localhost twin]"
        ),
    ] = None,
    model_photo: Annotated[
        list[Path] | None,
        typer.Option(
            help="A brand model photo (JPEG/PNG/WebP, one face) shoppers can try products on "
            "(repeatable)",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    assets: Annotated[
        bool, typer.Option(help="Prepare the products' try-on assets (runs the ML pipeline)")
    ] = True,
    migrate: Annotated[
        bool, typer.Option(help="Upgrade an embedded (SQLite) database first")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create the demo merchant, its key and products (safe to run again)."""
    from gateway.db.session import make_engine, session_scope  # noqa: PLC0415
    from gateway.origins import normalise_origin  # noqa: PLC0415
    from gateway.settings import get_settings  # noqa: PLC0415
    from gateway.web.demo.catalog import DEMO_MERCHANT_NAME  # noqa: PLC0415
    from gateway.web.demo.seed import default_origins, seed  # noqa: PLC0415

    try:
        settings = get_settings()
    except ValidationError as exc:
        raise fail(f"bad configuration: {exc.errors()[0]['msg']}", 2) from None
    try:
        origins = (
            [normalise_origin(o) for o in origin]
            if origin
            else default_origins(settings.public_url)
        )
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    if migrate and settings.is_embedded_db:
        from gateway.db import migrate as migrations  # noqa: PLC0415

        migrations.upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            report = seed(
                session=session,
                data_dir=settings.data_dir,
                public_url=settings.public_url,
                origins=origins,
            )
    except (OperationalError, ProgrammingError) as exc:
        raise fail(
            f"cannot use the database ({type(exc.orig).__name__}); run 'tryon db upgrade'?"
        ) from None
    finally:
        engine.dispose()
    prepared: dict[str, list[str]] = {}
    if assets or model_photo:
        from gateway.main import create_app  # noqa: PLC0415 - the whole app, only for this step
        from gateway.web.demo import assets as demo_assets  # noqa: PLC0415

        try:
            done = demo_assets.prepare(
                settings=settings,
                merchant_id=uuid.UUID(report.merchant_id),
                model_photos=list(model_photo or []),
                create_app=create_app,
            )
        except demo_assets.ModelPhotosRefused as exc:
            for line in exc.lines:
                typer.echo(f"  {line}", err=True)
            raise fail(
                "brand models: 0 added, a photo was refused (all or nothing: fix or leave it out)"
            ) from None
        except demo_assets.SeedAssetError as exc:
            raise fail(f"cannot prepare the demo's try-on assets: {exc}") from None
        prepared = asdict(done)
        report.assets_prepared = done.prepared
    if as_json:
        typer.echo(json.dumps({**asdict(report), **prepared}))
        return
    verb = "created" if report.merchant_created else "found"
    typer.echo(f"demo merchant {verb}: {report.merchant_id}")
    typer.echo(f"publishable key: {report.publishable_key}")
    typer.echo(
        f"products: {len(report.products_created)} created, {len(report.products_updated)} updated"
    )
    if prepared:
        typer.echo(
            f"try-on assets: {len(prepared['prepared'])} prepared, "
            f"{len(prepared['existing'])} already there; brand models: "
            f"{len(prepared['models_added'])} added, "
            f"{len(prepared['models_existing'])} already there"
        )
        for line in prepared["model_lines"]:
            typer.echo(f"  {line}")
    from gateway import serving  # noqa: PLC0415

    typer.echo(f"open {serving.public_url(settings).rstrip('/')}/demo")
    typer.echo(
        f"merchant dashboard: .venv/bin/tryon dashboard link --merchant '{DEMO_MERCHANT_NAME}'"
    )
