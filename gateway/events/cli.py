"""``tryon dashboard link``: a one-time sign-in link to a merchant's dashboard."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from gateway.cli_errors import fail

app = typer.Typer(help="The merchant dashboard.", no_args_is_help=True)


@app.command("link")
def link(
    merchant: Annotated[
        str, typer.Option(help="The merchant's id (from 'tryon merchant create') or exact name")
    ],
    ttl_minutes: Annotated[
        int, typer.Option(min=1, max=24 * 60, help="Minutes until the link expires")
    ] = 15,
) -> None:
    """Print a signed, single-use, expiring sign-in link to the merchant's dashboard."""
    from pydantic import ValidationError  # noqa: PLC0415
    from sqlalchemy import select  # noqa: PLC0415
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415

    from gateway.db.session import make_engine, session_scope  # noqa: PLC0415
    from gateway.events.dashboard import sign_in_link  # noqa: PLC0415
    from gateway.merchants.models import Merchant, MerchantStatus  # noqa: PLC0415
    from gateway.settings import get_settings  # noqa: PLC0415

    try:
        settings = get_settings()
    except ValidationError as exc:
        raise fail(f"bad configuration: {exc.errors()[0]['msg']}", 2) from None
    try:
        by_id: uuid.UUID | None = uuid.UUID(merchant)
    except ValueError:
        by_id = None
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            query = select(Merchant.id, Merchant.status)
            query = query.where(Merchant.id == by_id if by_id else Merchant.name == merchant)
            found = session.execute(query.limit(2)).all()
    except OperationalError as exc:
        raise fail(
            f"cannot use the database ({type(exc.orig).__name__}); run 'tryon db upgrade'?", 1
        ) from None
    finally:
        engine.dispose()
    if not found:
        raise fail(f"no merchant {merchant!r}", 1)
    if len(found) > 1:
        raise fail(f"several merchants are named {merchant!r}: pass the id", 1)
    merchant_id, status = found[0]
    if status is not MerchantStatus.ACTIVE:
        raise fail(f"merchant {merchant_id} is {status.value}", 1)
    from gateway import serving  # noqa: PLC0415

    # The port the running server listens on, even if TRYON_PORT was set only in its terminal.
    url = serving.public_url(settings)
    link_settings = settings.model_copy(update={"public_url": url})
    typer.echo(sign_in_link(link_settings, merchant_id, ttl_s=ttl_minutes * 60))
    typer.secho(
        f"Valid once, for {ttl_minutes} minutes. Anyone with it can sign in: keep it private.",
        err=True,
    )
