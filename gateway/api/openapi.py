"""The OpenAPI document, completed: security schemes, and the problem+json responses every
operation can give (FastAPI only knows the ones a route declares)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; extension members vary by type",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/rate-limited"]},
        "title": {"type": "string", "examples": ["Too many requests"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "retry_after": {"type": "integer"},
        "reason": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
    "examples": [
        {
            "type": "/problems/rate-limited",
            "title": "Too many requests",
            "status": 429,
            "detail": "Too many requests from this key; slow down",
            "retry_after": 12,
            "request_id": "6f1c2a0e9b3d4c5e8f7a6b5c4d3e2f1a",
        }
    ],
}

_DESCRIPTIONS = {
    400: "Malformed request or empty body",
    401: "Missing, malformed, unknown or revoked key",
    403: "Wrong key type, missing scope, or origin not allowed",
    404: "No such resource (for this merchant)",
    405: "Method not allowed",
    406: "No acceptable response format",
    409: "Conflict with an existing resource",
    413: "Body over the size cap",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Rate limit or quota reached; see Retry-After",
    503: "A dependency is down; see Retry-After",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}

COMMON = (400, 401, 403, 404, 405, 413, 422, 503)
WIDGET = (*COMMON, 429)
UPLOAD = (*WIDGET, 406, 409, 415)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[status] + " (problem+json)",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


def _statuses(path: str, operation: dict[str, Any]) -> tuple[int, ...]:
    if not path.startswith("/v1/"):
        return (503,) if path == "/readyz" else ()
    body = operation.get("requestBody", {}).get("content", {})
    if any(media.startswith("image/") for media in body) or path.endswith("/tryon"):
        return UPLOAD
    if path.startswith("/v1/widget/"):
        return WIDGET
    return (*COMMON, 409)


_PUBLISHABLE_PATHS = ("/v1/widget/", "/v1/events")


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """Move every nested ``$defs`` (pydantic's, in hand-written response schemas) into
    ``components/schemas`` and point their ``#/$defs/X`` references there: in an OpenAPI
    document ``#`` is the document, so a nested ``$defs`` cannot be referenced that way."""
    if isinstance(node, dict):
        for name, sub in node.pop("$defs", {}).items():
            hoisted = _hoist_defs(sub, schemas)
            if schemas.setdefault(name, hoisted) != hoisted:
                raise ValueError(f"two different schemas are both called {name!r}")
        for key, value in node.items():
            node[key] = _hoist_defs(value, schemas)
    elif isinstance(node, list):
        return [_hoist_defs(item, schemas) for item in node]
    elif isinstance(node, str) and node.startswith("#/$defs/"):
        # A ``$ref``, or a discriminator's mapping to one.
        return "#/components/schemas/" + node.removeprefix("#/$defs/")
    return node


def _json_parameters(operation: dict[str, Any]) -> None:
    """A query parameter that carries JSON (``contentMediaType: application/json`` with a
    ``contentSchema``) is declared the OpenAPI way: ``content`` with that schema."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = [schema, *schema.get("anyOf", [])]
        carrier = next((o for o in options if "contentSchema" in o), None)
        if carrier is not None:
            parameter.pop("schema")
            parameter["content"] = {"application/json": {"schema": carrier["contentSchema"]}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes and every problem response to ``schema`` (in place)."""
    components = schema.setdefault("components", {})
    _hoist_defs(schema.get("paths", {}), components.setdefault("schemas", {}))
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        "secretKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret key, sk_...: merchant endpoints, from servers only",
        },
        "publishableKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "A publishable key, pk_...: widget endpoints, from the key's "
            "allowed origins only (the browser's Origin header is checked)",
        },
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if path.startswith(_PUBLISHABLE_PATHS):
                operation["security"] = [{"publishableKey": []}]
            elif path.startswith("/v1/"):
                operation["security"] = [{"secretKey": []}]
            _json_parameters(operation)
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, operation):
                # Replace FastAPI's own 422 (HTTPValidationError) and bare descriptions.
                responses[str(status)] = _problem_response(status)
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
