"""The OpenAPI document itself: every reference resolves, and each operation declares the key
it really takes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def document(embedded: TestClient) -> dict[str, Any]:
    response = embedded.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert "#/components/schemas/Geometry" in refs  # the try-on JSON answer's geometry
    for ref in set(refs):
        _resolve(document, ref)
    assert "$defs" not in str(document)


@pytest.mark.parametrize(
    ("method", "path", "scheme"),
    [
        ("post", "/v1/events", "publishableKey"),
        ("post", "/v1/widget/tryon", "publishableKey"),
        ("post", "/v1/orders", "secretKey"),
        ("get", "/v1/products", "secretKey"),
    ],
)
def test_operations_declare_the_key_they_take(
    document: dict[str, Any], method: str, path: str, scheme: str
) -> None:
    assert document["paths"][path][method]["security"] == [{scheme: []}]


def test_every_v1_operation_declares_a_key(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in operations.items():
                assert operation.get("security"), f"{method.upper()} {path}"
