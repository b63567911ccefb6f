"""Prometheus metrics: one registry per app (so tests can build many apps), served at /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Every metric the gateway exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_latency = Histogram(
            "tryon_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage_latency = Histogram(
            "tryon_stage_duration_seconds",
            "Try-on latency per stage (decode, analyze, render, encode, ...) and mode",
            ["mode", "stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "tryon_cache_requests",
            "Cache lookups by cache and result (hit or miss)",
            ["cache", "result"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "tryon_limited_requests",
            "Requests refused by a limit (rate_key, rate_ip, quota, size, ws_*)",
            ["limit"],
            registry=self.registry,
        )
        self.live_frames = Counter(
            "tryon_live_frames",
            "Live frames by outcome (processed, dropped_stale, refused_rate, refused_size)",
            ["outcome"],
            registry=self.registry,
        )
        self.live_sessions = Gauge(
            "tryon_live_sessions", "Open live try-on WebSockets", registry=self.registry
        )

    @contextmanager
    def stage(self, mode: str, stage: str) -> Iterator[None]:
        """Time the body as one stage of a try-on."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_latency.labels(mode, stage).observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Observe the latency of every HTTP request under its route template (bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_latency.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )
