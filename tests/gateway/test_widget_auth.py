"""Publishable keys: widget endpoints only, allowed origins only, exact CORS echo, no cookies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.gateway.conftest import ORIGIN, assert_problem, auth, merchant_in, widget

PRODUCT = {"external_id": "round-gold", "title": "Round", "category": "eyewear"}


def product_in(client: TestClient, sk: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/products", json={**PRODUCT, **extra}, headers=auth(sk))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_config_from_an_allowed_origin(client: TestClient) -> None:
    m = merchant_in(client)
    p = product_in(
        client,
        m.secret_key,
        variants=[{"external_id": "m", "title": "M", "size": "M", "color": "gold"}],
    )
    response = client.get(
        "/v1/widget/config", params={"product": "round-gold"}, headers=widget(m.publishable_key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["product"]["id"] == p["id"]
    assert body["product"]["variants"][0]["has_asset"] is False
    assert body["modes"] == []  # nothing to try on until an asset is prepared
    assert body["quota"] == {"exhausted": False, "remaining": 10_000}
    assert body["limits"]["accepted_types"] == ["image/jpeg", "image/png", "image/webp"]
    # The product's own id works as well as its external id.
    by_id = client.get(
        "/v1/widget/config", params={"product": p["id"]}, headers=widget(m.publishable_key)
    )
    assert by_id.json()["product"]["id"] == p["id"]
    # CORS: the exact origin echoed, Vary: Origin, never credentials or cookies.
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://shop.example",  # scheme differs
        "https://shop.example:8443",  # port differs
        "https://shop.example.evil.example",
        "https://sub.shop.example",
        "null",
        "https://shop.example/",
    ],
)
def test_other_origins_are_refused_without_cors(embedded: TestClient, origin: str) -> None:
    m = merchant_in(embedded)
    product_in(embedded, m.secret_key)
    response = embedded.get(
        "/v1/widget/config",
        params={"product": "round-gold"},
        headers=widget(m.publishable_key, origin),
    )
    if origin == "https://shop.example/":
        # The same origin written with a trailing slash is still that origin.
        assert response.status_code == 200
        return
    assert_problem(response, 403, "origin-not-allowed")
    assert "access-control-allow-origin" not in response.headers


def test_no_origin_is_refused(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    response = embedded.get(
        "/v1/widget/config", params={"product": "x"}, headers=auth(m.publishable_key)
    )
    assert_problem(response, 403, "origin-not-allowed")


def test_a_same_origin_page_is_its_api_origin(embedded: TestClient) -> None:
    """Browsers send no Origin on a same-origin GET, but Sec-Fetch-Site: same-origin: the
    page is then on the API's own public origin, which the key must allow."""
    public = embedded.app.state.settings.public_url  # type: ignore[attr-defined]
    m = merchant_in(embedded, allowed_origins=[public])
    product_in(embedded, m.secret_key)
    same = {**auth(m.publishable_key), "Sec-Fetch-Site": "same-origin"}
    response = embedded.get("/v1/widget/config", params={"product": "round-gold"}, headers=same)
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers  # no CORS between equals
    # Another site's page cannot claim it: its requests say cross-site (and carry Origin).
    for other in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        refused = embedded.get(
            "/v1/widget/config",
            params={"product": "round-gold"},
            headers={**auth(m.publishable_key), **other},
        )
        assert_problem(refused, 403, "origin-not-allowed")
    # A key that does not allow the API's own origin is refused there too.
    elsewhere = merchant_in(embedded, "Elsewhere")
    refused = embedded.get(
        "/v1/widget/config",
        params={"product": "round-gold"},
        headers={**auth(elsewhere.publishable_key), "Sec-Fetch-Site": "same-origin"},
    )
    assert_problem(refused, 403, "origin-not-allowed")


def test_the_key_in_the_query_is_only_for_events(embedded: TestClient) -> None:
    """``?key=`` exists for navigator.sendBeacon (POST /v1/events), which cannot set headers;
    elsewhere a key in a URL would only end up in logs and histories."""
    m = merchant_in(embedded)
    product_in(embedded, m.secret_key)
    response = embedded.get(
        "/v1/widget/config",
        params={"product": "round-gold", "key": m.publishable_key},
        headers={"Origin": ORIGIN},
    )
    assert_problem(response, 401, "invalid-api-key")


def test_secret_key_is_refused_on_widget_endpoints(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    response = embedded.get(
        "/v1/widget/config", params={"product": "x"}, headers=widget(m.secret_key)
    )
    body = assert_problem(response, 403, "key-type-not-allowed")
    assert "secret" in body["detail"]


def test_publishable_key_is_refused_on_every_merchant_endpoint(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    for method, path in (
        ("GET", "/v1/products"),
        ("POST", "/v1/products"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/usage"),
    ):
        response = embedded.request(method, path, headers=widget(m.publishable_key), json={})
        assert_problem(response, 403, "key-type-not-allowed")


@pytest.mark.parametrize(
    "header",
    [{}, {"Authorization": "Bearer pk_nope"}, {"Authorization": "Bearer pk_" + "a" * 32}],
)
def test_bad_publishable_keys_are_401(embedded: TestClient, header: dict[str, str]) -> None:
    response = embedded.get(
        "/v1/widget/config", params={"product": "x"}, headers={**header, "Origin": ORIGIN}
    )
    assert_problem(response, 401, "invalid-api-key")
    assert "access-control-allow-origin" not in response.headers


def test_preflight_for_a_known_origin(embedded: TestClient) -> None:
    merchant_in(embedded)
    response = embedded.options(
        "/v1/widget/tryon",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_for_an_unknown_origin(embedded: TestClient) -> None:
    merchant_in(embedded)
    response = embedded.options(
        "/v1/widget/config",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert_problem(response, 403, "origin-not-allowed")
    assert "access-control-allow-origin" not in response.headers


def test_merchant_endpoints_have_no_cors(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    response = embedded.get("/v1/products", headers={**auth(m.secret_key), "Origin": ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_sessions_are_random_and_scoped(client: TestClient) -> None:
    a, b = merchant_in(client, "A"), merchant_in(client, "B")
    product_in(client, a.secret_key)
    made = client.post(
        "/v1/widget/sessions",
        json={"product_id": "round-gold", "mode": "photo"},
        headers=widget(a.publishable_key),
    )
    assert made.status_code == 201, made.text
    assert len(made.json()["session_id"]) == 36
    # B cannot start a session on A's product.
    assert_problem(
        client.post(
            "/v1/widget/sessions",
            json={"product_id": "round-gold", "mode": "photo"},
            headers=widget(b.publishable_key),
        ),
        404,
        "not-found",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "round-gold", "mode": "hologram"},
        {"product_id": "", "mode": "live"},
        {"product_id": "round-gold", "mode": "live", "face": "data"},
        {"mode": "live"},
    ],
)
def test_bad_session_bodies_are_422(embedded: TestClient, body: dict[str, Any]) -> None:
    m = merchant_in(embedded)
    product_in(embedded, m.secret_key)
    assert_problem(
        embedded.post("/v1/widget/sessions", json=body, headers=widget(m.publishable_key)),
        422,
        "invalid-input",
    )


def test_unknown_variant_is_404(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    product_in(embedded, m.secret_key)
    assert_problem(
        embedded.get(
            "/v1/widget/config",
            params={"product": "round-gold", "variant": "nope"},
            headers=widget(m.publishable_key),
        ),
        404,
        "not-found",
    )


def test_security_headers_everywhere(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    for response in (
        embedded.get("/healthz"),
        embedded.get("/v1/products", headers=auth(m.secret_key)),
        embedded.get("/v1/products"),
        embedded.get("/nope"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "set-cookie" not in response.headers
    assert (
        embedded.get("/v1/products", headers=auth(m.secret_key)).headers["cache-control"]
        == "no-store"
    )
