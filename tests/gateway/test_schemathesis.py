"""Property-based API testing from the OpenAPI document (schemathesis), every check enabled,
positive data acceptance included: what the document calls valid, the server accepts.

Generated requests carry valid keys (secret keys for merchant routes, a publishable key and
an allowed Origin for widget routes and ``/v1/events``), so they reach the handlers; every
response must be a documented status with a documented content type and schema, never a 5xx
other than a documented 503. Bounded: a fixed number of examples per operation.

Two things a JSON Schema cannot say are declared in ``x-`` keywords and honoured when data
is generated: ranges of days (``x-on-or-before``, ``x-max-range-days``) and times relative to
now (``x-max-age-hours``). Image bodies are real photos (with a face) in the declared format:
the API takes photos, and a photo is what valid data means there.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS

from gateway.db import migrate
from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import ORIGIN
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg

_ROOT = Path(tempfile.mkdtemp(prefix="tryon-schema-"))
_SETTINGS = GatewaySettings(
    env="test",
    secret_key=TEST_SECRET,
    data_dir=_ROOT / "var",
    database_url=f"sqlite:///{_ROOT / 'schema.db'}",
    rate_limit_per_key=100_000,
    rate_limit_per_ip=100_000,
    rate_limit_auth_failures_per_ip=100_000,
)
# Building the app opens nothing (no connection, no thread): safe at import time.
_APP = create_app(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
_STATE: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _shop() -> Iterator[None]:
    """The database, and one merchant with a product and its asset, for the whole module."""
    migrate.upgrade(_SETTINGS.sqlalchemy_url)
    with TestClient(_APP, raise_server_exceptions=False) as client:
        _STATE["shop"] = eyewear_shop(client)
        yield
    _STATE.clear()
    _APP.state.engine.dispose()
    shutil.rmtree(_ROOT, ignore_errors=True)


_BROWSER_PATHS = ("/v1/widget/", "/v1/events")
ALL_CHECKS = [c for c in CHECKS.get_all() if c.__name__ != "max_response_time"]


def _photos(ext: str) -> list[bytes]:
    """Real face photos in one format, at a few sizes (the API takes photos: a face makes a
    try-on possible, so a refusal is never the photo's fault)."""
    out = []
    for width, height in ((640, 480), (320, 240), (480, 640)):
        pixels = cv2.imdecode(np.frombuffer(selfie_jpeg(width, height), np.uint8), 1)
        ok, buf = cv2.imencode(ext, pixels)
        assert ok
        out.append(bytes(buf))
    return out


for _media, _ext in (("image/jpeg", ".jpg"), ("image/png", ".png"), ("image/webp", ".webp")):
    schemathesis.openapi.media_type(_media, st.sampled_from(_photos(_ext)))
# 3D frames (glTF binaries): the demo's own models, real files the upload accepts.
_MODELS = sorted((Path(__file__).resolve().parents[2] / "ml_service" / "demo_assets").glob("*.glb"))
schemathesis.openapi.media_type(
    "model/gltf-binary", st.sampled_from([m.read_bytes() for m in _MODELS[:2]])
)


def _declared(operation: Any, name: str, key: str) -> Any:
    for parameter in operation.definition.raw.get("parameters", []):
        if parameter.get("name") == name:
            return parameter.get("schema", {}).get(key)
    return None


def map_query(operation: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep generated ranges inside what the document declares beyond JSON Schema's reach:
    ``from`` on or before ``to`` (``x-on-or-before``), at most ``x-max-range-days`` long."""
    longest = _declared(operation, "from", "x-max-range-days")
    if not query or longest is None:
        return query
    try:
        end = date.fromisoformat(query["to"]) if "to" in query else datetime.now(UTC).date()
        start = date.fromisoformat(query["from"]) if "from" in query else None
    except (TypeError, ValueError):
        return query  # not dates: a negative case, left as generated
    if start is not None:
        start = min(start, end)
        start = max(start, end - timedelta(days=longest - 1))
        query["from"] = start.isoformat()
    return query


def _resolved(node: Any, seen: frozenset[str] = frozenset()) -> Any:
    """``node`` with its ``#/...`` references replaced by what they name (once per path)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
            target: Any = schema.raw_schema
            for part in ref[2:].split("/"):
                target = target[part]
            return _resolved(target, seen | {ref})
        return {key: _resolved(value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(item, seen) for item in node]
    return node


def map_body(operation: Any, body: Any) -> Any:
    """Times inside the declared window (``x-max-age-hours``): a JSON Schema cannot say
    "within the last 7 days" of the moment the request is sent."""
    window = json.dumps(_resolved(operation.definition.raw.get("requestBody", {})))
    hours = re.search(r'"x-max-age-hours": (\d+)', window)
    if hours is None:
        return body
    floor = datetime.now(UTC) - timedelta(hours=int(hours.group(1)) - 1)

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "sent_at" and isinstance(value, str):
                    node[key] = datetime.now(UTC).isoformat()  # the client's clock is right
                elif key == "occurred_at" and isinstance(value, str):
                    try:
                        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    except ValueError:
                        continue
                    if when.tzinfo is not None and when < floor:
                        node[key] = floor.isoformat()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)
        return node

    return fix(body)


def _headers(path: str) -> dict[str, str]:
    shop = _STATE["shop"]
    if path.startswith(_BROWSER_PATHS):
        return {"Authorization": f"Bearer {shop.merchant.publishable_key}", "Origin": ORIGIN}
    return {"Authorization": f"Bearer {shop.merchant.secret_key}"}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    headers = {**_headers(case.path), **(case.headers or {})}
    # Keys and origins come from the test; generated ones would only test the 401 path.
    headers.update(_headers(case.path))
    if case.meta is not None and case.meta.generation.mode.is_positive:
        # What JSON Schema cannot say (relative to now, across parameters) but the document
        # declares in x- keywords, generation honours here.
        if isinstance(case.query, dict):
            case.query = map_query(case.operation, case.query)
        if case.body is not None and not isinstance(case.body, bytes):
            case.body = map_body(case.operation, case.body)
    response = case.call_and_validate(headers=headers, checks=ALL_CHECKS)
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"]
