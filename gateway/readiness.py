"""Readiness probes: one per dependency the configured mode relies on, each time-boxed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, text

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


def amqp_probe(url: str, timeout_s: float) -> Probe:
    """The broker answers the AMQP 0-9-1 protocol header with a Connection.Start frame."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (5671 if parts.scheme == "amqps" else 5672)

    async def probe() -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        try:
            writer.write(b"AMQP\x00\x00\x09\x01")
            await writer.drain()
            frame = await asyncio.wait_for(reader.readexactly(7), timeout_s)
            # Frame type 1 (method) on channel 0: Connection.Start.
            if frame[0] != 1 or frame[1:3] != b"\x00\x00":
                raise ConnectionError("not an AMQP 0-9-1 broker")
        finally:
            writer.close()

    return probe
