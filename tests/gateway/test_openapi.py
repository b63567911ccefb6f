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
        if isinstance(node.get("discriminator"), dict):
            own += list(node["discriminator"].get("mapping", {}).values())
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


def _body_schema(document: dict[str, Any], path: str, method: str, media: str) -> Any:
    body = document["paths"][path][method]["requestBody"]["content"][media]["schema"]
    return _resolve(document, body["$ref"]) if "$ref" in body else body


def _parameter(document: dict[str, Any], path: str, method: str, name: str) -> Any:
    parameters = document["paths"][path][method]["parameters"]
    return next(p for p in parameters if p["name"] == name)


def test_the_limits_the_server_enforces_are_declared(document: dict[str, Any]) -> None:
    # The 16 px minimum side of every image body.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                if media.startswith("image/"):
                    assert content["schema"]["x-min-side-px"] == 16, f"{method} {path}"
    # The metrics range, the product cursor, origins and the rotation grace period.
    since = _parameter(document, "/v1/metrics/summary", "get", "from")["schema"]
    assert since["x-max-range-days"] == 3661
    assert since["x-on-or-before"] == "to"
    cursor = _parameter(document, "/v1/products", "get", "cursor")["schema"]
    assert cursor["anyOf"][0]["pattern"] == r"^[0-9]{1,16}\.[0-9a-f]{32}$"
    rotate = _body_schema(document, "/v1/keys/{key_id}/rotate", "post", "application/json")
    assert rotate["properties"]["grace_period_s"]["maximum"] == 30 * 86_400
    new_key = _body_schema(document, "/v1/keys", "post", "application/json")
    kinds = {
        _resolve(document, option["$ref"])["properties"]["kind"]["const"]: _resolve(
            document, option["$ref"]
        )
        for option in new_key["oneOf"]
    }
    assert "allowed_origins" not in kinds["secret"]["properties"]
    origin = kinds["publishable"]["properties"]["allowed_origins"]["items"]
    assert origin["pattern"].startswith("^")
    assert kinds["publishable"]["properties"]["scopes"]["anyOf"][0]["items"]["const"] == "widget"
    # Times relative to now: orders and events.
    order = _body_schema(document, "/v1/orders", "post", "application/json")
    assert order["properties"]["occurred_at"]["x-max-age-hours"] == 168
    events = _body_schema(document, "/v1/events", "post", "application/json")
    assert events["x-max-age-hours"] == 168
    assert events["properties"]["events"]["maxItems"] == 100
    assert "purchase" not in events["properties"]["events"]["items"]["discriminator"]["mapping"]
    # Extra fields refused.
    for schema in (order, rotate, events, *kinds.values()):
        assert schema["additionalProperties"] is False


def _object_schemas(document: dict[str, Any], node: Any, seen: set[str]) -> list[Any]:
    """Every object schema reachable from ``node`` (through references, properties, items
    and unions)."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        if node["$ref"] in seen:
            return []
        seen.add(node["$ref"])
        return _object_schemas(document, _resolve(document, node["$ref"]), seen)
    found = [node] if node.get("type") == "object" and "properties" in node else []
    children = [*node.get("properties", {}).values()]
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            children.append(node[key])
    for key in ("oneOf", "anyOf", "allOf"):
        children += node.get(key, [])
    for child in children:
        found += _object_schemas(document, child, seen)
    return found


def test_every_json_body_refuses_extra_fields(document: dict[str, Any]) -> None:
    open_objects = []
    checked = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for schema in _object_schemas(
                    document, content["application/json"]["schema"], set()
                ):
                    checked.add(schema.get("title"))
                    if schema.get("additionalProperties") is not False:
                        open_objects.append(f"{method.upper()} {path}: {schema.get('title')}")
    assert open_objects == []
    # Orders and their lines, keys of both kinds, products and variants, every event type...
    assert {"OrderIn", "OrderLineIn", "SecretKeyIn", "PublishableKeyIn", "Open"} <= checked
