"""Widget API: photo try-on, analysis only, and try-on on a brand model.

Shopper photos are read as bounded raw bytes (never spooled to disk), decoded under the caps
of ``gateway.images``, handed to the ML engine in memory and dropped; nothing derived from
them is logged, cached or stored. Brand model results (merchant content) are cached.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway import images, storage
from gateway.api.deps import SessionDep
from gateway.assets import service as assets
from gateway.db.base import utcnow
from gateway.errors import NothingToTryOn
from gateway.ml import ML_EXCEPTIONS, from_ml_error
from gateway.products.models import Category
from gateway.runtime import Runtime, RuntimeDep
from gateway.tryon import negotiation
from gateway.tryon import service as tryons
from gateway.usage.service import Metric
from gateway.widget.deps import WidgetDep
from gateway.widget.schemas import AnalysisOut, TryOnJson
from gateway.widget.views import WIDGET_ERRORS, ProductRef, VariantRef
from ml_service.engine import Rendered, analysis_to_json
from ml_service.render.faces import faces_by_size

router = APIRouter(prefix="/v1/widget", tags=["widget"])
T = TypeVar("T")

MAX_FACE_INDEX = 31
FaceRef = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_FACE_INDEX,
        description="Which person, for face products: the index into the faces of "
        "POST /v1/widget/analyze (largest first; 0, the default, is the largest)",
    ),
]
SessionRef = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="A session id from POST /v1/widget/sessions"),
]
AcceptHeader = Annotated[
    str | None,
    Header(
        description="image/jpeg (default), image/png, image/webp, or application/json "
        "for {image: data URL, geometry}"
    ),
]
_IMAGE_BODY = images.request_body(
    "The photo's bytes (JPEG, PNG or WebP; at most 10 MB)",
    ("image/jpeg", "image/png", "image/webp"),
)
_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rendered photo; the geometry is in the Tryon-Geometry header "
        "(or the JSON body when application/json was asked for)",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": TryOnJson.model_json_schema()},
        },
        "headers": {
            "Tryon-Geometry": {
                "description": "JSON: where the product was drawn (pixels of this image)",
                "schema": {"type": "string"},
            }
        },
    },
    400: {"description": "Empty body (problem+json)"},
    406: {"description": "No acceptable response format (problem+json)"},
    413: {"description": "The image is over the byte or pixel cap (problem+json)"},
    415: {"description": "Not a JPEG, PNG or WebP (problem+json)"},
    422: {"description": "Unreadable image, or no face/body to try on (problem+json)"},
    **WIDGET_ERRORS,
}


@asynccontextmanager
async def _released_on_failure(session: Session, plan: tryons.TryOnPlan) -> AsyncIterator[None]:
    """Give the plan's quota reservation back when the try-on fails or is cancelled."""
    try:
        yield
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(lambda: tryons.release(session=session, plan=plan))
        raise


async def _ml(runtime: Runtime, call: Callable[[], T]) -> T:
    """Run an ML call on a worker thread, within the ML concurrency bound."""
    try:
        return await anyio.to_thread.run_sync(call, limiter=runtime.ml_slots)
    except ML_EXCEPTIONS as exc:
        raise from_ml_error(exc) from None


async def _decoded(request: Request, runtime: Runtime, mode: str) -> images.DecodedImage:
    images.check_content_type(request.headers.get("content-type"))
    body = await request.body()
    with runtime.metrics.stage(mode, "decode"):
        return await images.decode_within(
            runtime.image_memory,
            body,
            runtime.image_limits,
            max_side=runtime.settings.max_work_side,
        )


def _observe(runtime: Runtime, mode: str, timings_ms: dict[str, float]) -> None:
    for stage, ms in timings_ms.items():
        runtime.metrics.stage_latency.labels(mode, stage).observe(ms / 1000)


def _image_response(
    runtime: Runtime,
    *,
    mode: str,
    media: str,
    rendered: Rendered,
    session_id: uuid.UUID | None,
    extra_headers: dict[str, str] | None = None,
    encoded: bytes | None = None,
) -> Response:
    geometry = {**rendered.geometry, "size_recommendation": rendered.size_recommendation}
    kind = negotiation.IMAGE_KINDS.get(media, "jpeg")
    if encoded is None:
        with runtime.metrics.stage(mode, "encode"):
            encoded = images.encode(rendered.image, kind)
    data = encoded
    headers = {"Cache-Control": "no-store", **(extra_headers or {})}
    if session_id is not None:
        headers["Tryon-Session"] = str(session_id)
    if media == negotiation.JSON:
        url = f"data:image/{kind};base64," + base64.b64encode(data).decode()
        body = {"image": url, "geometry": geometry, "session_id": session_id}
        return JSONResponse(TryOnJson.model_validate(body).model_dump(mode="json"), headers=headers)
    headers["Tryon-Geometry"] = json.dumps(geometry, separators=(",", ":"))
    return Response(data, media_type=media, headers=headers)


@router.post(
    "/tryon",
    summary="Try a product on a photo",
    response_class=Response,
    openapi_extra={"requestBody": _IMAGE_BODY},
    responses=_IMAGE_RESPONSES,
)
async def photo_tryon(
    *,
    request: Request,
    principal: WidgetDep,
    session: SessionDep,
    runtime: RuntimeDep,
    product: ProductRef,
    variant: VariantRef = None,
    session_id: Annotated[SessionRef, Query(alias="session")] = None,
    accept: AcceptHeader = None,
    face: FaceRef = 0,
) -> Response:
    started = time.perf_counter()
    media = negotiation.choose(accept)

    def plan_and_asset() -> tuple[tryons.TryOnPlan, Any]:
        # One worker-thread hop for the plan (quota reserved) and the prepared asset.
        plan = tryons.begin(
            session=session,
            reads=runtime.reads,
            principal=principal,
            product_ref=product,
            variant_ref=variant,
            session_ref=session_id,
            now=utcnow(),
        )
        try:
            asset, _ = runtime.assets.get(str(plan.merchant_id), plan.asset_hash)
        except BaseException:
            tryons.release(session=session, plan=plan)
            raise
        return plan, asset

    plan, asset = await run_in_threadpool(plan_and_asset)
    async with _released_on_failure(session, plan):
        decoded = await _decoded(request, runtime, "photo")

        def render_and_encode() -> tuple[Rendered, bytes]:
            # Render and encode on the same ML thread: the JPEG encode stays off the loop.
            rendered = runtime.ml.render(
                decoded.pixels, asset, size_options=plan.size_options, face=face
            )
            kind = negotiation.IMAGE_KINDS.get(media, "jpeg")
            with runtime.metrics.stage("photo", "encode"):
                return rendered, images.encode(rendered.image, kind)

        rendered, encoded = await _ml(runtime, render_and_encode)
        _observe(runtime, "photo", rendered.timings_ms)
        response = _image_response(
            runtime,
            mode="photo",
            media=media,
            rendered=rendered,
            session_id=plan.session_id,
            encoded=encoded,
        )
        await run_in_threadpool(
            lambda: tryons.finish(
                session=session,
                merchant_id=plan.merchant_id,
                session_id=plan.session_id,
                metric=Metric.TRYON_PHOTO,
                now=utcnow(),
            )
        )
    runtime.metrics.stage_latency.labels("photo", "total").observe(time.perf_counter() - started)
    return response


@router.post(
    "/analyze",
    summary="Find faces and bodies in a photo (geometry only, no rendering)",
    response_model=AnalysisOut,
    openapi_extra={"requestBody": _IMAGE_BODY},
    responses={k: v for k, v in _IMAGE_RESPONSES.items() if k != 200},
)
async def analyze(
    *,
    request: Request,
    principal: WidgetDep,
    session: SessionDep,
    runtime: RuntimeDep,
    product: Annotated[
        str | None,
        Query(min_length=1, max_length=128, description="With a product: a size recommendation"),
    ] = None,
) -> AnalysisOut:
    plan = None
    if product is not None:
        plan = await run_in_threadpool(
            lambda: tryons.begin(
                session=session,
                reads=runtime.reads,
                principal=principal,
                product_ref=product,
                variant_ref=None,
                session_ref=None,
                now=utcnow(),
                reserve_quota=False,  # an analysis is not a try-on
            )
        )
    decoded = await _decoded(request, runtime, "analyze")
    result = await _ml(runtime, lambda: runtime.ml.analyze(decoded.pixels))
    _observe(runtime, "analyze", result.timings_ms)
    advice = None
    if plan is not None and plan.size_options:
        advice = await _ml(
            runtime,
            lambda: runtime.ml.recommend_size(
                result, category=plan.category, options=plan.size_options
            ),
        )
    await run_in_threadpool(
        lambda: tryons.finish(
            session=session,
            merchant_id=principal.merchant_id,
            session_id=None,
            metric=Metric.ANALYZE,
            now=utcnow(),
        )
    )
    # Largest first: the order the try-on's ``face`` index (and the widget's picker) uses.
    data = analysis_to_json(replace(result, faces=faces_by_size(result)), landmarks=True)
    for face in data["faces"]:
        face.pop("pose", None)
    return AnalysisOut.model_validate({**data, "size_recommendation": advice})


# What we cached ourselves is decoded under the same caps as anything else (a cache can be
# tampered with), only with room for a full-size render.
_STORED_LIMITS = images.ImageLimits(max_bytes=64 << 20, max_pixels=24_000_000, max_aspect=20.0)


def _model_cache_key(model_hash: str, asset_hash: str, sizes: str) -> str:
    digest = hashlib.sha256(f"{model_hash}:{asset_hash}:{sizes}".encode()).hexdigest()
    return f"model-tryon:{digest}"


def _pack(rendered: Rendered) -> bytes:
    meta = json.dumps(
        {"geometry": rendered.geometry, "size": rendered.size_recommendation},
        separators=(",", ":"),
    ).encode()
    raw = images.encode(rendered.image, "png")
    return len(meta).to_bytes(4, "big") + meta + raw


async def _unpack(runtime: Runtime, packed: bytes) -> Rendered:
    size = int.from_bytes(packed[:4], "big")
    meta = json.loads(packed[4 : 4 + size])
    decoded = await images.decode_within(runtime.image_memory, packed[4 + size :], _STORED_LIMITS)
    return Rendered(
        image=decoded.pixels, geometry=meta["geometry"], size_recommendation=meta["size"]
    )


@router.post(
    "/models/{model_id}/tryon",
    summary="Try a product on a brand model photo (the same model and asset give the same bytes)",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
)
async def model_tryon(
    *,
    principal: WidgetDep,
    session: SessionDep,
    runtime: RuntimeDep,
    model_id: uuid.UUID,
    product: ProductRef,
    variant: VariantRef = None,
    session_id: Annotated[SessionRef, Query(alias="session")] = None,
    accept: AcceptHeader = None,
) -> Response:
    media = negotiation.choose(accept)

    def plan_and_model() -> tuple[tryons.TryOnPlan, str, str, str]:
        plan = tryons.begin(
            session=session,
            reads=runtime.reads,
            principal=principal,
            product_ref=product,
            variant_ref=variant,
            session_ref=session_id,
            now=utcnow(),
        )
        try:
            model = assets.get_model(
                session=session, merchant_id=principal.merchant_id, model_id=model_id
            )
            if model.kind not in assets.MODEL_KINDS_FOR[Category(plan.category)]:
                raise NothingToTryOn(
                    f"A {model.kind.value} photo cannot show a {plan.category}",
                    reason="wrong-model-kind",
                )
        except BaseException:
            tryons.release(session=session, plan=plan)
            raise
        return plan, model.content_hash, model.storage_key, json.dumps(model.analysis)

    plan, model_hash, model_key, analysis_json = await run_in_threadpool(plan_and_model)
    async with _released_on_failure(session, plan):
        return await _model_tryon(
            runtime,
            session=session,
            plan=plan,
            media=media,
            model=(model_hash, model_key, analysis_json),
        )


async def _model_tryon(
    runtime: Runtime,
    *,
    session: Session,
    plan: tryons.TryOnPlan,
    media: str,
    model: tuple[str, str, str],
) -> Response:
    model_hash, model_key, analysis_json = model
    sizes = json.dumps(
        [[o.variant_id, o.size, sorted(o.measurements.items())] for o in plan.size_options]
    )
    key = _model_cache_key(model_hash, plan.asset_hash, sizes)
    cached = await run_in_threadpool(runtime.cache.get, key)
    runtime.metrics.cache.labels("model_tryon", "hit" if cached else "miss").inc()
    if cached is not None:
        rendered = await _unpack(runtime, cached)
    else:
        photo = await run_in_threadpool(
            storage.require, runtime.storage, model_key, "The model photo"
        )
        pixels = (
            await images.decode_within(
                runtime.image_memory,
                photo,
                runtime.image_limits,
                max_side=runtime.settings.max_work_side,
            )
        ).pixels
        asset, _ = await run_in_threadpool(
            runtime.assets.get, str(plan.merchant_id), plan.asset_hash
        )
        known = _face_analysis(analysis_json, plan.category)
        rendered = await _ml(
            runtime,
            lambda: runtime.ml.render(
                pixels, asset, analysis=known, size_options=plan.size_options
            ),
        )
        _observe(runtime, "model", rendered.timings_ms)
        await run_in_threadpool(
            lambda: runtime.cache.set(
                key, _pack(rendered), ttl_s=runtime.settings.model_tryon_cache_ttl_s
            )
        )
    response = _image_response(
        runtime,
        mode="model",
        media=media,
        rendered=rendered,
        session_id=plan.session_id,
        extra_headers={"Tryon-Cache": "hit" if cached else "miss"},
    )
    await run_in_threadpool(
        lambda: tryons.finish(
            session=session,
            merchant_id=plan.merchant_id,
            session_id=plan.session_id,
            metric=Metric.TRYON_MODEL,
            now=utcnow(),
        )
    )
    return response


def _face_analysis(analysis_json: str, category: str) -> Any:
    """The stored analysis of a model photo, when the renderer can use it without masks."""
    from ml_service.engine import FACE_CATEGORIES, analysis_from_json  # noqa: PLC0415

    if category not in FACE_CATEGORIES:
        return None
    data = json.loads(analysis_json)
    return analysis_from_json(data) if data.get("faces") else None
