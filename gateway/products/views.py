"""Merchant API: products (secret keys)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from gateway.api.deps import ProductsRead, ProductsWrite, RuntimeDep, SessionDep
from gateway.assets import service as assets
from gateway.ml import delete_stored_asset
from gateway.products import service
from gateway.products.schemas import ProductIn, ProductOut, ProductPage, ProductPatch

router = APIRouter(prefix="/v1/products", tags=["merchant: products"])


@router.get("", response_model=ProductPage, summary="List products")
def list_products(
    principal: ProductsRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProductPage:
    rows, next_cursor = service.list_page(
        session=session, merchant_id=principal.merchant_id, limit=limit, cursor=cursor
    )
    return ProductPage(data=[ProductOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "", response_model=ProductOut, status_code=status.HTTP_201_CREATED, summary="Create a product"
)
def create_product(principal: ProductsWrite, session: SessionDep, body: ProductIn) -> ProductOut:
    product = service.create(session=session, merchant_id=principal.merchant_id, data=body)
    return ProductOut.model_validate(product)


@router.get("/{product_id}", response_model=ProductOut, summary="Get a product")
def get_product(principal: ProductsRead, session: SessionDep, product_id: uuid.UUID) -> ProductOut:
    product = service.get(session=session, merchant_id=principal.merchant_id, product_id=product_id)
    return ProductOut.model_validate(product)


@router.patch("/{product_id}", response_model=ProductOut, summary="Change a product")
def update_product(
    principal: ProductsWrite, session: SessionDep, product_id: uuid.UUID, body: ProductPatch
) -> ProductOut:
    product = service.update(
        session=session, merchant_id=principal.merchant_id, product_id=product_id, data=body
    )
    return ProductOut.model_validate(product)


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a product (its try-on assets too)",
    responses={503: {"description": "Storage is unavailable (problem+json)"}},
)
def delete_product(
    principal: ProductsWrite, session: SessionDep, runtime: RuntimeDep, product_id: uuid.UUID
) -> Response:
    merchant_id = principal.merchant_id
    service.get(session=session, merchant_id=merchant_id, product_id=product_id)  # 404 first
    for asset in assets.list_assets(
        session=session, merchant_id=merchant_id, product_id=product_id
    ):
        delete_stored_asset(runtime.storage, str(merchant_id), asset.content_hash)
    service.delete(session=session, merchant_id=merchant_id, product_id=product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
