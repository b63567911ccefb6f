"""``tryon ml serve``: the engine facade over HTTP (an internal service, not for browsers).

Every route maps one facade call; ``ml_service.client.MLClient`` is its counterpart. Prepared
assets are sent once (``PUT /v1/assets/{hash}``) and then named by hash; live sessions live
here, one per gateway WebSocket, and expire when idle. Images are processed in memory only.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ml_service import wire
from ml_service.assets import PreparedAsset
from ml_service.engine import (
    LiveOutput,
    LiveSession,
    TryOnEngine,
    analysis_from_json,
    analysis_to_json,
)
from ml_service.errors import InvalidImage, MLError
from ml_service.render.errors import TryOnInputError

V = TypeVar("V")
T = TypeVar("T")
MAX_ASSETS = 256
MAX_LIVE_SESSIONS = 256
LIVE_IDLE_S = 120.0
MAX_FACE_INDEX = 31  # a face index beyond any photo (MLSettings.max_faces <= 32)


class _Lru(Generic[V]):
    """A small thread-safe LRU map."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[str, V] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> list[V]:
        """Store ``value``; returns what was evicted."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            evicted = []
            while len(self._items) > self._capacity:
                evicted.append(self._items.popitem(last=False)[1])
            return evicted

    def pop(self, key: str) -> V | None:
        with self._lock:
            return self._items.pop(key, None)

    def values(self) -> list[V]:
        with self._lock:
            return list(self._items.values())


@dataclass
class _Live:
    session: LiveSession
    output: LiveOutput
    lock: threading.Lock
    last_used: float


class SizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analysis: dict[str, Any]
    category: str = Field(max_length=32)
    options: list[dict[str, Any]] = Field(max_length=200)


class LiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: str = Field(pattern=r"^[0-9a-f]{64}$")
    output: LiveOutput = "render"
    face: int = Field(default=0, ge=0, le=MAX_FACE_INDEX)


class _NotFound(Exception):
    pass


def create_service(engine: TryOnEngine | None = None) -> FastAPI:
    """The ML service app around ``engine`` (the in-process engine when omitted)."""
    if engine is None:
        from ml_service.engine import LocalEngine  # noqa: PLC0415

        engine = LocalEngine()
    facade: TryOnEngine = engine
    assets: _Lru[PreparedAsset] = _Lru(MAX_ASSETS)
    lives: _Lru[_Live] = _Lru(MAX_LIVE_SESSIONS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for live in lives.values():
            live.session.close()
        facade.close()

    app = FastAPI(title="Try-on ML service", version="1", lifespan=lifespan)

    @app.exception_handler(MLError)
    @app.exception_handler(TryOnInputError)
    async def _ml_error(_request: Request, exc: Exception) -> JSONResponse:
        status, body = wire.error_to_problem(exc)
        return JSONResponse(body, status_code=status, media_type="application/problem+json")

    @app.exception_handler(_NotFound)
    async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
        body = {"type": "/problems/not-found", "title": "Not found", "detail": str(exc)}
        return JSONResponse(body, status_code=404, media_type="application/problem+json")

    def asset_or_404(content_hash: str) -> PreparedAsset:
        asset = assets.get(content_hash)
        if asset is None:
            raise _NotFound(f"asset {content_hash} is not loaded; PUT it first")
        return asset

    def expire_idle() -> None:
        now = time.monotonic()
        for key, live in list(lives._items.items()):
            if now - live.last_used > LIVE_IDLE_S and lives.pop(key) is not None:
                live.session.close()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/analyze")
    async def analyze(
        request: Request, shape: Annotated[str | None, Header(alias=wire.SHAPE_HEADER)] = None
    ) -> JSONResponse:
        image = wire.pixels_from_wire(await request.body(), shape)
        result = await _thread(facade.analyze, image)
        return JSONResponse(analysis_to_json(result))

    @app.post("/v1/assets")
    async def prepare(
        request: Request,
        category: Annotated[str, Query(max_length=32)],
        width_mm: Annotated[float | None, Query(gt=0, le=1000)] = None,
        anchors: Annotated[str | None, Header(alias="tryon-anchors", max_length=8192)] = None,
    ) -> JSONResponse:
        try:
            overrides = json.loads(anchors) if anchors else None
        except json.JSONDecodeError:
            raise InvalidImage("the Tryon-Anchors header is not JSON") from None
        body = await request.body()
        asset = await _thread(
            lambda: facade.prepare_asset(body, category, anchors=overrides, width_mm=width_mm)
        )
        assets.put(asset.content_hash, asset)
        return JSONResponse(wire.asset_to_json(asset))

    @app.put("/v1/assets/{content_hash}", status_code=204)
    async def load(content_hash: str, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidImage("the asset body is not JSON") from None
        asset = wire.asset_from_json({**data, "content_hash": content_hash})
        assets.put(content_hash, asset)
        return Response(status_code=204)

    @app.post("/v1/render")
    async def render(
        request: Request,
        asset: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
        shape: Annotated[str | None, Header(alias=wire.SHAPE_HEADER)] = None,
        sizes: Annotated[str | None, Header(alias=wire.SIZES_HEADER)] = None,
        face: Annotated[int, Query(ge=0, le=MAX_FACE_INDEX)] = 0,
    ) -> Response:
        prepared = asset_or_404(asset)
        image = wire.pixels_from_wire(await request.body(), shape)
        try:
            options = wire.size_options_from_json(json.loads(sizes)) if sizes else []
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise InvalidImage("the size options header is malformed") from None
        result = await _thread(
            lambda: facade.render(image, prepared, size_options=options, face=face)
        )
        response = _pixels_response(result.image, result.geometry, result.timings_ms)
        response.headers[wire.SIZE_HEADER] = json.dumps(
            result.size_recommendation, separators=(",", ":")
        )
        return response

    @app.post("/v1/recommend-size")
    async def recommend_size(body: SizeRequest) -> JSONResponse:
        try:
            analysis = analysis_from_json(body.analysis)
        except (KeyError, TypeError, ValueError):
            raise InvalidImage("the analysis is malformed") from None
        options = wire.size_options_from_json(body.options)
        result = await _thread(
            lambda: facade.recommend_size(analysis, category=body.category, options=options)
        )
        return JSONResponse({"recommendation": result})

    @app.post("/v1/live", status_code=201)
    async def open_live(body: LiveRequest) -> dict[str, str]:
        expire_idle()
        prepared = asset_or_404(body.asset)
        session = await _thread(
            lambda: facade.live_session(prepared, output=body.output, face=body.face)
        )
        session_id = secrets.token_hex(16)
        live = _Live(session, body.output, threading.Lock(), time.monotonic())
        for evicted in lives.put(session_id, live):
            evicted.session.close()
        return {"session_id": session_id}

    @app.post("/v1/live/{session_id}/frames")
    async def live_frame(
        session_id: str,
        request: Request,
        shape: Annotated[str | None, Header(alias=wire.SHAPE_HEADER)] = None,
    ) -> Response:
        live = lives.get(session_id)
        if live is None:
            raise _NotFound("no such live session (expired?)")
        image = wire.pixels_from_wire(await request.body(), shape)

        def process() -> Any:
            with live.lock:
                live.last_used = time.monotonic()
                return live.session.process(image)

        frame = await _thread(process)
        if frame.image is None:
            return JSONResponse({"geometry": frame.geometry, "timings_ms": frame.timings_ms})
        return _pixels_response(frame.image, frame.geometry, frame.timings_ms)

    @app.delete("/v1/live/{session_id}", status_code=204)
    def close_live(session_id: str) -> Response:
        live = lives.pop(session_id)
        if live is not None:
            live.session.close()
        return Response(status_code=204)

    return app


def _pixels_response(image: Any, geometry: dict[str, Any], timings: dict[str, float]) -> Response:
    return Response(
        image.tobytes(),
        media_type=wire.PIXELS_MEDIA_TYPE,
        headers={
            wire.SHAPE_HEADER: wire.shape_header(image),
            wire.GEOMETRY_HEADER: json.dumps(geometry, separators=(",", ":")),
            wire.TIMINGS_HEADER: json.dumps(timings, separators=(",", ":")),
        },
    )


async def _thread(fn: Callable[..., T], *args: Any) -> T:
    return await run_in_threadpool(fn, *args)
