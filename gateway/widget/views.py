"""Widget API (publishable keys): configuration, sessions and brand models.

Their reads (key, product, brand models, quota use) go through the read cache
(``gateway.widget.reads``); the model photo's bytes come from storage.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from gateway import storage
from gateway.api.deps import SessionDep
from gateway.assets import service as assets
from gateway.db.base import utcnow
from gateway.runtime import RuntimeDep
from gateway.sessions import service as sessions
from gateway.widget import config, reads
from gateway.widget.deps import WidgetDep
from gateway.widget.schemas import (
    BrandModel,
    ModelList,
    SessionIn,
    SessionOut,
    WidgetConfig,
)

router = APIRouter(prefix="/v1/widget", tags=["widget"])

ProductRef = Annotated[
    str, Query(min_length=1, max_length=128, description="The product's id or external id")
]
VariantRef = Annotated[
    str | None, Query(min_length=1, max_length=128, description="A variant's id or external id")
]
WIDGET_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing, malformed, unknown or revoked key (problem+json)"},
    403: {"description": "Not a publishable key, or the origin is not allowed (problem+json)"},
    404: {"description": "Unknown product, variant, model or session (problem+json)"},
    429: {"description": "Rate limit or monthly quota reached; see Retry-After (problem+json)"},
    503: {"description": "A dependency is down; see Retry-After (problem+json)"},
}


def _model_out(request: Request, model_id: uuid.UUID, name: str, kind: str) -> BrandModel:
    # A path, not an absolute URL: behind a proxy the Host the gateway sees may not be the
    # one the browser used.
    path = request.app.url_path_for("widget_model_image", model_id=str(model_id))
    return BrandModel.model_validate(
        {"id": model_id, "name": name, "kind": kind, "image_url": str(path)}
    )


@router.get(
    "/config",
    response_model=WidgetConfig,
    summary="What the widget needs for one product",
    description="Cacheable briefly by browsers and CDNs: a strong `ETag` (send it back in "
    "`If-None-Match` for a 304), `Cache-Control: public, max-age=30, "
    "stale-while-revalidate=30`, `Vary: Authorization, Origin` (docs/api.md).",
    responses={
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **WIDGET_ERRORS,
    },
)
async def widget_config(
    *,
    request: Request,
    runtime: RuntimeDep,
    product: ProductRef,
    variant: VariantRef = None,
) -> Response:
    # Async, with the key checked inside: a hit costs no thread hop (gateway.widget.config).
    return await config.serve(request, runtime, product, variant)


@router.post(
    "/sessions",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a try-on session (its id joins analytics events)",
    responses=WIDGET_ERRORS,
)
def create_session(
    principal: WidgetDep, session: SessionDep, runtime: RuntimeDep, body: SessionIn
) -> SessionOut:
    found = reads.product(
        session=session,
        reads=runtime.reads,
        merchant_id=principal.merchant_id,
        ref=body.product_id,
    )
    found.variant(body.variant_id)
    row = sessions.create(
        session=session,
        merchant_id=principal.merchant_id,
        product_id=found.id,
        mode=body.mode,
        now=utcnow(),
    )
    return SessionOut(session_id=row.id, started_at=row.started_at)


@router.get(
    "/models",
    response_model=ModelList,
    summary="Brand model photos a product can be tried on",
    responses=WIDGET_ERRORS,
)
def list_models(
    request: Request,
    principal: WidgetDep,
    session: SessionDep,
    runtime: RuntimeDep,
    product: ProductRef,
) -> ModelList:
    found = reads.product(
        session=session, reads=runtime.reads, merchant_id=principal.merchant_id, ref=product
    )
    models = reads.brand_models(
        session=session,
        reads=runtime.reads,
        merchant_id=principal.merchant_id,
        kinds=assets.MODEL_KINDS_FOR[found.category],
    )
    return ModelList(data=[_model_out(request, m.id, m.name, m.kind) for m in models])


@router.get(
    "/models/{model_id}/image",
    name="widget_model_image",
    summary="A brand model photo (JPEG), to show in the model picker",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **WIDGET_ERRORS},
)
def model_image(
    principal: WidgetDep, session: SessionDep, runtime: RuntimeDep, model_id: uuid.UUID
) -> Response:
    model = assets.get_model(session=session, merchant_id=principal.merchant_id, model_id=model_id)
    data = storage.require(runtime.storage, model.storage_key, "The model photo")
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )
