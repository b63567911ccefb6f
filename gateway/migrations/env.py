"""Alembic environment for the gateway database (URL from settings, batch mode on SQLite)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gateway.db.models import Base
from gateway.db.session import make_engine
from gateway.settings import GatewaySettings

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # `tryon db upgrade` passes the URL; a developer running `alembic` gets it from TRYON_*.
    url = config.get_main_option("sqlalchemy.url") or GatewaySettings().sqlalchemy_url
    # Only the URL and the connection timeouts matter here; reading (and caching) the
    # process settings would pin whatever environment the first migration ran in.
    settings = GatewaySettings.model_construct(database_url=url)
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
