"""Secret keys authenticate merchant endpoints; tenants never see each other's rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.db.session import session_scope
from gateway.keys import service as keys
from tests.gateway.conftest import auth

PRODUCT = {
    "external_id": "aviator-gold",
    "title": "Aviator",
    "category": "eyewear",
    "images": ["https://shop.example/a.png"],
    "variants": [
        {"external_id": "m", "title": "M", "size": "M", "measurements": {"frame_width_mm": 138}}
    ],
}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"]
    return body


def test_secret_key_lists_its_products(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    m = new_merchant("Demo")
    created = client.post("/v1/products", json=PRODUCT, headers=auth(m.secret_key))
    assert created.status_code == 201, created.text
    listed = client.get("/v1/products", headers=auth(m.secret_key))
    assert listed.status_code == 200
    data = listed.json()["data"]
    assert [p["external_id"] for p in data] == ["aviator-gold"]
    assert data[0]["variants"][0]["measurements"] == {"frame_width_mm": 138}


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer sk_short"},
        {"Authorization": "Bearer sk_" + "!" * 32},
        {"Authorization": "Bearer " + "sk_" + "A" * 32},  # well formed, unknown
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_malformed_or_unknown_keys_get_401(client: TestClient, header: dict[str, str]) -> None:
    body = assert_problem(client.get("/v1/products", headers=header), 401, "invalid-api-key")
    assert "sk_" not in body.get("detail", "").replace("sk_...", "")


def test_revoked_key_gets_401(client: TestClient, new_merchant: Callable[..., Any]) -> None:
    m = new_merchant()
    assert client.get("/v1/products", headers=auth(m.secret_key)).status_code == 200
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        principal = keys.authenticate(session=session, raw_key=m.secret_key)
        keys.revoke(session=session, merchant_id=principal.merchant_id, key_id=principal.key_id)
    response = client.get("/v1/products", headers=auth(m.secret_key))
    body = assert_problem(response, 401, "invalid-api-key")
    assert "revoked" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_publishable_key_cannot_call_merchant_endpoints(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    m = new_merchant()
    assert_problem(
        client.get("/v1/products", headers=auth(m.publishable_key)), 403, "key-type-not-allowed"
    )


def test_tenants_never_see_each_others_rows(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    a, b = new_merchant("A"), new_merchant("B")
    pa = client.post("/v1/products", json=PRODUCT, headers=auth(a.secret_key)).json()
    # B may use the same external id: ids are per merchant.
    pb = client.post("/v1/products", json=PRODUCT, headers=auth(b.secret_key)).json()
    assert pa["id"] != pb["id"]

    listed_b = client.get("/v1/products", headers=auth(b.secret_key)).json()["data"]
    assert [p["id"] for p in listed_b] == [pb["id"]]
    assert_problem(
        client.get(f"/v1/products/{pa['id']}", headers=auth(b.secret_key)), 404, "not-found"
    )
    assert_problem(
        client.delete(f"/v1/products/{pa['id']}", headers=auth(b.secret_key)), 404, "not-found"
    )
    # A's product survived B's attempt.
    assert client.get(f"/v1/products/{pa['id']}", headers=auth(a.secret_key)).status_code == 200


def test_pagination_walks_every_row_once(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    m = new_merchant()
    for i in range(5):
        body = {**PRODUCT, "external_id": f"p{i}", "variants": []}
        assert client.post("/v1/products", json=body, headers=auth(m.secret_key)).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/products", params=params, headers=auth(m.secret_key)).json()
        seen += [p["external_id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"p{i}" for i in range(5)]
    assert len(seen) == 5


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "bm90LWEtY3Vyc29y", "A" * 199, "1." + "g" * 32, "12345678901234567." + "0" * 32],
)
def test_bad_cursor_is_422(
    client: TestClient, new_merchant: Callable[..., Any], cursor: str
) -> None:
    # The cursor's format is declared (OpenAPI pattern): anything else is refused by schema.
    m = new_merchant()
    response = client.get("/v1/products", params={"cursor": cursor}, headers=auth(m.secret_key))
    assert_problem(response, 422, "invalid-input")


def test_any_cursor_of_the_declared_shape_is_a_position(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    m = new_merchant()
    for cursor in ("0." + "0" * 32, "9" * 16 + "." + "f" * 32):
        response = client.get("/v1/products", params={"cursor": cursor}, headers=auth(m.secret_key))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**PRODUCT, "category": "spaceship"},
        {**PRODUCT, "unexpected": 1},
        {**PRODUCT, "title": "x" * 301},
        {**PRODUCT, "images": ["javascript:alert(1)"]},
        {**PRODUCT, "variants": [{"external_id": "v", "title": "t", "measurements": {"a": "b"}}]},
    ],
)
def test_invalid_products_are_422(
    client: TestClient, new_merchant: Callable[..., Any], body: dict[str, Any]
) -> None:
    m = new_merchant()
    problem = assert_problem(
        client.post("/v1/products", json=body, headers=auth(m.secret_key)), 422, "invalid-input"
    )
    assert problem["errors"]


@pytest.mark.parametrize(
    ("content", "status", "slug"),
    [(b"\xff\xfe{not json", 400, "bad-request"), (b"{not json", 422, "invalid-input")],
)
def test_non_json_body_is_a_4xx_problem(
    client: TestClient, new_merchant: Callable[..., Any], content: bytes, status: int, slug: str
) -> None:
    m = new_merchant()
    headers = {**auth(m.secret_key), "content-type": "application/json"}
    response = client.post("/v1/products", content=content, headers=headers)
    assert_problem(response, status, slug)


def test_duplicate_external_id_is_409(client: TestClient, new_merchant: Callable[..., Any]) -> None:
    m = new_merchant()
    assert client.post("/v1/products", json=PRODUCT, headers=auth(m.secret_key)).status_code == 201
    assert_problem(
        client.post("/v1/products", json=PRODUCT, headers=auth(m.secret_key)), 409, "conflict"
    )
    # The failed insert left the first product intact.
    assert len(client.get("/v1/products", headers=auth(m.secret_key)).json()["data"]) == 1


def test_unknown_product_id_is_404_and_bad_id_is_422(
    client: TestClient, new_merchant: Callable[..., Any]
) -> None:
    m = new_merchant()
    assert_problem(
        client.get(f"/v1/products/{uuid.uuid4()}", headers=auth(m.secret_key)), 404, "not-found"
    )
    assert_problem(
        client.get("/v1/products/not-a-uuid", headers=auth(m.secret_key)), 422, "invalid-input"
    )


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/nope"), 404, "not-found")
    assert_problem(client.put("/healthz"), 405, "method-not-allowed")
