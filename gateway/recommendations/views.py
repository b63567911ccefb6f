"""Recommendations: ``GET /v1/widget/recommendations`` (publishable keys) and
``GET /v1/products/{id}/recommendations`` (secret keys, ``products:read``)."""

from __future__ import annotations

import threading
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import SessionDep
from gateway.keys.deps import ProductsRead
from gateway.recommendations.schemas import Recommendations, item_out
from gateway.recommendations.service import Recommender, Tuning
from gateway.runtime import RuntimeDep
from gateway.widget.deps import WidgetDep
from gateway.widget.views import WIDGET_ERRORS, ProductRef

widget_router = APIRouter(prefix="/v1/widget", tags=["widget"])
merchant_router = APIRouter(prefix="/v1/products", tags=["merchant: products"])

_CREATE = threading.Lock()
WIDGET_CACHE_S = 60
Limit = Annotated[int, Query(ge=1, le=24, description="How many products at most")]


def recommender(request: Request, runtime: RuntimeDep) -> Recommender:
    """The app's ``Recommender``, made on first use from the settings."""
    found: Recommender | None = getattr(request.app.state, "recommender", None)
    if found is not None:
        return found
    with _CREATE:
        found = getattr(request.app.state, "recommender", None)
        if found is None:
            s = runtime.settings
            pipeline = getattr(request.app.state, "analytics", None)
            found = Recommender(
                warehouse=pipeline.engine if pipeline is not None else None,
                tuning=Tuning(
                    catalog_ttl_s=s.recommend_catalog_ttl_s,
                    cooccurrence_ttl_s=s.recommend_cooccurrence_ttl_s,
                    window_days=s.recommend_window_days,
                    half_life_days=s.recommend_half_life_days,
                    min_support=s.recommend_min_support,
                ),
            )
            request.app.state.recommender = found
    return found


RecommenderDep = Annotated[Recommender, Depends(recommender)]


@widget_router.get(
    "/recommendations",
    response_model=Recommendations,
    summary="Products to try next, after this one (cacheable per product)",
    responses=WIDGET_ERRORS,
)
async def widget_recommendations(
    *,
    response: Response,
    principal: WidgetDep,
    session: SessionDep,
    recs: RecommenderDep,
    product: ProductRef,
    limit: Limit = 8,
) -> Recommendations:
    query, found = await run_in_threadpool(
        lambda: recs.for_product(
            session,
            merchant_id=principal.merchant_id,
            ref=product,
            limit=limit,
            require_asset=True,  # the widget's row is for trying on
        )
    )
    # Merchant data only, the same for every shopper of the shop: like the configuration,
    # a browser may keep it for a minute.
    response.headers["Cache-Control"] = f"private, max-age={WIDGET_CACHE_S}"
    return Recommendations(
        product_id=query.id, external_id=query.external_id, data=[item_out(s) for s in found]
    )


@merchant_router.get(
    "/{product_id}/recommendations",
    response_model=Recommendations,
    summary="Products recommended after this one (similar, and tried or bought together)",
)
async def product_recommendations(
    principal: ProductsRead,
    session: SessionDep,
    recs: RecommenderDep,
    product_id: uuid.UUID,
    limit: Limit = 8,
) -> Recommendations:
    query, found = await run_in_threadpool(
        lambda: recs.for_product(
            session,
            merchant_id=principal.merchant_id,
            ref=str(product_id),
            limit=limit,
            require_asset=False,
            fresh=True,  # the merchant sees their latest edit
        )
    )
    return Recommendations(
        product_id=query.id, external_id=query.external_id, data=[item_out(s) for s in found]
    )
