"""Analytics configuration: one settings class, read from ``TRYON_ANALYTICS_*`` variables.

The defaults give the embedded mode: an in-process queue drained by a consumer thread inside
the gateway, into a SQLite warehouse file under ``TRYON_DATA_DIR``. Setting
``TRYON_ANALYTICS_AMQP_URL`` switches the transport to RabbitMQ (the consumer then runs as
``tryon analytics consume``); ``TRYON_ANALYTICS_WAREHOUSE_URL`` switches the warehouse to
PostgreSQL. The two choices are independent.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """Everything the analytics publisher, consumer and warehouse read from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="TRYON_ANALYTICS_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("TRYON_ANALYTICS_DATA_DIR", "TRYON_DATA_DIR", "data_dir"),
        description="Where the embedded warehouse and the spool live (shared with the gateway)",
    )
    amqp_url: str | None = Field(
        default=None, description="RabbitMQ URL; default: in-process queue and consumer thread"
    )
    warehouse_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the warehouse; default: SQLite in data_dir"
    )

    # Broker topology. Tests give each run names of its own.
    exchange: str = "tryon.analytics"
    queue: str = "tryon.analytics.events"
    routing_key: str = "event.v1"
    dead_letter_exchange: str = "tryon.analytics.dlx"
    dead_letter_queue: str = "tryon.analytics.dead"
    delivery_limit: int = Field(
        default=20, ge=2, description="Redeliveries after which the broker dead-letters a message"
    )

    # Publisher.
    buffer_max_events: int = Field(
        default=20_000, ge=1, description="Events held while the broker is slow or down; then 503"
    )
    max_in_flight: int = Field(default=2_000, ge=1, description="Unconfirmed publishes at once")

    # Consumer.
    # Chosen by measurement (docs/analytics.md, ``make bench-analytics``): a batch is written
    # with COPY in a handful of round trips whatever its size, so larger batches cost less
    # per event; the prefetch holds two batches, one being written while the next arrives.
    prefetch: int = Field(default=1000, ge=100, le=10_000)
    batch_size: int = Field(default=500, ge=1, le=5_000)
    batch_max_wait_ms: int = Field(default=200, ge=1, le=10_000)

    alive_file: Path | None = Field(
        default=None,
        description="Touched every alive_interval_s while the consumer works (liveness probes)",
    )
    alive_interval_s: float = Field(default=5.0, gt=0)
    stuck_after_s: float = Field(
        default=600.0, gt=0, description="A batch in hand this long stops the liveness touches"
    )

    # Connections.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    heartbeat_s: int = Field(default=30, ge=0)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    shutdown_timeout_s: float = Field(default=10.0, gt=0)

    # Ingestion policy (what the gateway accepts from browsers).
    max_body_bytes: int = Field(default=128 * 1024, ge=1024)
    max_batch_events: int = Field(default=100, ge=1, le=1000)
    max_event_age_hours: int = Field(
        default=7 * 24, ge=1, description="Older events are refused (clock or replay)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> AnalyticsSettings:
        if self.batch_size > self.prefetch:
            raise ValueError("TRYON_ANALYTICS_BATCH_SIZE cannot exceed TRYON_ANALYTICS_PREFETCH")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("TRYON_ANALYTICS_RECONNECT_MIN_S exceeds RECONNECT_MAX_S")
        if self.amqp_url is not None and urlsplit(self.amqp_url).scheme not in {"amqp", "amqps"}:
            raise ValueError("TRYON_ANALYTICS_AMQP_URL must be an amqp:// or amqps:// URL")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The warehouse URL, defaulting to a SQLite file in the data dir."""
        if self.warehouse_url:
            return self.warehouse_url
        return f"sqlite:///{self.data_dir / 'analytics.db'}"

    @property
    def is_embedded_transport(self) -> bool:
        return self.amqp_url is None

    @property
    def is_embedded_warehouse(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "analytics-spool"

    @property
    def safe_amqp_url(self) -> str:
        """The AMQP URL with its password removed, for logs and messages."""
        if not self.amqp_url:
            return ""
        parts = urlsplit(self.amqp_url)
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" if parts.username else host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
