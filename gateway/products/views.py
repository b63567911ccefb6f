"""Merchant API: products (secret keys). Deleting one deletes its try-on assets too, so
that route lives with the assets (``gateway.assets.views``): assets depend on products."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from gateway.api.deps import SessionDep
from gateway.keys.deps import ProductsRead, ProductsWrite
from gateway.products import service
from gateway.products.schemas import ProductIn, ProductOut, ProductPage, ProductPatch

router = APIRouter(prefix="/v1/products", tags=["merchant: products"])


@router.get("", response_model=ProductPage, summary="List products")
def list_products(
    principal: ProductsRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            pattern=service.CURSOR_PATTERN,
            max_length=49,
            description="A `next_cursor` from the previous page",
        ),
    ] = None,
) -> ProductPage:
    rows, next_cursor = service.list_page(
        session=session, merchant_id=principal.merchant_id, limit=limit, cursor=cursor
    )
    return ProductPage(data=[ProductOut.of(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "", response_model=ProductOut, status_code=status.HTTP_201_CREATED, summary="Create a product"
)
def create_product(principal: ProductsWrite, session: SessionDep, body: ProductIn) -> ProductOut:
    product = service.create(session=session, merchant_id=principal.merchant_id, data=body)
    return ProductOut.of(product)


@router.get("/{product_id}", response_model=ProductOut, summary="Get a product")
def get_product(principal: ProductsRead, session: SessionDep, product_id: uuid.UUID) -> ProductOut:
    product = service.get(session=session, merchant_id=principal.merchant_id, product_id=product_id)
    return ProductOut.of(product)


@router.patch("/{product_id}", response_model=ProductOut, summary="Change a product")
def update_product(
    principal: ProductsWrite, session: SessionDep, product_id: uuid.UUID, body: ProductPatch
) -> ProductOut:
    product = service.update(
        session=session, merchant_id=principal.merchant_id, product_id=product_id, data=body
    )
    return ProductOut.of(product)
