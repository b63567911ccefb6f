"""The long-lived parts of a running gateway, built once from settings by ``create_app``.

Each is chosen by configuration: Redis or in-process limits and caches, local files or object
storage for merchant blobs, local or remote ML.
Routers reach them through ``RuntimeDep``; nothing here connects at import time.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

import anyio
import redis
from fastapi import Depends, Request

from gateway.cache import ByteCache, MemoryCache, RedisCache
from gateway.errors import Forbidden, RateLimited, Unauthorized
from gateway.images import ImageLimits
from gateway.keys.service import TouchThrottle
from gateway.limits.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    retry_after_header,
)
from gateway.memory import MemoryBudget
from gateway.metrics import Metrics
from gateway.ml import AssetCache, build_engine
from gateway.readcache import ReadCache
from gateway.settings import GatewaySettings
from gateway.storage import LocalStorage, S3Storage, Storage, parse_s3_url, s3_client
from ml_service.engine import TryOnEngine


@dataclass
class Runtime:
    settings: GatewaySettings
    limiter: RateLimiter
    cache: ByteCache
    storage: Storage
    metrics: Metrics
    ml: TryOnEngine
    assets: AssetCache
    ml_slots: anyio.CapacityLimiter
    """Bounds concurrent ML work (CPU-bound): more callers wait rather than thrash."""
    reads: ReadCache
    """Widget reads (keys, products, brand models, quota use), invalidated on commit."""
    image_memory: MemoryBudget
    """Bytes that image decoding may hold at once (``gateway.memory``)."""
    key_touches: TouchThrottle = field(default_factory=TouchThrottle)
    redis: redis.Redis | None = None
    live_by_ip: dict[str, int] = field(default_factory=dict)
    """Open live WebSockets per client address (this process), for the concurrency cap."""
    clock: Callable[[], float] = time.monotonic
    """Seconds on a monotonic clock, for rate decisions (live frame caps); tests inject one."""
    live_by_key: dict[uuid.UUID, int] = field(default_factory=dict)
    """Open live WebSockets per publishable key id (this process), for the concurrency cap."""

    @property
    def image_limits(self) -> ImageLimits:
        s = self.settings
        return ImageLimits(
            max_bytes=s.max_upload_bytes,
            max_pixels=s.max_image_pixels,
            max_aspect=s.max_image_aspect,
        )

    @contextlib.contextmanager
    def counting_failures(self, client_ip: str) -> Iterator[None]:
        """Count a key refused in the body (401, 403) against the caller's address; past
        ``TRYON_RATE_LIMIT_AUTH_FAILURES_PER_IP`` a window the answer is 429 instead, so
        guessing or replaying keys from one address is slowed down like any other flood."""
        try:
            yield
        except (Unauthorized, Forbidden):
            s = self.settings
            decision = self.limiter.hit(
                f"authfail:{client_ip}",
                limit=s.rate_limit_auth_failures_per_ip,
                window_s=s.rate_limit_window_s,
            )
            if decision.allowed:
                raise
            self.metrics.rejections.labels("auth_failures").inc()
            raise RateLimited(
                "Too many requests with refused keys from this address; slow down",
                retry_after=retry_after_header(decision),
            ) from None

    def close(self) -> None:
        if self.redis is not None:
            self.redis.close()
        if isinstance(self.storage, S3Storage):
            self.storage.close()
        if self.settings.ml_url:
            self.ml.close()  # the shared in-process engine outlives any one app


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
"""The app's runtime, for routers (no I/O: an ``async`` dependency costs no thread hop)."""


def build_storage(settings: GatewaySettings) -> Storage:
    """Object storage when ``TRYON_STORAGE_URL`` is set (shared by every replica), else files
    under the data dir."""
    if not settings.storage_url:
        return LocalStorage(settings.data_dir / "blobs")
    bucket, prefix = parse_s3_url(settings.storage_url)
    client = s3_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_read_timeout_s,
        max_attempts=settings.s3_max_attempts,
        # One connection per worker thread that may call it (AnyIO's default pool is 40).
        max_connections=40,
    )
    return S3Storage(
        client, bucket, prefix, sse=settings.s3_sse, sse_kms_key_id=settings.s3_sse_kms_key_id
    )


def build_runtime(settings: GatewaySettings) -> Runtime:
    """Pick each backend from the settings (Redis when configured, in-process otherwise)."""
    client: redis.Redis | None = None
    limiter: RateLimiter
    cache: ByteCache
    reads_backend: ByteCache
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
            health_check_interval=10,
        )
        limiter = RedisRateLimiter(client, settings.redis_prefix)
        cache = reads_backend = RedisCache(client, settings.redis_prefix)
    else:
        limiter = MemoryRateLimiter()
        cache = MemoryCache()
        # Its own LRU: large brand model renders must not push out the small hot records.
        reads_backend = MemoryCache(max_bytes=16 * 1024 * 1024)
    storage = build_storage(settings)
    slots = settings.ml_concurrency or (os.cpu_count() or 1)
    metrics = Metrics()
    return Runtime(
        settings=settings,
        limiter=limiter,
        cache=cache,
        storage=storage,
        metrics=metrics,
        ml=build_engine(settings),
        assets=AssetCache(storage),
        ml_slots=anyio.CapacityLimiter(slots),
        reads=ReadCache(reads_backend, ttl_s=settings.widget_cache_ttl_s, metrics=metrics),
        image_memory=MemoryBudget(settings.image_memory_bytes, wait_s=settings.image_memory_wait_s),
        redis=client,
    )
