"""Prepared try-on assets and brand model photos, always scoped by merchant."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.assets.models import BrandModelPhoto, ModelPhotoKind, TryOnAsset
from gateway.errors import NotFound
from gateway.products.models import Category

MODEL_KINDS_FOR = {
    Category.EYEWEAR: (ModelPhotoKind.FACE,),
    Category.HAT: (ModelPhotoKind.FACE,),
    Category.EARRINGS: (ModelPhotoKind.FACE,),
    Category.NECKLACE: (ModelPhotoKind.FACE, ModelPhotoKind.BODY),
    Category.TOP: (ModelPhotoKind.BODY,),
}


def list_assets(
    *, session: Session, merchant_id: uuid.UUID, product_id: uuid.UUID | None = None
) -> list[TryOnAsset]:
    query = select(TryOnAsset).where(TryOnAsset.merchant_id == merchant_id)
    if product_id is not None:
        query = query.where(TryOnAsset.product_id == product_id)
    return list(session.scalars(query.order_by(TryOnAsset.created_at, TryOnAsset.id)))


def get_asset(*, session: Session, merchant_id: uuid.UUID, asset_id: uuid.UUID) -> TryOnAsset:
    asset = session.scalar(
        select(TryOnAsset).where(TryOnAsset.id == asset_id, TryOnAsset.merchant_id == merchant_id)
    )
    if asset is None:
        raise NotFound("No such try-on asset")
    return asset


def list_models(
    *,
    session: Session,
    merchant_id: uuid.UUID,
    kinds: tuple[ModelPhotoKind, ...] | None = None,
) -> list[BrandModelPhoto]:
    query = select(BrandModelPhoto).where(BrandModelPhoto.merchant_id == merchant_id)
    if kinds is not None:
        query = query.where(BrandModelPhoto.kind.in_(kinds))
    return list(session.scalars(query.order_by(BrandModelPhoto.created_at, BrandModelPhoto.id)))


def get_model(*, session: Session, merchant_id: uuid.UUID, model_id: uuid.UUID) -> BrandModelPhoto:
    model = session.scalar(
        select(BrandModelPhoto).where(
            BrandModelPhoto.id == model_id, BrandModelPhoto.merchant_id == merchant_id
        )
    )
    if model is None:
        raise NotFound("No such brand model photo")
    return model


def find_model(
    *, session: Session, merchant_id: uuid.UUID, content_hash: str
) -> BrandModelPhoto | None:
    return session.scalar(
        select(BrandModelPhoto).where(
            BrandModelPhoto.merchant_id == merchant_id,
            BrandModelPhoto.content_hash == content_hash,
        )
    )


def find_asset(*, session: Session, merchant_id: uuid.UUID, content_hash: str) -> TryOnAsset | None:
    return session.scalar(
        select(TryOnAsset).where(
            TryOnAsset.merchant_id == merchant_id, TryOnAsset.content_hash == content_hash
        )
    )
