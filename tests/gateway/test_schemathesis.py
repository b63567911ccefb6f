"""Property-based API testing from the OpenAPI document (schemathesis), every check enabled.

Generated requests carry valid keys (secret keys for merchant routes, a publishable key and
an allowed Origin for widget routes), so they reach the handlers; every response must be a
documented status with a documented content type and schema, never a 5xx other than a
documented 503. Bounded: a fixed number of examples per operation.

For operations that take an image body (and the brand model try-on, which negotiates its
output format), any bytes match the schema (``format: binary``) but most are no image: the
generic "valid data is accepted" check is replaced by a precise one (2xx, or a documented 4xx
problem saying why: 400, 404, 406, 409, 413, 415, 422, 429).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from gateway.db import migrate
from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import ORIGIN
from tests.gateway.tryon_support import eyewear_shop

_ROOT = Path(tempfile.mkdtemp(prefix="tryon-schema-"))
_SETTINGS = GatewaySettings(
    env="test",
    secret_key=TEST_SECRET,
    data_dir=_ROOT / "var",
    database_url=f"sqlite:///{_ROOT / 'schema.db'}",
    rate_limit_per_key=100_000,
    rate_limit_per_ip=100_000,
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


UPLOAD_STATUSES = {400, 404, 406, 409, 413, 415, 422, 429}
ACCEPTED = {401, 403, 404, 409, 429}
# Valid by the schema, refused by meaning (each documented in docs/api.md):
MEANING: dict[str, set[int]] = {
    "GET /v1/products": {400},  # an opaque cursor that is not one of ours
    "POST /v1/keys": {422},  # allowed origins on a secret key, scopes of the other kind
    "PATCH /v1/keys/{key_id}": {422},  # allowed origins on a secret key
    "POST /v1/orders": {422},  # an order time older than the pipeline's 7 days
    # A reversed or longer-than-ten-years range of days:
    **{
        f"GET /v1/metrics/{name}": {422}
        for name in (
            "summary",
            "funnel",
            "conversion",
            "latency",
            "sizes",
            "attribution",
            "products",
            "export.csv",
        )
    },
}
ALL_CHECKS = [c for c in CHECKS.get_all() if c.__name__ != "max_response_time"]


def _headers(path: str) -> dict[str, str]:
    shop = _STATE["shop"]
    if path.startswith("/v1/widget/"):
        return {"Authorization": f"Bearer {shop.merchant.publishable_key}", "Origin": ORIGIN}
    return {"Authorization": f"Bearer {shop.merchant.secret_key}"}


def _takes_images(case: Any) -> bool:
    body = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    return any(m.startswith("image/") for m in body) or case.path.endswith("/tryon")


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
    checks = [c for c in ALL_CHECKS if c.__name__ != "positive_data_acceptance"]
    response = case.call_and_validate(headers=headers, checks=checks)
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"]
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    allowed = UPLOAD_STATUSES if _takes_images(case) else ACCEPTED
    allowed = allowed | MEANING.get(f"{case.method.upper()} {case.path}", set())
    assert response.status_code < 300 or response.status_code in allowed, (
        f"valid data refused: {case.method} {case.path} -> {response.status_code} "
        f"{response.text[:300]}"
    )
