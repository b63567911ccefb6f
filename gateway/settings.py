"""Gateway configuration: one settings class, read from ``TRYON_*`` environment variables.

The defaults give the embedded mode (SQLite under ``TRYON_DATA_DIR``, in-process cache and
limits, ML in-process). Setting a URL switches that concern to its real service.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.storage import parse_s3_url

REPO_ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SECRET = "changethis"  # noqa: S105 - the value we refuse outside development

Environment = Literal["development", "test", "production"]


class GatewaySettings(BaseSettings):
    """Everything the gateway reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="TRYON_", extra="ignore")

    env: Environment = "development"
    data_dir: Path = Path("var")
    sdk_dir: Path = REPO_ROOT / "sdk_js"
    """The SDK package folder the gateway serves at ``/sdk``: ``package.json`` and the
    ``dist/`` its build writes."""

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
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Networks (CIDRs, comma-separated) of the proxies in front of the gateway "
        "whose X-Forwarded-For is believed; default none: the TCP peer is the client",
    )
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
    image_memory_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=16 * 1024 * 1024,
        description="Bytes that image decoding may hold at once in this process (estimated "
        "from each header before decoding); an image that alone needs more is refused (413)",
    )
    image_memory_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="How long a request waits for its share of image_memory_bytes before "
        "it is refused (503 with Retry-After)",
    )

    # Limits for publishable keys.
    rate_limit_per_key: int = Field(default=600, ge=1, description="Requests per key per minute")
    rate_limit_per_ip: int = Field(default=120, ge=1, description="Requests per IP per minute")
    rate_limit_window_s: float = Field(default=60.0, gt=0)
    rate_limit_auth_failures_per_ip: int = Field(
        default=30,
        ge=1,
        description="Requests refused for their key (401, 403) per client IP per window; "
        "more get 429",
    )

    # Live try-on WebSocket.
    ws_max_frame_bytes: int = Field(default=512 * 1024, ge=1024)
    ws_max_fps: float = Field(default=30.0, gt=0)
    ws_idle_timeout_s: float = Field(default=30.0, gt=0)
    ws_max_session_s: float = Field(default=900.0, gt=0)
    ws_max_per_ip: int = Field(default=4, ge=1, description="Open live sessions per client IP")
    ws_max_per_key: int = Field(
        default=200, ge=1, description="Open live sessions per publishable key (per process)"
    )

    model_tryon_cache_ttl_s: int = Field(default=86_400, ge=1)
    recommend_catalog_ttl_s: float = Field(
        default=60.0,
        ge=0,
        description="Recommendations: how long a merchant's catalog facts stay cached",
    )
    recommend_cooccurrence_ttl_s: float = Field(
        default=600.0,
        ge=1,
        description="Recommendations: how often a merchant's co-occurrence is read again from "
        "the warehouse (in the background; the old one answers meanwhile)",
    )
    recommend_window_days: int = Field(default=180, ge=1, le=3650)
    recommend_half_life_days: float = Field(default=30.0, gt=0)
    recommend_min_support: int = Field(
        default=2, ge=1, description="Baskets a pair needs before it counts as together"
    )
    widget_cache_ttl_s: float = Field(
        default=30.0,
        ge=0,
        description="How long widget reads (keys, products, brand models, quota use) stay "
        "cached at most; writes invalidate them at once, this bounds what invalidation cannot "
        "see. 0 turns the cache off",
    )

    # Store connections core (gateway/platforms/): durable jobs and webhook intake.
    platform_worker: bool = Field(
        default=True,
        description="Run the platform job worker in this process (embedded mode); scale-out "
        "runs `tryon platforms worker` instead and sets this false on the API replicas",
    )
    platform_worker_start_delay_s: float = Field(
        default=0.0, ge=0, description="Wait this long before the worker takes its first job"
    )
    platform_worker_poll_s: float = Field(default=1.0, gt=0)
    platform_job_max_attempts: int = Field(
        default=8, ge=1, description="A job failing this many times is dead (operator sees it)"
    )
    platform_job_backoff_s: float = Field(default=5.0, gt=0, description="First retry delay")
    platform_job_lease_s: float = Field(
        default=600.0, gt=0, description="A running job whose worker died is retried after it"
    )
    platform_webhook_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Webhook bodies above this are refused (413) before they are read (order "
        "bodies can pass the 256 KiB other JSON bodies get)",
    )
    platform_order_pull_interval_s: float = Field(
        default=600.0,
        ge=10,
        description="How often orders are pulled from platforms that send no order webhooks "
        "(Magento): the safety net under the module's own posts",
    )
    platform_image_max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    platform_image_timeout_s: float = Field(default=20.0, gt=0)
    analytics_retention_days: int = Field(
        default=730, ge=1, description="Warehouse rows kept for merchants with no own setting"
    )

    # Shopify app (gateway/platforms/shopify/): the app's client id and secret from the
    # Partner Dashboard, the scopes the install asks for, the Admin API version we speak.
    shopify_api_key: str = Field(default="", description="The Shopify app's client id")
    shopify_api_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The Shopify app's client secret: signs installs, webhooks, session tokens",
    )
    shopify_scopes: str = Field(
        default="read_products,read_orders,write_pixels,read_customer_events",
        description="Comma-separated access scopes the install asks for; a grant with fewer "
        "is refused",
    )
    shopify_api_version: str = Field(
        default="2025-10", pattern=r"^[0-9]{4}-[0-9]{2}$", description="Admin API version"
    )
    shopify_page_size: int = Field(
        default=20,
        ge=1,
        le=20,
        description="Products per GraphQL catalog page (about 48 cost points each: 20 keeps "
        "a query under Shopify's 1,000-point limit)",
    )

    # BigCommerce app (gateway/platforms/bigcommerce/): the app's client id and secret from the
    # Developer Portal (the secret signs load/uninstall JWTs and derives per-store hook secrets).
    bigcommerce_client_id: str = Field(default="", description="The BigCommerce app's client id")
    bigcommerce_client_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The BigCommerce app's client secret: signs load/uninstall/remove_user "
        "callbacks, is the token exchange's secret and keys the per-store webhook secrets",
    )
    bigcommerce_scopes: str = Field(
        default="store_v2_products_read_only,store_v2_orders_read_only,store_v2_content,"
        "store_v2_information_read_only",
        description="Comma-separated OAuth scopes the app is registered with; a grant missing "
        "one is refused",
    )
    bigcommerce_page_size: int = Field(
        default=50, ge=1, le=250, description="Products per v3 catalog page (BigCommerce: 250 max)"
    )

    # WooCommerce (gateway/platforms/woocommerce/): no app registration; stores connect through
    # WooCommerce's key exchange (/wc-auth/v1/authorize) and their URL is the merchant's.
    woocommerce_app_name: str = Field(
        default="Virtual try-on",
        min_length=1,
        max_length=64,
        description="The app name WooCommerce shows the merchant when it asks to grant keys",
    )
    woocommerce_page_size: int = Field(
        default=50, ge=1, le=100, description="Products per WC REST catalog page (100 max)"
    )
    # Magento 2 (gateway/platforms/magento/): the integration's credentials arrive per store at
    # activation (OAuth 1.0a); nothing app-wide is needed but these.
    magento_enabled: bool = Field(
        default=True, description="Accept Magento integration activations and order posts"
    )
    magento_page_size: int = Field(
        default=50, ge=1, le=300, description="Products and orders per REST searchCriteria page"
    )
    magento_allow_http: bool = Field(
        default=False,
        description="Accept http:// store base URLs (development stores only; refused in "
        "production)",
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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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

    @model_validator(mode="after")
    def _check_shopify(self) -> GatewaySettings:
        if self.shopify_api_key and not self.shopify_api_secret.get_secret_value():
            raise ValueError("TRYON_SHOPIFY_API_KEY needs TRYON_SHOPIFY_API_SECRET")
        return self

    @model_validator(mode="after")
    def _check_magento(self) -> GatewaySettings:
        if self.magento_allow_http and self.env == "production":
            raise ValueError("TRYON_MAGENTO_ALLOW_HTTP is refused when TRYON_ENV=production")
        return self

    @model_validator(mode="after")
    def _check_bigcommerce(self) -> GatewaySettings:
        if self.bigcommerce_client_id and not self.bigcommerce_client_secret.get_secret_value():
            raise ValueError("TRYON_BIGCOMMERCE_CLIENT_ID needs TRYON_BIGCOMMERCE_CLIENT_SECRET")
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
