"""Run the gateway's Alembic migrations programmatically (``tryon db upgrade``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from gateway.settings import GatewaySettings, get_settings


def alembic_config(url: str | None = None, settings: GatewaySettings | None = None) -> Config:
    """Alembic configuration for the gateway database, URL from settings unless given."""
    cfg = Config()
    cfg.set_main_option("script_location", "gateway:migrations")
    cfg.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s",
    )
    cfg.set_main_option("sqlalchemy.url", url or (settings or get_settings()).sqlalchemy_url)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
