"""3D models (.glb) uploaded as try-on assets for eyewear and hats (real ML, in-process)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.gateway.conftest import assert_problem, auth, widget
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg

DEMO = Path(__file__).resolve().parents[2] / "ml_service" / "demo_assets"
GLB = "model/gltf-binary"


def test_a_glb_upload_makes_an_asset_that_renders_in_3d(embedded_storage: TestClient) -> None:
    shop = eyewear_shop(embedded_storage)
    sk, pk = shop.merchant.secret_key, shop.merchant.publishable_key
    data = (DEMO / "glasses-round-gold.glb").read_bytes()
    created = embedded_storage.post(
        f"/v1/products/{shop.product['id']}/assets",
        params={"variant": "l"},
        content=data,
        headers={**auth(sk), "content-type": GLB},
    )
    assert created.status_code == 201, created.text
    assert created.json()["category"] == "eyewear"
    # Its picture is rendered from the model (a PNG like any asset's).
    png = embedded_storage.get(f"/v1/assets/{created.json()['id']}/image", headers=auth(sk))
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    again = embedded_storage.post(
        f"/v1/products/{shop.product['id']}/assets",
        params={"variant": "l"},
        content=data,
        headers={**auth(sk), "content-type": GLB},
    )
    assert_problem(again, 409, "conflict")
    response = embedded_storage.post(
        "/v1/widget/tryon",
        params={"product": "round-black", "variant": "l"},
        content=selfie_jpeg(),
        headers={**widget(pk), "content-type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    geometry = json.loads(response.headers["tryon-geometry"])
    assert geometry["faces"][0]["model"] == "glb"


def test_hostile_and_misplaced_glb_uploads_are_422(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    sk = shop.merchant.secret_key
    data = (DEMO / "glasses-round-gold.glb").read_bytes()
    url = f"/v1/products/{shop.product['id']}/assets"
    for body in (data[:200], data[:8] + (len(data) + 9).to_bytes(4, "little") + data[12:]):
        bad = embedded.post(url, content=body, headers={**auth(sk), "content-type": GLB})
        problem = assert_problem(bad, 422, "asset-refused")
        assert problem["reason"] == "bad-model"
    # A hat model is not glasses-sized; a model for a top is refused.
    hat = (DEMO / "hat-fedora.glb").read_bytes()
    wrong = embedded.post(url, content=hat, headers={**auth(sk), "content-type": GLB})
    assert assert_problem(wrong, 422, "asset-refused")["reason"] == "bad-model"
    top = embedded.post(
        "/v1/products",
        json={
            "external_id": "tee",
            "title": "Tee",
            "category": "top",
            "variants": [{"external_id": "m", "title": "M"}],
        },
        headers=auth(sk),
    )
    assert top.status_code == 201, top.text
    refused = embedded.post(
        f"/v1/products/{top.json()['id']}/assets",
        content=data,
        headers={**auth(sk), "content-type": GLB},
    )
    assert assert_problem(refused, 422, "asset-refused")["reason"] == "model-category"
    # Not a model at all under the model's type: sniffed, refused as an image.
    junk = embedded.post(
        url, content=b"GIF89a" + b"\0" * 64, headers={**auth(sk), "content-type": GLB}
    )
    assert junk.status_code in (415, 422)
    # Without a key: 401 before anything is read.
    anonymous = embedded.post(url, content=data, headers={"content-type": GLB})
    assert anonymous.status_code == 401
