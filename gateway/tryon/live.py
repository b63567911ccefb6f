"""The live try-on WebSocket: JPEG frames in, rendered JPEG frames (or geometry) out.

Checked at the handshake, before ``accept``: the live sessions already open from the client's
address, the publishable key (``?key=``; refusals are rate limited per address), its allowed
origins against the ``Origin`` header, rate limits, the sessions already open on the key, and
the monthly quota (reserved; given back when the session does not start). Per connection:
frames above ``ws_max_frame_bytes`` end the connection (1009), frames above ``ws_max_fps`` are
dropped (a sustained flood ends it, 1008), an idle connection is closed (1001) and so is one
that has lasted ``ws_max_session_s``. Latest frame wins: while a frame is being processed only
the newest one received waits; older ones are dropped as stale, so a slow network or a slow
CPU lowers the frame rate instead of building a queue. A frame in which nobody can wear the
product comes back unchanged; a ``status`` message says so when it starts and when someone is
found again. Frames stay in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import anyio
import structlog
from fastapi import APIRouter, Query, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from gateway import images, problems
from gateway.clients import client_address
from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.errors import (
    GatewayError,
    InvalidImage,
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
)
from gateway.keys import service as keys
from gateway.ml import ML_EXCEPTIONS, from_ml_error
from gateway.runtime import Runtime
from gateway.tryon import service as tryons
from gateway.tryon.views import MAX_FACE_INDEX
from gateway.usage.service import Metric
from gateway.widget import auth as widget_auth
from ml_service.engine import LiveSession

router = APIRouter()
log = structlog.get_logger(__name__)
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011
FLOOD_FACTOR = 3.0  # frames arriving within one second at this many times the cap: a flood
FLOOD_WINDOW_S = 1.0
_CLOCK_SLACK_S = 1e-9  # float sums of frame intervals land a hair either side of a second
STATS_EVERY_S = 2.0


@dataclass
class FrameGate:
    """Per-connection frame rate cap: a token bucket of one second's frames (pure state).

    Frames over the cap are refused (no answer). A connection whose frames arrive at
    ``FLOOD_FACTOR`` times the cap or more over one second is flooding: every frame that
    arrived counts, answered or not (the rate ``docs/api.md`` promises to close at). The rate
    is counted in whole frames: at least ``ceil(FLOOD_FACTOR * fps)`` intervals between
    arrivals within one second."""

    fps: float
    tokens: float = 0.0
    last: float = 0.0
    arrivals: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.tokens = self.fps

    def admit(self, now: float) -> bool:
        """Whether the frame arriving at ``now`` (seconds, any monotonic clock) is processed."""
        self.arrivals.append(now)
        while self.arrivals and now - self.arrivals[0] > FLOOD_WINDOW_S + _CLOCK_SLACK_S:
            self.arrivals.popleft()
        self.tokens = min(self.fps, self.tokens + (now - self.last) * self.fps)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def flooding(self) -> bool:
        intervals = len(self.arrivals) - 1
        return intervals >= math.ceil(FLOOD_FACTOR * self.fps - _CLOCK_SLACK_S)


@dataclass
class Counters:
    received: int = 0
    processed: int = 0
    dropped_stale: int = 0
    refused_rate: int = 0
    started: float = field(default_factory=time.monotonic)

    def stats(self) -> dict[str, Any]:
        elapsed = max(1e-6, time.monotonic() - self.started)
        return {
            "type": "stats",
            "received": self.received,
            "processed": self.processed,
            "dropped_stale": self.dropped_stale,
            "refused_rate": self.refused_rate,
            "fps": round(self.processed / elapsed, 2),
        }


@dataclass
class Presence:
    """Whether the last processed frame had someone to try the product on (pure state).

    A connection starts as "found": a status message goes out only when that changes, so a
    shopper in view never sees one, and one who leaves the picture is told once."""

    missing: str | None = None
    """Why nobody could wear the product in the last frame (``no-face``, ``no-body``, ...)."""

    def update(self, missing: str | None) -> dict[str, Any] | None:
        """The status message to send for a frame, or None when nothing changed."""
        if missing == self.missing:
            return None
        self.missing = missing
        if missing is None:
            return {"type": "status", "subject_found": True}
        return {"type": "status", "subject_found": False, "reason": missing}


def missing_subject(geometry: dict[str, Any], output: str) -> str | None:
    """Why nobody in a processed frame can wear the product, or None (pure). Rendering
    reports it as ``skipped`` (the photo try-on's ``reason``s); geometry output has no
    faces."""
    skipped = geometry.get("skipped")
    if skipped:
        return str(skipped)
    if output == "geometry" and not geometry.get("faces"):
        return "no-face"
    return None


class _Closed(Exception):
    def __init__(self, code: int, reason: str, problem: GatewayError | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.problem = problem


async def _deny(websocket: WebSocket, exc: GatewayError) -> None:
    """Refuse the handshake with the problem as an HTTP response when the server can, or a
    policy close otherwise (the browser sees a failed connection either way); log it once."""
    log.info("live.refused", status=exc.status, reason=exc.slug, detail=str(exc))
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problems.from_error(exc))
    else:
        await websocket.close(code=CLOSE_POLICY, reason=exc.slug)


@router.websocket("/v1/widget/live")
async def live(
    websocket: WebSocket,
    *,
    key: Annotated[str | None, Query(max_length=64)] = None,
    product: Annotated[str | None, Query(max_length=128)] = None,
    variant: Annotated[str | None, Query(max_length=128)] = None,
    session: Annotated[str | None, Query(max_length=64)] = None,
    output: Annotated[Literal["render", "geometry"], Query()] = "render",
    face: Annotated[str | None, Query(max_length=8)] = None,
) -> None:
    runtime: Runtime = websocket.app.state.runtime
    chosen = face_index(face)
    engine = websocket.app.state.engine
    client_ip = client_address(websocket, runtime.settings.trusted_proxies)

    def authenticate() -> keys.Principal:
        with (
            runtime.counting_failures(client_ip),
            session_scope(engine) as db,
        ):
            principal = widget_auth.authenticate(
                session=db,
                runtime=runtime,
                raw_key=key,
                origin=widget_auth.page_origin(
                    origin=websocket.headers.get("origin"),
                    sec_fetch_site=websocket.headers.get("sec-fetch-site"),
                    public_url=runtime.settings.public_url,
                ),
                now=utcnow(),
            ).principal
        widget_auth.limit(runtime=runtime, principal=principal, client_ip=client_ip)
        return principal

    def plan(principal: keys.Principal) -> tryons.TryOnPlan:
        if not product:
            raise InvalidInput("Name the product: ?product=<id or external id>")
        if chosen is None:
            raise InvalidInput(f"face must be a whole number from 0 to {MAX_FACE_INDEX}")
        with session_scope(engine) as db:
            return tryons.begin(
                session=db,
                reads=runtime.reads,
                principal=principal,
                product_ref=product,
                variant_ref=variant,
                session_ref=session,
                now=utcnow(),
            )

    def release(plan: tryons.TryOnPlan) -> None:
        with session_scope(engine) as db:
            tryons.release(session=db, plan=plan)

    def count_live(plan: tryons.TryOnPlan) -> None:
        # One live try-on counts once against the quota, however many frames it has.
        with session_scope(engine) as db:
            tryons.finish(
                session=db,
                merchant_id=plan.merchant_id,
                session_id=None,
                metric=Metric.TRYON_LIVE,
                now=utcnow(),
                renders=0,
            )

    try:
        _take_slot(
            runtime, "ws_per_ip", runtime.live_by_ip, client_ip, runtime.settings.ws_max_per_ip
        )
    except RateLimited as exc:
        await _deny(websocket, exc)
        return
    try:
        await _run(
            websocket,
            runtime,
            _Handshake(authenticate, plan, release, count_live),
            output,
            chosen or 0,
        )
    finally:
        _give_slot(runtime.live_by_ip, client_ip)


def face_index(raw: str | None) -> int | None:
    """The handshake's ``face`` (pure): absent is 0; None when it is not 0-31 in digits.
    Checked by hand so that a bad value is refused like every other handshake problem (an
    HTTP problem response), not by a bare close."""
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_FACE_INDEX:
        return None
    return int(raw)


@dataclass(frozen=True, slots=True)
class _Handshake:
    """The blocking steps before a connection is accepted, in order (each on a worker thread)."""

    authenticate: Callable[[], keys.Principal]
    plan: Callable[[keys.Principal], tryons.TryOnPlan]
    """Reserves the live try-on against the quota."""
    release: Callable[[tryons.TryOnPlan], None]
    """Gives the reservation back when the session does not start."""
    count_live: Callable[[tryons.TryOnPlan], None]


def _take_slot(runtime: Runtime, scope: str, open_now: dict[K, int], owner: K, cap: int) -> None:
    """Take one of ``owner``'s ``cap`` live sessions (an address's, a key's), or
    ``RateLimited`` when all are open. Only the event loop's thread calls it (and
    ``_give_slot``), so the count needs no lock."""
    if open_now.get(owner, 0) >= cap:
        runtime.metrics.rejections.labels(scope).inc()
        what = "address" if scope == "ws_per_ip" else "key"
        raise RateLimited(f"At most {cap} live sessions per {what} at once", retry_after=5)
    open_now[owner] = open_now.get(owner, 0) + 1


def _give_slot(open_now: dict[K, int], owner: K) -> None:
    left = open_now.get(owner, 1) - 1
    if left > 0:
        open_now[owner] = left
    else:
        open_now.pop(owner, None)


async def _run(
    websocket: WebSocket, runtime: Runtime, steps: _Handshake, output: str, face: int
) -> None:
    try:
        principal = await run_in_threadpool(steps.authenticate)
    except Exception as exc:
        await _refuse(websocket, runtime, exc)
        return
    cap = runtime.settings.ws_max_per_key
    try:
        _take_slot(runtime, "ws_per_key", runtime.live_by_key, principal.key_id, cap)
    except RateLimited as exc:
        await _deny(websocket, exc)
        return
    try:
        await _start(websocket, runtime, steps, principal, output, face=face)
    finally:
        _give_slot(runtime.live_by_key, principal.key_id)


async def _refuse(websocket: WebSocket, runtime: Runtime, exc: Exception) -> None:
    """Refuse the handshake for ``exc``: a ``GatewayError``'s own problem, and for anything
    else (database outages and the like) still a clean refusal."""
    if isinstance(exc, GatewayError):
        runtime.metrics.rejections.labels("ws_handshake").inc()
        await _deny(websocket, exc)
        return
    log.warning("live.handshake_failed", error=type(exc).__name__)
    await _deny(websocket, problems.to_gateway_error(exc))


async def _start(
    websocket: WebSocket,
    runtime: Runtime,
    steps: _Handshake,
    principal: keys.Principal,
    output: str,
    *,
    face: int = 0,
) -> None:
    try:
        plan = await run_in_threadpool(steps.plan, principal)
    except Exception as exc:
        await _refuse(websocket, runtime, exc)
        return
    try:
        asset, _ = await run_in_threadpool(
            runtime.assets.get, str(plan.merchant_id), plan.asset_hash
        )
        live_session = await _ml(
            runtime,
            lambda: runtime.ml.live_session(
                asset, output="geometry" if output == "geometry" else "render", face=face
            ),
        )
        try:
            await run_in_threadpool(steps.count_live, plan)
        except BaseException:
            await run_in_threadpool(live_session.close)
            raise
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(steps.release, plan)
        if not isinstance(exc, Exception):
            raise
        await _refuse(websocket, runtime, exc)
        return

    await websocket.accept()
    runtime.metrics.live_sessions.inc()
    counters = Counters()
    try:
        await _serve(websocket, runtime, live_session, plan, output, counters)
    finally:
        runtime.metrics.live_sessions.dec()
        # Bookkeeping must finish even when the server cancels the handler on shutdown.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(live_session.close)
            await run_in_threadpool(lambda: _record(websocket, plan, counters))


def _record(websocket: WebSocket, plan: tryons.TryOnPlan, counters: Counters) -> None:
    with session_scope(websocket.app.state.engine) as db:
        tryons.finish(
            session=db,
            merchant_id=plan.merchant_id,
            session_id=plan.session_id,
            metric=Metric.LIVE_FRAMES,
            now=utcnow(),
            count=counters.processed,
            renders=counters.processed,
        )


async def _ml(runtime: Runtime, call: Callable[[], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(call, limiter=runtime.ml_slots)
    except ML_EXCEPTIONS as exc:
        raise from_ml_error(exc) from None


async def _serve(  # noqa: PLR0917 - one connection's whole state
    websocket: WebSocket,
    runtime: Runtime,
    live_session: LiveSession,
    plan: tryons.TryOnPlan,
    output: str,
    counters: Counters,
) -> None:
    s = runtime.settings
    await websocket.send_json(
        {
            "type": "hello",
            "session_id": str(plan.session_id) if plan.session_id else None,
            "output": output,
            "max_fps": s.ws_max_fps,
            "max_frame_bytes": s.ws_max_frame_bytes,
            "idle_timeout_s": s.ws_idle_timeout_s,
        }
    )
    latest: list[bytes] = []
    presence = Presence()
    wake = asyncio.Event()
    gate = FrameGate(s.ws_max_fps)
    limits = images.ImageLimits(
        max_bytes=s.ws_max_frame_bytes,
        max_pixels=min(s.max_image_pixels, 1920 * 1080),
        max_aspect=s.max_image_aspect,
    )
    deadline = time.monotonic() + s.ws_max_session_s

    async def receive() -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Closed(CLOSE_GOING_AWAY, "session time is up")
            try:
                message = await asyncio.wait_for(
                    websocket.receive(), timeout=min(s.ws_idle_timeout_s, remaining)
                )
            except TimeoutError:
                raise _Closed(CLOSE_GOING_AWAY, "idle") from None
            if message["type"] == "websocket.disconnect":
                raise _Closed(CLOSE_NORMAL, "client left")
            data = message.get("bytes")
            if data is None:
                await _control(websocket, message.get("text") or "", counters)
                continue
            counters.received += 1
            if len(data) > s.ws_max_frame_bytes:
                runtime.metrics.live_frames.labels("refused_size").inc()
                raise _Closed(
                    CLOSE_TOO_BIG,
                    "frame too large",
                    PayloadTooLarge(f"Frames may be at most {s.ws_max_frame_bytes} bytes"),
                )
            if not gate.admit(runtime.clock()):
                counters.refused_rate += 1
                runtime.metrics.live_frames.labels("refused_rate").inc()
                if gate.flooding():
                    raise _Closed(CLOSE_POLICY, "too many frames")
                continue
            if latest:
                counters.dropped_stale += 1
                runtime.metrics.live_frames.labels("dropped_stale").inc()
                latest[0] = data
            else:
                latest.append(data)
            wake.set()

    async def work() -> None:
        last_stats = time.monotonic()
        while True:
            await wake.wait()
            wake.clear()
            if not latest:
                continue
            frame = latest.pop()
            try:
                await _one_frame(websocket, runtime, live_session, frame, limits, output, presence)
            except GatewayError as exc:
                # A bad frame is reported and skipped; the stream goes on.
                await websocket.send_json(
                    {"type": "error", "problem": problems.from_error(exc).body_dict()}
                )
                continue
            counters.processed += 1
            runtime.metrics.live_frames.labels("processed").inc()
            if time.monotonic() - last_stats > STATS_EVERY_S:
                last_stats = time.monotonic()
                await websocket.send_json(counters.stats())

    tasks = [asyncio.create_task(receive()), asyncio.create_task(work())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    except _Closed as closed:
        await _close(websocket, closed.code, closed.reason, closed.problem, counters)
    except WebSocketDisconnect:
        pass
    except GatewayError as exc:
        await _close(websocket, CLOSE_ERROR, exc.slug, exc, counters)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


async def _one_frame(  # noqa: PLR0917
    websocket: WebSocket,
    runtime: Runtime,
    live_session: LiveSession,
    frame: bytes,
    limits: images.ImageLimits,
    output: str,
    presence: Presence,
) -> None:
    if images.sniff(frame) != "jpeg":
        raise UnsupportedMediaType("Live frames must be JPEG images")
    encode = output != "geometry"

    def work() -> tuple[Any, bytes | None, float, float]:
        # Decode, track and render, encode: one worker-thread hop per frame (three before),
        # so the event loop and the GIL change hands once instead of three times.
        started = time.perf_counter()
        decoded = images.decode(frame, limits)
        decoded_at = time.perf_counter()
        result = live_session.process(decoded.pixels)
        data = None
        encode_s = 0.0
        if encode and result.image is not None:
            encode_started = time.perf_counter()
            data = images.encode(result.image, "jpeg", quality=80)
            encode_s = time.perf_counter() - encode_started
        return result, data, decoded_at - started, encode_s

    # The decoded frame's peak size is held out of the image memory budget meanwhile.
    cost = images.decode_cost(images.inspect(frame, limits), max_side=None)
    async with runtime.image_memory.hold(cost):
        result, data, decode_s, encode_s = await _ml(runtime, work)
    stage_latency = runtime.metrics.stage_latency
    stage_latency.labels("live", "decode").observe(decode_s)
    if data is not None:
        stage_latency.labels("live", "encode").observe(encode_s)
    for stage, ms in result.timings_ms.items():
        stage_latency.labels("live", stage).observe(ms / 1000)
    # Before the frame it concerns: an unchanged frame then reads as "nobody found".
    status = presence.update(missing_subject(result.geometry, output))
    if status is not None:
        await websocket.send_json(status)
    if output == "geometry" or result.image is None:
        await websocket.send_text(
            json.dumps({"type": "geometry", "geometry": result.geometry}, separators=(",", ":"))
        )
        return
    if data is not None:
        await websocket.send_bytes(data)


async def _control(websocket: WebSocket, text: str, counters: Counters) -> None:
    """Answer a control message: ``{"type": "ping"}`` and ``{"type": "stats"}``."""
    try:
        message = json.loads(text) if len(text) < 4096 else None
    except json.JSONDecodeError:
        message = None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        await websocket.send_json({"type": "pong"})
    elif kind == "stats":
        await websocket.send_json(counters.stats())
    else:
        problem = InvalidImage(
            'Unknown control message; send binary JPEG frames or {"type": "ping"}'
        )
        await websocket.send_json(
            {"type": "error", "problem": problems.from_error(problem).body_dict()}
        )


async def _close(
    websocket: WebSocket,
    code: int,
    reason: str,
    problem: GatewayError | None,
    counters: Counters,
) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        if problem is not None:
            await websocket.send_json(
                {"type": "error", "problem": problems.from_error(problem).body_dict()}
            )
        await websocket.send_json(counters.stats())
        await websocket.close(code=code, reason=reason)
