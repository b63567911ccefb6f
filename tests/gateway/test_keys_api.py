"""Key management: shown once, stored hashed, scoped, revocable, rotated without downtime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gateway.db.base import utcnow
from gateway.db.session import session_scope
from gateway.keys import service as keys
from tests.gateway.conftest import ORIGIN, assert_problem, auth, merchant_in, widget


def create_key(client: TestClient, sk: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/keys", json=body, headers=auth(sk))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_created_key_is_shown_once_and_stored_hashed(client: TestClient) -> None:
    m = merchant_in(client)
    made = create_key(client, m.secret_key, kind="publishable", allowed_origins=[ORIGIN])
    raw = made["key"]
    assert raw.startswith("pk_")
    listed = client.get("/v1/keys", headers=auth(m.secret_key)).json()["data"]
    assert {k["id"] for k in listed} >= {made["id"]}
    assert raw not in str(listed)
    assert "key" not in client.get(f"/v1/keys/{made['id']}", headers=auth(m.secret_key)).json()
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        stored = session.execute(text("SELECT key_hash, display_prefix FROM api_keys")).all()
    assert all(raw not in (h + p) for h, p in stored)
    assert keys.hash_key(raw) in {h for h, _ in stored}


def test_new_publishable_key_works_from_its_origin(client: TestClient) -> None:
    m = merchant_in(client)
    made = create_key(
        client, m.secret_key, kind="publishable", allowed_origins=["HTTPS://Other.Example:443"]
    )
    assert made["allowed_origins"] == ["https://other.example"]
    ok = client.get(
        "/v1/widget/models?product=x", headers=widget(made["key"], "https://other.example")
    )
    assert_problem(ok, 404, "not-found")  # authenticated; the product does not exist
    assert_problem(
        client.get("/v1/widget/models?product=x", headers=widget(made["key"], ORIGIN)),
        403,
        "origin-not-allowed",
    )


def test_patch_origins_takes_effect(client: TestClient) -> None:
    m = merchant_in(client)
    pk_id = next(
        k["id"]
        for k in client.get("/v1/keys", headers=auth(m.secret_key)).json()["data"]
        if k["kind"] == "publishable"
    )
    response = client.patch(
        f"/v1/keys/{pk_id}",
        json={"allowed_origins": ["https://new.example"]},
        headers=auth(m.secret_key),
    )
    assert response.json()["allowed_origins"] == ["https://new.example"]
    assert_problem(
        client.get("/v1/widget/models?product=x", headers=widget(m.publishable_key)),
        403,
        "origin-not-allowed",
    )


def test_rotation_keeps_the_old_key_for_the_grace_period(client: TestClient) -> None:
    m = merchant_in(client)
    principal_id = _key_id(client, m.secret_key)
    rotated = client.post(
        f"/v1/keys/{principal_id}/rotate",
        json={"grace_period_s": 3600},
        headers=auth(m.secret_key),
    )
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    new_sk = body["new"]["key"]
    assert new_sk.startswith("sk_")
    assert new_sk != m.secret_key
    assert body["new"]["scopes"] == body["old"]["scopes"]
    assert body["old"]["expires_at"] is not None
    # Both work during the grace period: no downtime while deployments switch.
    assert client.get("/v1/products", headers=auth(m.secret_key)).status_code == 200
    assert client.get("/v1/products", headers=auth(new_sk)).status_code == 200
    # After it, the old one is refused.
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        later = utcnow() + timedelta(hours=2)
        with pytest.raises(Exception, match="revoked"):
            keys.authenticate(session=session, raw_key=m.secret_key, now=later)
        keys.authenticate(session=session, raw_key=new_sk, now=later)


def test_rotation_with_no_grace_stops_the_old_key_at_once(client: TestClient) -> None:
    m = merchant_in(client)
    pk_id = _key_id(client, m.secret_key, kind="publishable")
    body = client.post(
        f"/v1/keys/{pk_id}/rotate", json={"grace_period_s": 0}, headers=auth(m.secret_key)
    ).json()
    assert body["new"]["allowed_origins"] == [ORIGIN]
    assert_problem(
        client.get("/v1/widget/models?product=x", headers=widget(m.publishable_key)),
        401,
        "invalid-api-key",
    )
    assert_problem(
        client.post(
            f"/v1/keys/{pk_id}/rotate", json={"grace_period_s": 0}, headers=auth(m.secret_key)
        ),
        409,
        "conflict",
    )


def test_revoke_is_immediate_and_idempotent(client: TestClient) -> None:
    m = merchant_in(client)
    made = create_key(client, m.secret_key, kind="secret", name="ci")
    assert client.get("/v1/products", headers=auth(made["key"])).status_code == 200
    assert client.delete(f"/v1/keys/{made['id']}", headers=auth(m.secret_key)).status_code == 204
    assert client.delete(f"/v1/keys/{made['id']}", headers=auth(m.secret_key)).status_code == 204
    assert_problem(client.get("/v1/products", headers=auth(made["key"])), 401, "invalid-api-key")


def test_scoped_keys(client: TestClient) -> None:
    m = merchant_in(client)
    reader = create_key(client, m.secret_key, kind="secret", scopes=["products:read"])
    assert client.get("/v1/products", headers=auth(reader["key"])).status_code == 200
    body = assert_problem(
        client.post("/v1/products", json={}, headers=auth(reader["key"])), 403, "insufficient-scope"
    )
    assert body["required_scope"] == "products:write"
    assert_problem(client.get("/v1/keys", headers=auth(reader["key"])), 403, "insufficient-scope")
    assert_problem(client.get("/v1/usage", headers=auth(reader["key"])), 403, "insufficient-scope")


def test_a_key_cannot_grant_more_than_it_has(client: TestClient) -> None:
    m = merchant_in(client)
    limited = create_key(client, m.secret_key, kind="secret", scopes=["keys:write"])
    assert_problem(
        client.post(
            "/v1/keys",
            json={"kind": "secret", "scopes": ["keys:write", "products:write"]},
            headers=auth(limited["key"]),
        ),
        403,
        "insufficient-scope",
    )


def test_a_limited_key_creates_keys_with_at_most_its_own_scopes(client: TestClient) -> None:
    m = merchant_in(client)
    limited = create_key(client, m.secret_key, kind="secret", scopes=["keys:write"])
    made = create_key(client, limited["key"], kind="secret", name="no scopes given")
    assert made["scopes"] == ["keys:write"]
    assert_problem(client.get("/v1/products", headers=auth(made["key"])), 403, "insufficient-scope")
    # Publishable keys carry widget scopes only, whoever creates them.
    widget = create_key(client, limited["key"], kind="publishable", allowed_origins=[ORIGIN])
    assert widget["scopes"] == ["widget"]


def test_a_limited_key_cannot_rotate_a_stronger_key(client: TestClient) -> None:
    m = merchant_in(client)
    strong = create_key(client, m.secret_key, kind="secret", name="strong")
    limited = create_key(client, m.secret_key, kind="secret", scopes=["keys:write"])
    assert_problem(
        client.post(
            f"/v1/keys/{strong['id']}/rotate",
            json={"grace_period_s": 0},
            headers=auth(limited["key"]),
        ),
        403,
        "insufficient-scope",
    )
    # The stronger key still works: nothing was rotated.
    assert client.get("/v1/products", headers=auth(strong["key"])).status_code == 200
    peer = create_key(client, m.secret_key, kind="secret", scopes=["keys:write"])
    rotated = client.post(
        f"/v1/keys/{peer['id']}/rotate", json={"grace_period_s": 0}, headers=auth(limited["key"])
    )
    assert rotated.status_code == 201
    assert rotated.json()["new"]["scopes"] == ["keys:write"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "secret", "allowed_origins": [ORIGIN]},
        {"kind": "publishable", "scopes": ["products:read"]},
        {"kind": "secret", "scopes": ["root"]},
        {"kind": "publishable", "allowed_origins": ["javascript:alert(1)"]},
        {"kind": "publishable", "allowed_origins": ["https://x.example/path"]},
        {"kind": "admin"},
        {"kind": "secret", "name": ""},
        {"kind": "secret", "extra": True},
    ],
)
def test_bad_key_requests_are_422(embedded: TestClient, body: dict[str, Any]) -> None:
    m = merchant_in(embedded)
    assert_problem(
        embedded.post("/v1/keys", json=body, headers=auth(m.secret_key)), 422, "invalid-input"
    )


def test_rotate_grace_is_bounded(embedded: TestClient) -> None:
    m = merchant_in(embedded)
    kid = _key_id(embedded, m.secret_key)
    for bad in (-1, 10**9, "soon"):
        assert_problem(
            embedded.post(
                f"/v1/keys/{kid}/rotate", json={"grace_period_s": bad}, headers=auth(m.secret_key)
            ),
            422,
            "invalid-input",
        )


def _key_id(client: TestClient, sk: str, kind: str = "secret") -> str:
    data = client.get("/v1/keys", headers=auth(sk)).json()["data"]
    return str(next(k["id"] for k in data if k["kind"] == kind and k["revoked_at"] is None))
