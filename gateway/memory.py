"""Memory for image work, bounded in bytes rather than in requests.

A small file can declare a large image (a 23 kB PNG of 4896 x 4896 zeros decodes to 24 MB of
pixels, and to several times that in copies), so counting requests bounds nothing. Each
decode first takes its peak size (``gateway.images.decode_cost``, from the header) out of one
byte budget per process and gives it back when done; a request that cannot get its share within
``wait_s`` is refused with 503 and ``Retry-After``, one that alone needs more than the whole
budget with 413. Afterwards ``release_freed_memory`` hands what the allocator kept back to the
system, so a burst does not leave the process at its peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from gateway.errors import ImageTooLarge, ServiceUnavailable


class MemoryBudget:
    """Bytes that image work in progress may hold at once (one per process, async callers)."""

    def __init__(self, capacity_bytes: int, *, wait_s: float) -> None:
        self.capacity_bytes = capacity_bytes
        self.wait_s = wait_s
        self.in_use = 0
        self._changed = anyio.Condition()

    @asynccontextmanager
    async def hold(self, nbytes: int, *, what: str = "This image") -> AsyncIterator[None]:
        """Hold ``nbytes`` of the budget for the body of the ``async with``."""
        nbytes = max(0, nbytes)
        if nbytes > self.capacity_bytes:
            raise ImageTooLarge(
                f"{what} needs {_mib(nbytes)} MiB of memory to decode; this server allows "
                f"{_mib(self.capacity_bytes)} MiB. Send a smaller image",
                limit_bytes=self.capacity_bytes,
            )
        async with self._changed:
            with anyio.move_on_after(self.wait_s):
                while self.in_use + nbytes > self.capacity_bytes:
                    await self._changed.wait()
            if self.in_use + nbytes > self.capacity_bytes:
                raise ServiceUnavailable(
                    "The server is busy with other images; try again shortly",
                    retry_after=max(1, math.ceil(self.wait_s)),
                )
            self.in_use += nbytes
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with self._changed:
                    self.in_use -= nbytes
                    self._changed.notify_all()


def _mib(nbytes: int) -> int:
    return math.ceil(nbytes / (1 << 20))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only: musl and others have none
    except (OSError, AttributeError):
        return None
    return libc


def release_freed_memory() -> bool:
    """Return the allocator's free pages to the system (glibc ``malloc_trim``); False where
    there is no such call."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
