"""Photo try-on, analysis, brand models and assets through the HTTP API (real ML, in-process).

The tests that read and write blobs run twice: files under the data dir, and an S3 bucket.
"""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from gateway.db.session import session_scope
from gateway.merchants.models import Merchant
from tests.gateway.conftest import assert_problem, auth, widget
from tests.gateway.tryon_support import (
    demo_product_image,
    eyewear_shop,
    no_face_jpeg,
    selfie_jpeg,
)


def tryon(client: TestClient, pk: str, body: bytes, **kwargs: object) -> object:
    headers = {**widget(pk), "content-type": "image/jpeg", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    params = {"product": "round-black", **kwargs.pop("params", {})}  # type: ignore[dict-item]
    return client.post("/v1/widget/tryon", params=params, content=body, headers=headers)


def test_photo_tryon_returns_the_rendered_jpeg_and_geometry(embedded_storage: TestClient) -> None:
    shop = eyewear_shop(embedded_storage)
    photo = selfie_jpeg()
    response = tryon(embedded_storage, shop.merchant.publishable_key, photo)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "image/jpeg"  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    rendered = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)  # type: ignore[attr-defined]
    assert rendered.shape == (480, 640, 3)
    original = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    # Glasses were drawn: the eye region changed, the corners did not (beyond JPEG noise).
    geometry = json.loads(response.headers["tryon-geometry"])  # type: ignore[attr-defined]
    assert geometry["width"] == 640
    assert geometry["height"] == 480
    (lx, ly), (rx, ry) = geometry["faces"][0]["lens_centres"]
    eyes = slice(int(min(ly, ry)) - 10, int(max(ly, ry)) + 10), slice(int(lx) - 10, int(rx) + 10)
    diff = np.abs(rendered.astype(int) - original.astype(int))
    assert diff[eyes].mean() > 10
    assert diff[:40, :40].mean() < 6
    # Sizes S (128 mm) and L (146 mm): a recommendation among them.
    # The widget API refers to variants by their external ids (as the SDK and events do).
    advice = geometry["size_recommendation"]
    sizes = {v["external_id"]: v["size"] for v in shop.product["variants"]}
    assert advice["variant_id"] in sizes
    assert advice["size"] == sizes[advice["variant_id"]]
    # Eyewear: the face shape and frame advice come back with the picture (ml_service.advice).
    face = geometry["face_advice"]
    assert face["face_shape"] in (
        "oval",
        "round",
        "square",
        "oblong",
        "heart",
        "diamond",
        "triangle",
    )
    assert 0 < face["confidence"] <= 1
    assert face["frame_shapes"]
    assert face["frame_width_mm"][0] < face["frame_width_mm"][1]
    assert "landmarks" not in json.dumps(face)


def _variants(client: TestClient, shop: object, variants: list[dict[str, object]]) -> None:
    product = shop.product  # type: ignore[attr-defined]
    response = client.patch(
        f"/v1/products/{product['id']}",
        json={"variants": variants},
        headers=auth(shop.merchant.secret_key),  # type: ignore[attr-defined]
    )
    assert response.status_code == 200, response.text


def _advice(client: TestClient, shop: object, variant: str | None = None) -> object:
    params = {"variant": variant} if variant else {}
    response = tryon(client, shop.merchant.publishable_key, selfie_jpeg(), params=params)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return json.loads(response.headers["tryon-geometry"])["size_recommendation"]  # type: ignore[attr-defined]


def test_colours_of_a_one_size_product_get_no_size_advice(embedded: TestClient) -> None:
    """The demo's round glasses come in black and gold, one size: no "size Gold"."""
    shop = eyewear_shop(embedded)
    _variants(
        embedded,
        shop,
        [
            {
                "external_id": "black",
                "title": "Black",
                "color": "Black",
                "measurements": {"frame_width_mm": 132},
            },
            {
                "external_id": "gold",
                "title": "Gold",
                "color": "Gold",
                "measurements": {"frame_width_mm": 134},
            },
        ],
    )
    assert _advice(embedded, shop, "gold") is None
    assert _advice(embedded, shop) is None


def test_size_advice_stays_in_the_colour_tried_on(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    _variants(
        embedded,
        shop,
        [
            {
                "external_id": f"{colour}-{size.lower()}",
                "title": f"{colour} {size}",
                "color": colour,
                "size": size,
                "measurements": {"frame_width_mm": width},
            }
            for colour in ("black", "gold")
            for size, width in (("S", 128), ("L", 146))
        ],
    )
    for colour in ("black", "gold"):
        advice = _advice(embedded, shop, f"{colour}-s")
        assert advice is not None
        assert advice["variant_id"].startswith(f"{colour}-")  # type: ignore[index]
        assert advice["variant_id"] == f"{colour}-{advice['size'].lower()}"  # type: ignore[index]


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("image/png", "image/png"),
        ("image/webp", "image/webp"),
        ("image/webp;q=0.5, image/png", "image/png"),
        ("*/*", "image/jpeg"),
    ],
)
def test_output_format_follows_accept(embedded: TestClient, accept: str, media: str) -> None:
    shop = eyewear_shop(embedded)
    response = tryon(
        embedded, shop.merchant.publishable_key, selfie_jpeg(), headers={"Accept": accept}
    )
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["content-type"] == media  # type: ignore[attr-defined]


def test_json_output_carries_a_data_url_and_the_session(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    pk = shop.merchant.publishable_key
    session = embedded.post(
        "/v1/widget/sessions",
        json={"product_id": "round-black", "mode": "photo"},
        headers=widget(pk),
    ).json()["session_id"]
    response = tryon(
        embedded,
        pk,
        selfie_jpeg(),
        headers={"Accept": "application/json"},
        params={"session": session},
    )
    body = response.json()  # type: ignore[attr-defined]
    assert body["session_id"] == session
    assert body["image"].startswith("data:image/jpeg;base64,")
    assert base64.b64decode(body["image"].split(",", 1)[1])[:3] == b"\xff\xd8\xff"
    assert len(body["geometry"]["faces"]) == 1
    usage = embedded.get("/v1/usage", headers=auth(shop.merchant.secret_key)).json()
    assert usage["totals"]["tryon_photo"] == 1


def test_not_acceptable(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    response = tryon(
        embedded, shop.merchant.publishable_key, selfie_jpeg(), headers={"Accept": "text/html"}
    )
    assert_problem(response, 406, "not-acceptable")


def test_no_face_is_a_clear_422(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    body = assert_problem(
        tryon(embedded, shop.merchant.publishable_key, no_face_jpeg()), 422, "no-subject-found"
    )
    assert body["reason"] == "no-face"
    # A failed try-on is not counted.
    usage = embedded.get("/v1/usage", headers=auth(shop.merchant.secret_key)).json()
    assert usage["totals"].get("tryon_photo", 0) == 0


def test_quota_exhausted_is_429_before_any_work(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    with session_scope(embedded.app.state.engine) as session:  # type: ignore[attr-defined]
        session.get(Merchant, shop.merchant.merchant.id).monthly_tryon_quota = 1  # type: ignore[union-attr]
    pk = shop.merchant.publishable_key
    assert tryon(embedded, pk, selfie_jpeg()).status_code == 200  # type: ignore[attr-defined]
    response = tryon(embedded, pk, b"not even an image")
    body = assert_problem(response, 429, "quota-exceeded")
    assert int(response.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert body["retry_after"] > 0
    config = embedded.get(
        "/v1/widget/config", params={"product": "round-black"}, headers=widget(pk)
    ).json()
    assert config["quota"] == {"exhausted": True, "remaining": 0}


def test_product_without_asset(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    embedded.post(
        "/v1/products",
        json={"external_id": "bare", "title": "Bare", "category": "eyewear"},
        headers=auth(shop.merchant.secret_key),
    )
    body = assert_problem(
        tryon(embedded, shop.merchant.publishable_key, selfie_jpeg(), params={"product": "bare"}),
        404,
        "not-found",
    )
    assert body["reason"] == "no-asset"


def test_analyze_returns_geometry_and_size(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    response = embedded.post(
        "/v1/widget/analyze",
        params={"product": "round-black"},
        content=selfie_jpeg(),
        headers={**widget(shop.merchant.publishable_key), "content-type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (640, 480)
    face = body["faces"][0]
    assert len(face["landmarks"]) == 468
    assert 50 < face["ipd_mm"] < 80
    assert body["size_recommendation"]["variant_id"] in {"s", "l"}


def test_widget_config_after_asset(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    config = embedded.get(
        "/v1/widget/config",
        params={"product": "round-black", "variant": "l"},
        headers=widget(shop.merchant.publishable_key),
    ).json()
    assert config["modes"] == ["live", "photo"]
    assert config["product"]["has_asset"] is True
    assert all(v["has_asset"] for v in config["product"]["variants"])
    assert config["variant_id"] == "l"  # the external id, as everywhere in the widget API


def test_assets_api(embedded_storage: TestClient) -> None:
    shop = eyewear_shop(embedded_storage)
    sk = shop.merchant.secret_key
    asset = shop.asset
    assert asset["category"] == "eyewear"
    assert {"lens_left", "lens_right", "bridge"} <= set(asset["anchors"]["anchors"])
    listed = embedded_storage.get(
        "/v1/assets", params={"product_id": shop.product["id"]}, headers=auth(sk)
    ).json()["data"]
    assert [a["id"] for a in listed] == [asset["id"]]
    png = embedded_storage.get(f"/v1/assets/{asset['id']}/image", headers=auth(sk))
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # The same image again is a conflict, not a duplicate.
    again = embedded_storage.post(
        f"/v1/products/{shop.product['id']}/assets",
        params={"width_mm": 132},
        content=demo_product_image(),
        headers={**auth(sk), "content-type": "image/png"},
    )
    assert_problem(again, 409, "conflict")
    # Anchors corrected by hand make a new version of the asset.
    x, y = asset["anchors"]["anchors"]["bridge"]
    patched = embedded_storage.patch(
        f"/v1/assets/{asset['id']}", json={"anchors": {"bridge": [x + 2, y]}}, headers=auth(sk)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["content_hash"] != asset["content_hash"]
    assert patched.json()["anchors"]["anchors"]["bridge"][0] == pytest.approx(x + 2)
    bad = embedded_storage.patch(
        f"/v1/assets/{asset['id']}", json={"anchors": {"bridge": [1e9, 0]}}, headers=auth(sk)
    )
    assert_problem(bad, 422, "bad-anchors")
    # The original image again is a new asset now; moved the same way, it would duplicate.
    second = embedded_storage.post(
        f"/v1/products/{shop.product['id']}/assets",
        params={"width_mm": 132},
        content=demo_product_image(),
        headers={**auth(sk), "content-type": "image/png"},
    )
    assert second.status_code == 201, second.text
    clash = embedded_storage.patch(
        f"/v1/assets/{second.json()['id']}",
        json={"anchors": {"bridge": [x + 2, y]}},
        headers=auth(sk),
    )
    assert_problem(clash, 409, "conflict")
    assert embedded_storage.delete(f"/v1/assets/{asset['id']}", headers=auth(sk)).status_code == 204


@pytest.mark.parametrize(
    ("content", "status", "slug"),
    [
        (b"", 400, "empty-body"),
        (b"GIF89a" + b"\0" * 100, 415, "unsupported-media-type"),
        (selfie_jpeg(), 422, "asset-refused"),  # a photo, not a product packshot
    ],
)
def test_unusable_product_images(
    embedded: TestClient, content: bytes, status: int, slug: str
) -> None:
    shop = eyewear_shop(embedded)
    response = embedded.post(
        f"/v1/products/{shop.product['id']}/assets",
        content=content,
        headers={**auth(shop.merchant.secret_key), "content-type": "image/png"},
    )
    body = assert_problem(response, status, slug)
    assert body["detail"]


def test_brand_model_tryon_is_cached_and_identical(embedded_storage: TestClient) -> None:
    shop = eyewear_shop(embedded_storage)
    sk, pk = shop.merchant.secret_key, shop.merchant.publishable_key
    model = embedded_storage.post(
        "/v1/models",
        params={"name": "Alex", "kind": "face"},
        content=selfie_jpeg(),
        headers={**auth(sk), "content-type": "image/jpeg"},
    )
    assert model.status_code == 201, model.text
    assert model.json()["faces"] == 1
    model_id = model.json()["id"]
    listed = embedded_storage.get(
        "/v1/widget/models", params={"product": "round-black"}, headers=widget(pk)
    ).json()["data"]
    assert [m["id"] for m in listed] == [model_id]
    picture = embedded_storage.get(listed[0]["image_url"], headers=widget(pk))
    assert picture.content[:3] == b"\xff\xd8\xff"
    first = embedded_storage.post(
        f"/v1/widget/models/{model_id}/tryon", params={"product": "round-black"}, headers=widget(pk)
    )
    second = embedded_storage.post(
        f"/v1/widget/models/{model_id}/tryon", params={"product": "round-black"}, headers=widget(pk)
    )
    assert first.status_code == 200, first.text
    assert first.headers["tryon-cache"] == "miss"
    assert second.headers["tryon-cache"] == "hit"
    assert first.content == second.content
    assert first.headers["tryon-geometry"] == second.headers["tryon-geometry"]
    metrics = embedded_storage.get("/metrics").text
    assert 'tryon_cache_requests_total{cache="model_tryon",result="hit"} 1.0' in metrics
    config = embedded_storage.get(
        "/v1/widget/config", params={"product": "round-black"}, headers=widget(pk)
    ).json()
    assert config["modes"] == ["live", "photo", "model"]


def test_model_photo_without_face_is_refused(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    response = embedded.post(
        "/v1/models",
        params={"name": "Nobody"},
        content=no_face_jpeg(),
        headers={**auth(shop.merchant.secret_key), "content-type": "image/jpeg"},
    )
    assert_problem(response, 422, "no-subject-found")


def test_metrics_cover_requests_and_stages(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    tryon(embedded, shop.merchant.publishable_key, selfie_jpeg())
    text = embedded.get("/metrics").text
    labels = 'method="POST",route="/v1/widget/tryon",status="200"'
    assert f"tryon_http_request_duration_seconds_count{{{labels}}} 1.0" in text
    for stage in ("decode", "analyze", "render", "encode", "total"):
        assert f'tryon_stage_duration_seconds_count{{mode="photo",stage="{stage}"}} 1.0' in text


def _hostile() -> list[tuple[str, bytes, str, int]]:
    from PIL import Image

    from tests.gateway.test_images import encode, photo, png_with_header

    jpeg = selfie_jpeg()
    return [
        ("zero-bytes", b"", "image/jpeg", 400),
        ("bomb", png_with_header(60_000, 60_000), "image/png", 413),
        ("giant", encode(Image.new("L", (6000, 4500)), "PNG"), "image/png", 413),
        ("truncated", jpeg[: len(jpeg) // 3], "image/jpeg", 422),
        ("png-magic-gif-inside", b"\x89PNG\r\n\x1a\n" + encode(photo(), "GIF"), "image/png", 422),
        ("gif", encode(photo(), "GIF"), "image/jpeg", 415),
        ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg", 415),
        ("declared-html", jpeg, "text/html", 415),
        ("aspect", encode(photo(1600, 100), "PNG"), "image/png", 422),
        ("oversize", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "image/jpeg", 413),
    ]


@pytest.mark.parametrize(
    ("name", "content", "content_type", "status"), _hostile(), ids=[h[0] for h in _hostile()]
)
def test_hostile_uploads_are_4xx_problems(
    embedded: TestClient, name: str, content: bytes, content_type: str, status: int
) -> None:
    shop = eyewear_shop(embedded)
    for path in ("/v1/widget/tryon", "/v1/widget/analyze"):
        response = embedded.post(
            path,
            params={"product": "round-black"},
            content=content,
            headers={**widget(shop.merchant.publishable_key), "content-type": content_type},
        )
        assert response.status_code == status, (name, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
