"""Merchant API: try-on assets from product images, and brand model photos."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from gateway import images, storage
from gateway.api.deps import SessionDep
from gateway.assets import service
from gateway.assets.models import BrandModelPhoto, ModelPhotoKind, TryOnAsset
from gateway.assets.schemas import AssetList, AssetOut, AssetPatch, ModelList, ModelOut
from gateway.db.base import utcnow
from gateway.errors import (
    Conflict,
    EmptyBody,
    GatewayError,
    InvalidInput,
    NothingToTryOn,
)
from gateway.keys.deps import ProductsRead, ProductsWrite
from gateway.ml import (
    ML_EXCEPTIONS,
    anchors_json,
    delete_stored_asset,
    from_ml_error,
    store_asset,
)
from gateway.products import service as products
from gateway.runtime import Runtime, RuntimeDep
from gateway.usage import service as usage
from ml_service.assets.glb import is_glb
from ml_service.assets.prepare import MAX_WORK_SIDE
from ml_service.engine import analysis_to_json

router = APIRouter(tags=["merchant: try-on assets"])
GLB_TYPE = "model/gltf-binary"

_UPLOAD = images.request_body(
    "The image's bytes (PNG with transparency, or JPEG/WebP on a plain background; at most 10 MB),"
    " or for eyewear and hats a glTF 2.0 binary 3D model (.glb, metres, front towards +z,"
    " everything embedded; at most 12 MB)",
    ("image/png", "image/jpeg", "image/webp", GLB_TYPE),
)
_MODEL_PHOTO = images.request_body(
    "The brand model photo's bytes (JPEG, PNG or WebP; at most 10 MB)",
    ("image/png", "image/jpeg", "image/webp"),
)
MODEL_PREPARE_BYTES = 48 << 20  # rendering a .glb's packshot (at most 1200 px a side, 2x)
_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "Empty body (problem+json)"},
    401: {"description": "Missing or invalid secret key (problem+json)"},
    403: {"description": "Wrong key type or scope (problem+json)"},
    404: {"description": "Unknown product, variant, asset or model (problem+json)"},
    409: {"description": "Already uploaded (problem+json)"},
    413: {"description": "Over the byte or pixel cap (problem+json)"},
    415: {"description": "Not a JPEG, PNG, WebP or glTF binary (problem+json)"},
    422: {"description": "Unusable image, 3D model or anchors, with a reason (problem+json)"},
    503: {"description": "The ML service or storage is unavailable (problem+json)"},
}
_DELETE_ERRORS: dict[int | str, dict[str, str]] = {
    **{code: _ERRORS[code] for code in (401, 403, 404)},
    503: {"description": "Storage is unavailable (problem+json)"},
}


async def _ml(runtime: Runtime, call: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(call, limiter=runtime.ml_slots)
    except ML_EXCEPTIONS as exc:
        raise from_ml_error(exc) from None


ANCHORS: dict[str, Any] = {
    "type": "object",
    "description": "Anchor name -> [x, y] in the image's pixels",
    "maxProperties": 32,
    "propertyNames": {"minLength": 1, "maxLength": 64},
    "additionalProperties": {
        "type": "array",
        "items": {"type": "number", "minimum": -100000, "maximum": 100000},
        "minItems": 2,
        "maxItems": 2,
    },
}
_ASSET_LIMITS = images.ImageLimits(max_bytes=64 << 20, max_pixels=24_000_000, max_aspect=20.0)


def _asset_cost(body: bytes) -> int:
    """Peak bytes of preparing an asset from ``body``: the decoder's buffer in its own mode,
    the RGBA conversion and the array made from it (``ml_service.assets.decode``), then the
    working copies. 0 when the header is unreadable: preparing it fails before any decoding,
    with the asset's own reason."""
    try:
        header = images.inspect(body, _ASSET_LIMITS)
    except GatewayError:
        return 0
    width, height = images.working_size(header.width, header.height, MAX_WORK_SIDE)
    return header.width * header.height * 8 + width * height * 16


def _parse_anchors(raw: str | None) -> dict[str, list[float]] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidInput("anchors must be a JSON object of name -> [x, y]") from None
    if not isinstance(value, dict):
        raise InvalidInput("anchors must be a JSON object of name -> [x, y]")
    return value


@router.post(
    "/v1/products/{product_id}/assets",
    response_model=AssetOut,
    status_code=status.HTTP_201_CREATED,
    summary="Turn a product image into a try-on asset (cut-out and anchors)",
    openapi_extra={"requestBody": _UPLOAD},
    responses=_ERRORS,
)
async def create_asset(
    *,
    request: Request,
    principal: ProductsWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    product_id: uuid.UUID,
    variant: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Variant id or external id")
    ] = None,
    width_mm: Annotated[
        float | None,
        Query(gt=5, le=400, description="Real width: eyewear frame width, earring drop length"),
    ] = None,
    anchors: Annotated[
        str | None,
        Query(
            max_length=4096,
            description='JSON anchors to override, e.g. {"bridge": [210, 90]}',
            json_schema_extra={"contentMediaType": "application/json", "contentSchema": ANCHORS},
        ),
    ] = None,
) -> AssetOut:
    overrides = _parse_anchors(anchors)
    product = await run_in_threadpool(
        lambda: products.get(
            session=session, merchant_id=principal.merchant_id, product_id=product_id
        )
    )
    chosen = products.find_variant(product=product, ref=variant)
    content_type = request.headers.get("content-type")
    if (content_type or "").split(";", 1)[0].strip().lower() != GLB_TYPE:
        images.check_content_type(content_type)
    body = await request.body()
    if not body:
        raise EmptyBody("The image is empty (zero bytes)")
    cost = MODEL_PREPARE_BYTES if is_glb(body) else await run_in_threadpool(_asset_cost, body)
    async with runtime.image_memory.hold(cost, what="This product image"):
        asset = await _ml(
            runtime,
            lambda: runtime.ml.prepare_asset(
                body, product.category.value, anchors=overrides, width_mm=width_mm
            ),
        )

    def save() -> TryOnAsset:
        existing = service.find_asset(
            session=session, merchant_id=principal.merchant_id, content_hash=asset.content_hash
        )
        if existing is not None:
            raise Conflict("This asset exists already", asset_id=str(existing.id))
        key = store_asset(runtime.storage, str(principal.merchant_id), asset)
        row = TryOnAsset(
            merchant_id=principal.merchant_id,
            product_id=product.id,
            variant_id=chosen.id if chosen else None,
            category=product.category,
            content_hash=asset.content_hash,
            storage_key=key,
            anchors=anchors_json(asset),
        )
        session.add(row)
        session.flush()
        usage.record(
            session=session,
            merchant_id=principal.merchant_id,
            metric=usage.Metric.ASSET_PREPARED,
            now=utcnow(),
        )
        return row

    return AssetOut.model_validate(await run_in_threadpool(save))


@router.get("/v1/assets", response_model=AssetList, summary="List try-on assets")
def list_assets(
    principal: ProductsRead,
    session: SessionDep,
    product_id: uuid.UUID | None = None,
) -> AssetList:
    rows = service.list_assets(
        session=session, merchant_id=principal.merchant_id, product_id=product_id
    )
    return AssetList(data=[AssetOut.model_validate(r) for r in rows])


@router.get(
    "/v1/assets/{asset_id}",
    response_model=AssetOut,
    summary="Get a try-on asset",
    responses=_ERRORS,
)
def get_asset(principal: ProductsRead, session: SessionDep, asset_id: uuid.UUID) -> AssetOut:
    return AssetOut.model_validate(
        service.get_asset(session=session, merchant_id=principal.merchant_id, asset_id=asset_id)
    )


@router.get(
    "/v1/assets/{asset_id}/image",
    summary="The asset's cut-out (PNG with alpha)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_ERRORS},
)
def asset_image(
    principal: ProductsRead, session: SessionDep, runtime: RuntimeDep, asset_id: uuid.UUID
) -> Response:
    row = service.get_asset(session=session, merchant_id=principal.merchant_id, asset_id=asset_id)
    data = storage.require(runtime.storage, row.storage_key, "The asset")
    return Response(data, media_type="image/png")


@router.patch(
    "/v1/assets/{asset_id}",
    response_model=AssetOut,
    summary="Correct anchors by hand (makes a new asset version)",
    responses=_ERRORS,
)
async def update_asset(
    principal: ProductsWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    asset_id: uuid.UUID,
    body: AssetPatch,
) -> AssetOut:
    row = await run_in_threadpool(
        lambda: service.get_asset(
            session=session, merchant_id=principal.merchant_id, asset_id=asset_id
        )
    )
    current, _ = await run_in_threadpool(
        runtime.assets.get, str(principal.merchant_id), row.content_hash
    )
    overrides = {k: (float(v[0]), float(v[1])) for k, v in body.anchors.items()}
    updated = await _ml(runtime, lambda: current.with_anchors(overrides))

    def save() -> TryOnAsset:
        same = service.find_asset(
            session=session, merchant_id=principal.merchant_id, content_hash=updated.content_hash
        )
        if same is not None and same.id != row.id:
            raise Conflict("These anchors make an asset that exists already", asset_id=str(same.id))
        row.storage_key = store_asset(runtime.storage, str(principal.merchant_id), updated)
        row.content_hash = updated.content_hash
        row.anchors = anchors_json(updated)
        session.flush()
        return row

    return AssetOut.model_validate(await run_in_threadpool(save))


@router.delete(
    "/v1/assets/{asset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an asset (its stored cut-out too)",
    responses=_DELETE_ERRORS,
)
def delete_asset(
    principal: ProductsWrite, session: SessionDep, runtime: RuntimeDep, asset_id: uuid.UUID
) -> Response:
    row = service.get_asset(session=session, merchant_id=principal.merchant_id, asset_id=asset_id)
    # Blobs first: if storage is down the row stays (503) and a retry deletes both.
    delete_stored_asset(runtime.storage, str(principal.merchant_id), row.content_hash)
    session.delete(row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- brand model photos ---------------------------------------------------------------------


def _model_out(row: BrandModelPhoto) -> ModelOut:
    return ModelOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        content_hash=row.content_hash,
        faces=len(row.analysis.get("faces", [])),
        bodies=len(row.analysis.get("bodies", [])),
        created_at=row.created_at,
    )


@router.post(
    "/v1/models",
    response_model=ModelOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a brand model photo shoppers can try products on",
    tags=["merchant: brand models"],
    openapi_extra={"requestBody": _MODEL_PHOTO},
    responses=_ERRORS,
)
async def create_model(
    *,
    request: Request,
    principal: ProductsWrite,
    session: SessionDep,
    runtime: RuntimeDep,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    kind: ModelPhotoKind = ModelPhotoKind.FACE,
) -> ModelOut:
    images.check_content_type(request.headers.get("content-type"))
    body = await request.body()
    decoded = await images.decode_within(
        runtime.image_memory, body, runtime.image_limits, max_side=runtime.settings.max_work_side
    )
    pixels = decoded.pixels
    # Stored re-encoded: only pixels, never the upload's metadata (EXIF, GPS, ...).
    photo = images.encode(pixels, "jpeg", quality=92)
    content_hash = hashlib.sha256(photo).hexdigest()
    analysis = await _ml(runtime, lambda: runtime.ml.analyze(pixels))
    if kind is ModelPhotoKind.FACE and not analysis.faces:
        raise NothingToTryOn("No face found on the model photo", reason="no-face")
    if kind is ModelPhotoKind.BODY and not analysis.bodies:
        raise NothingToTryOn("No body found on the model photo", reason="no-body")

    def save() -> BrandModelPhoto:
        if service.find_model(
            session=session, merchant_id=principal.merchant_id, content_hash=content_hash
        ):
            raise Conflict("This model photo exists already")
        key = f"{principal.merchant_id}/models/{content_hash}.jpg"
        runtime.storage.put(key, photo)
        row = BrandModelPhoto(
            merchant_id=principal.merchant_id,
            name=name,
            kind=kind,
            content_hash=content_hash,
            storage_key=key,
            analysis=analysis_to_json(analysis, landmarks=True),
        )
        session.add(row)
        session.flush()
        return row

    return _model_out(await run_in_threadpool(save))


@router.get(
    "/v1/models",
    response_model=ModelList,
    summary="List brand model photos",
    tags=["merchant: brand models"],
)
def list_models(principal: ProductsRead, session: SessionDep) -> ModelList:
    rows = service.list_models(session=session, merchant_id=principal.merchant_id)
    return ModelList(data=[_model_out(r) for r in rows])


@router.get(
    "/v1/models/{model_id}",
    response_model=ModelOut,
    summary="Get a brand model photo's record",
    tags=["merchant: brand models"],
    responses=_ERRORS,
)
def get_model(principal: ProductsRead, session: SessionDep, model_id: uuid.UUID) -> ModelOut:
    return _model_out(
        service.get_model(session=session, merchant_id=principal.merchant_id, model_id=model_id)
    )


@router.delete(
    "/v1/models/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a brand model photo",
    tags=["merchant: brand models"],
    responses=_DELETE_ERRORS,
)
def delete_model(
    principal: ProductsWrite, session: SessionDep, runtime: RuntimeDep, model_id: uuid.UUID
) -> Response:
    row = service.get_model(session=session, merchant_id=principal.merchant_id, model_id=model_id)
    runtime.storage.delete(row.storage_key)
    session.delete(row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/v1/products/{product_id}",
    tags=["merchant: products"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a product (its try-on assets too)",
    responses={503: {"description": "Storage is unavailable (problem+json)"}},
)
def delete_product(
    principal: ProductsWrite, session: SessionDep, runtime: RuntimeDep, product_id: uuid.UUID
) -> Response:
    merchant_id = principal.merchant_id
    products.get(session=session, merchant_id=merchant_id, product_id=product_id)  # 404 first
    for asset in service.list_assets(
        session=session, merchant_id=merchant_id, product_id=product_id
    ):
        delete_stored_asset(runtime.storage, str(merchant_id), asset.content_hash)
    products.delete(session=session, merchant_id=merchant_id, product_id=product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
