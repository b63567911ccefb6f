"""Gateway configuration: one settings class, read from ``TRYON_*`` environment variables.

The defaults give the embedded mode (SQLite under ``TRYON_DATA_DIR``, in-process cache and
limits, ML in-process). Setting a URL switches that concern to its real service.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.storage import parse_s3_url

PLACEHOLDER_SECRET = "changethis"  # noqa: S105 - the value we refuse outside development

Environment = Literal["development", "test", "production"]


class GatewaySettings(BaseSettings):
    """Everything the gateway reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRYON_", extra="ignore")

    env: Environment = "development"
    data_dir: Path = Path("var")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir"
    )
    redis_url: str | None = Field(default=None, description="Redis URL; default: in-process")
    redis_prefix: str = "tryon:"
    ml_url: str | None = Field(default=None, description="Remote ML service; default: in-process")
    ml_timeout_s: float = Field(default=15.0, gt=0, description="Per call to a remote ML service")
    ml_concurrency: int = Field(
        default=0, ge=0, description="Concurrent ML calls; 0: one per CPU core"
    )
    storage_url: str | None = Field(
        default=None,
        description="Merchant blobs in object storage: s3://bucket/optional/prefix; "
        "default: files under the data dir",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint (MinIO, ...); default: AWS"
    )
    s3_region: str | None = Field(default=None, description="default: the AWS chain's region")
    s3_connect_timeout_s: float = Field(default=1.0, gt=0)
    s3_read_timeout_s: float = Field(default=5.0, gt=0)
    s3_max_attempts: int = Field(default=3, ge=1, description="Per call, the first included")
    s3_sse: Literal["AES256", "aws:kms"] | None = Field(
        default=None,
        description="Server-side encryption asked for on each PUT; default: the bucket's own "
        "(aws:kms without a key id means the account's aws/s3 key, not the bucket's)",
    )
    s3_sse_kms_key_id: str | None = Field(default=None, description="With s3_sse=aws:kms")
    public_url: str = Field(
        default="",
        description="Where browsers reach the API; default: http://<host>:<port> "
        "(127.0.0.1 for a wildcard host)",
    )

    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Signs cookies and one-time links and derives the at-rest encryption key."""

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True

    readiness_timeout_s: float = Field(default=2.0, gt=0)
    db_connect_timeout_s: int = Field(default=3, ge=1)
    redis_timeout_s: float = Field(default=0.5, gt=0)

    # Untrusted input (see SECURITY.md): checked before any decoding work is done.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_json_bytes: int = Field(default=256 * 1024, ge=1024)
    max_image_pixels: int = Field(default=24_000_000, ge=1)
    max_image_aspect: float = Field(default=5.0, ge=1.0)
    max_work_side: int = Field(default=2048, ge=64)
    """Larger uploads are downscaled to this long side before perception and rendering."""

    # Limits for publishable keys.
    rate_limit_per_key: int = Field(default=600, ge=1, description="Requests per key per minute")
    rate_limit_per_ip: int = Field(default=120, ge=1, description="Requests per IP per minute")
    rate_limit_window_s: float = Field(default=60.0, gt=0)

    # Live try-on WebSocket.
    ws_max_frame_bytes: int = Field(default=512 * 1024, ge=1024)
    ws_max_fps: float = Field(default=30.0, gt=0)
    ws_idle_timeout_s: float = Field(default=30.0, gt=0)
    ws_max_session_s: float = Field(default=900.0, gt=0)
    ws_max_per_ip: int = Field(default=4, ge=1, description="Open live sessions per client IP")

    model_tryon_cache_ttl_s: int = Field(default=86_400, ge=1)
    widget_cache_ttl_s: float = Field(
        default=30.0,
        ge=0,
        description="How long widget reads (keys, products, brand models, quota use) stay "
        "cached at most; writes invalidate them at once, this bounds what invalidation cannot "
        "see. 0 turns the cache off",
    )

    # Store platforms (gateway/platforms/): every outbound call goes through PlatformClient.
    platform_timeout_s: float = Field(
        default=10.0, gt=0, description="Per attempt of a call to a store platform"
    )
    platform_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Per call to a store platform, the first included"
    )
    platform_api_base_url: str | None = Field(
        default=None,
        description="Tests and local walkthroughs only (refused in production): send every "
        "platform call https://HOST/PATH?Q to {base}/HOST/PATH?Q, e.g. a local fake Shopify",
    )

    @field_validator("platform_api_base_url")
    @classmethod
    def _check_platform_api_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("TRYON_PLATFORM_API_BASE_URL must be an http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("TRYON_PLATFORM_API_BASE_URL takes no query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_platform_override_in_production(self) -> GatewaySettings:
        if self.platform_api_base_url and self.env == "production":
            raise ValueError(
                "TRYON_PLATFORM_API_BASE_URL redirects every store platform call: it is for "
                "tests and local walkthroughs and is refused when TRYON_ENV=production"
            )
        return self

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: str | None) -> str | None:
        if value:
            parse_s3_url(value)
        return value or None

    @model_validator(mode="after")
    def _check_sse(self) -> GatewaySettings:
        if self.s3_sse_kms_key_id and self.s3_sse != "aws:kms":
            raise ValueError("TRYON_S3_SSE_KMS_KEY_ID needs TRYON_S3_SSE=aws:kms")
        return self

    @model_validator(mode="after")
    def _default_public_url(self) -> GatewaySettings:
        # The demo's key, the dashboard's links and same-origin widget calls all use it: it
        # must follow TRYON_PORT when it is not set.
        if not self.public_url:
            host = "127.0.0.1" if self.host in {"", "0.0.0.0", "::"} else self.host  # noqa: S104
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> GatewaySettings:
        if self.env != "development" and (
            self.secret_key.get_secret_value() in {PLACEHOLDER_SECRET, ""}
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "TRYON_SECRET_KEY must be set to a random value of 32+ characters "
                f"when TRYON_ENV={self.env} (try: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tryon.db'}"

    @property
    def is_embedded_db(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@functools.cache
def get_settings() -> GatewaySettings:
    """The process-wide settings, read once."""
    return GatewaySettings()
