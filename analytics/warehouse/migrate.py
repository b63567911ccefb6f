"""Run the warehouse's own Alembic migrations (``tryon analytics migrate``).

They are separate from the gateway's: their own scripts (``analytics/migrations``) and their
own version table, so the warehouse can live in its own database or share one.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table

from analytics.warehouse.engine import ensure_sqlite_dir
from analytics.warehouse.partitions import is_partition

VERSION_TABLE = "analytics_alembic_version"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Daily partitions are made at run time, not by migrations: leave them out of diffs."""
    return not (type_ == "table" and name is not None and is_partition(name))


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


def ensure_schema(url: str) -> None:
    """Bring an embedded warehouse to the latest schema, quickly when it is new.

    A new, empty database gets the tables in one transaction and is stamped at the head
    revision (what running every migration would give: a test compares the two); an existing
    one is upgraded by the migrations. The gateway calls this at every start in the
    embedded mode.
    """
    from sqlalchemy import inspect  # noqa: PLC0415

    from analytics.settings import AnalyticsSettings  # noqa: PLC0415
    from analytics.warehouse.engine import make_engine  # noqa: PLC0415
    from analytics.warehouse.tables import metadata  # noqa: PLC0415

    # The writer engine: WAL, and one real transaction for all the DDL (pysqlite would
    # otherwise commit, and sync, after every CREATE).
    engine = make_engine(AnalyticsSettings(warehouse_url=url), pool_size=1, writer=True)
    try:
        with engine.begin() as conn:
            if inspect(conn).get_table_names():
                fresh = False
            else:
                fresh = True
                metadata.create_all(conn)
                head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
                version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32)))
                version.create(conn)
                conn.execute(version.insert(), {"version_num": head})
    finally:
        engine.dispose()
    if not fresh:
        upgrade(url)
