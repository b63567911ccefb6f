"""Run the warehouse's own Alembic migrations (``tryon analytics migrate``).

They are separate from the gateway's: their own scripts (``analytics/migrations``) and their
own version table, so the warehouse can live in its own database or share one.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from analytics.warehouse.engine import ensure_sqlite_dir

VERSION_TABLE = "analytics_alembic_version"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "analytics:migrations")
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
