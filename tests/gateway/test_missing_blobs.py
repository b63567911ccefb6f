"""A blob that a row names and storage no longer has is one answer everywhere: 503
``dependency-unavailable`` (storage) with Retry-After. The shopper or merchant did nothing
wrong and a retry may succeed (a replica catching up, storage restored); a 404 would say the
resource does not exist while its row lists it."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.assets.models import BrandModelPhoto, ModelPhotoKind
from gateway.db.session import session_scope
from gateway.ml import asset_keys
from tests.gateway.conftest import assert_problem, auth, widget
from tests.gateway.tryon_support import eyewear_shop

ROOT = Path(__file__).resolve().parents[2]


def _model_without_its_photo(client: TestClient, merchant_id: uuid.UUID) -> uuid.UUID:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = BrandModelPhoto(
            merchant_id=merchant_id,
            name="Alex",
            kind=ModelPhotoKind.FACE,
            content_hash="0" * 64,
            storage_key=f"{merchant_id}/models/{'0' * 64}.jpg",
        )
        session.add(row)
        session.flush()
        return row.id


def _missing(response: object) -> None:
    body = assert_problem(response, 503, "dependency-unavailable")
    assert body["dependency"] == "storage"
    assert "missing" in body["detail"]
    assert response.headers["retry-after"]  # type: ignore[attr-defined]


def test_a_missing_model_photo_is_503_for_its_image_and_its_tryon(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    model_id = _model_without_its_photo(embedded, shop.merchant.merchant.id)
    headers = widget(shop.merchant.publishable_key)
    _missing(embedded.get(f"/v1/widget/models/{model_id}/image", headers=headers))
    _missing(
        embedded.post(
            f"/v1/widget/models/{model_id}/tryon",
            params={"product": "round-black"},
            headers=headers,
        )
    )


def test_a_missing_asset_image_is_503(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    png_key, _ = asset_keys(str(shop.merchant.merchant.id), shop.asset["content_hash"])
    embedded.app.state.runtime.storage.delete(png_key)  # type: ignore[attr-defined]
    _missing(
        embedded.get(f"/v1/assets/{shop.asset['id']}/image", headers=auth(shop.merchant.secret_key))
    )


def test_blobs_are_read_through_the_one_rule() -> None:
    # ``storage.require`` decides what a missing blob means; a bare ``.get`` on a storage
    # elsewhere would decide again.
    offenders = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        if path.name == "storage.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "get"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "storage"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
