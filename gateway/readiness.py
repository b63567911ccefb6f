"""Readiness probes: one per dependency the configured mode relies on, each time-boxed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, text

from gateway.storage import S3Storage

Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    ok: bool
    duration_ms: float
    error: str | None = None


def database_probe(engine: Engine) -> Probe:
    def check() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def probe() -> None:
        await asyncio.to_thread(check)

    return probe


def redis_probe(url: str, timeout_s: float) -> Probe:
    async def probe() -> None:
        import redis.asyncio as aioredis  # noqa: PLC0415 - only when Redis is configured

        client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    return probe


def storage_probe(storage: S3Storage) -> Probe:
    """The bucket answers a HEAD (the client's own timeouts and retries bound each try)."""

    async def probe() -> None:
        await asyncio.to_thread(storage.check)

    return probe


def http_probe(url: str, timeout_s: float) -> Probe:
    async def probe() -> None:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(url)
            response.raise_for_status()

    return probe


async def run_probes(probes: dict[str, Probe], timeout_s: float) -> list[ProbeResult]:
    """Run every probe concurrently; a probe that errs or outlasts ``timeout_s`` fails."""

    async def one(name: str, probe: Probe) -> ProbeResult:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(probe(), timeout_s)
        except TimeoutError:
            error: str | None = f"timed out after {timeout_s:g}s"
        except Exception as exc:
            error = type(exc).__name__
        else:
            error = None
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return ProbeResult(name, error is None, elapsed, error)

    return list(await asyncio.gather(*(one(n, p) for n, p in probes.items())))
