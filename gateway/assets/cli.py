"""``tryon storage sweep``: delete merchant blobs that no row names any more."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import typer

from gateway.cli_errors import fail

app = typer.Typer(help="Blob storage (merchant assets and model photos).", no_args_is_help=True)

_DURATION = re.compile(r"([0-9]{1,7})([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """``24h``, ``90m``, ``7d``, ``1w``, ``1d12h``, ``3600s`` -> a timedelta."""
    value = text.strip().lower()
    if not value or _DURATION.sub("", value):
        raise ValueError(f"{text!r} is not a duration (like 24h, 90m, 7d or 1d12h)")
    total = timedelta()
    for amount, unit in _DURATION.findall(value):
        total += timedelta(**{_UNITS[unit]: int(amount)})
        if total > _MAX_DURATION:
            raise ValueError(f"{text!r} is longer than ten years")
    return total


@app.command("sweep")
def sweep_command(
    older_than: Annotated[
        str,
        typer.Option(
            help="Grace period: only blobs last written longer ago than this go (at least 1h; "
            "it protects uploads in flight and try-ons on a just-replaced asset version)"
        ),
    ] = "24h",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--delete", help="Only count what would go (the default), or delete it"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Delete blobs (prepared assets, model photos) that no asset or model row names, such as
    the previous version after an anchor edit, or the leftovers of a crash mid-upload. Only
    keys of the gateway's own layout are considered: anything else in the bucket or the data
    dir is left alone. Safe to run at any time, and again.
    """
    from pydantic import ValidationError  # noqa: PLC0415
    from sqlalchemy.exc import OperationalError, ProgrammingError  # noqa: PLC0415

    from gateway.assets import sweep  # noqa: PLC0415
    from gateway.db.session import make_engine, session_scope  # noqa: PLC0415
    from gateway.errors import DependencyUnavailable  # noqa: PLC0415
    from gateway.logging import configure as configure_logging  # noqa: PLC0415
    from gateway.runtime import build_storage  # noqa: PLC0415
    from gateway.settings import get_settings  # noqa: PLC0415
    from gateway.storage import S3Storage  # noqa: PLC0415

    try:
        grace = sweep.check_grace(parse_duration(older_than))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--older-than'") from None
    try:
        settings = get_settings()
    except ValidationError as exc:
        raise fail(f"bad configuration: {exc.errors()[0]['msg']}", 2) from None
    configure_logging(level=settings.log_level, json=settings.log_json)
    storage = build_storage(settings)
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            report = sweep.sweep(session=session, storage=storage, grace=grace, dry_run=dry_run)
    except (OperationalError, ProgrammingError) as exc:
        raise fail(
            f"cannot use the database ({type(exc.orig).__name__}); run 'tryon db upgrade'?"
        ) from None
    except DependencyUnavailable:
        raise fail(
            "object storage does not answer (TRYON_STORAGE_URL); nothing more done"
        ) from None
    finally:
        engine.dispose()
        if isinstance(storage, S3Storage):
            storage.close()
    if as_json:
        typer.echo(json.dumps({**asdict(report), "cutoff": report.cutoff.isoformat()}))
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"cutoff: {report.cutoff.isoformat(timespec='seconds')} (older than {grace})")
    typer.echo(f"scanned: {report.scanned} blobs ({report.foreign} others left alone)")
    typer.echo(f"referenced: {report.referenced}")
    typer.echo(f"unreferenced, within the grace: {report.young}")
    typer.echo(f"{verb}: {report.deleted} blobs, {report.deleted_bytes} bytes")
    if report.temp_deleted:
        typer.echo(
            f"{verb}: {report.temp_deleted} stale temporary files, {report.temp_bytes} bytes"
        )
    if dry_run:
        typer.secho("Dry run: nothing was deleted (--delete deletes).", err=True, bold=True)
