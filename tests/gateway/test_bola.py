"""Tenant isolation on every endpoint (OWASP API1, BOLA): merchant B's keys never read or change
merchant A's data. Every route of the tenant-facing routers must have a case here: a new
endpoint without one fails ``test_every_tenant_route_is_covered``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from gateway.db import migrate
from gateway.settings import GatewaySettings
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import ORIGIN, auth, running, widget
from tests.gateway.tryon_support import Shop, demo_product_image, eyewear_shop, selfie_jpeg

TENANT_MODULES = (
    "gateway.products.",
    "gateway.keys.",
    "gateway.usage.",
    "gateway.assets.",
    "gateway.widget.",
    "gateway.tryon.",
    "gateway.orders.",
)


@dataclass
class World:
    a: Shop
    b: Shop
    a_model: str
    b_model: str
    a_session: str
    a_key: str


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bola(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, World]]:
    """One app and one pair of merchants per database for the whole module (set-up is the
    slow part); each case only adds B's own rows, and A's are checked after every case."""
    tmp = tmp_path_factory.mktemp("bola")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'bola.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrate.upgrade(url)
    settings = GatewaySettings(
        env="test", secret_key=TEST_SECRET, data_dir=tmp / "var", database_url=url
    )
    with running(settings) as client:
        yield client, make_world(client)


def make_world(client: TestClient) -> World:
    a = eyewear_shop(client, "A")
    b = eyewear_shop(client, "B")  # the same external ids: lookups must stay per merchant
    models = []
    for shop in (a, b):
        made = client.post(
            "/v1/models",
            params={"name": "model"},
            content=selfie_jpeg(),
            headers={**auth(shop.merchant.secret_key), "content-type": "image/jpeg"},
        )
        assert made.status_code == 201, made.text
        models.append(made.json()["id"])
    session = client.post(
        "/v1/widget/sessions",
        json={"product_id": "round-black", "mode": "photo"},
        headers=widget(a.merchant.publishable_key),
    ).json()["session_id"]
    key = client.post(
        "/v1/keys", json={"kind": "secret", "name": "a-extra"}, headers=auth(a.merchant.secret_key)
    ).json()["id"]
    client.post(  # some usage for A
        "/v1/widget/tryon",
        params={"product": "round-black"},
        content=selfie_jpeg(),
        headers={**widget(a.merchant.publishable_key), "content-type": "image/jpeg"},
    )
    return World(a, b, models[0], models[1], session, key)


Case = Callable[[TestClient, World], None]
CASES: dict[tuple[str, str], Case] = {}


def case(method: str, path: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[(method, path)] = fn
        return fn

    return register


def expect_404(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["type"] == "/problems/not-found"


def sk(w: World) -> dict[str, str]:
    return auth(w.b.merchant.secret_key)


def pk(w: World) -> dict[str, str]:
    return widget(w.b.merchant.publishable_key)


# --- merchant API -----------------------------------------------------------------------------


@case("GET", "/v1/products")
def _(c: TestClient, w: World) -> None:
    ids = {p["id"] for p in c.get("/v1/products", headers=sk(w)).json()["data"]}
    assert w.a.product["id"] not in ids
    assert w.b.product["id"] in ids


@case("POST", "/v1/products")
def _(c: TestClient, w: World) -> None:
    body = {"external_id": "new", "title": "New", "category": "hat"}
    assert c.post("/v1/products", json=body, headers=sk(w)).status_code == 201
    a_ids = [
        p["external_id"]
        for p in c.get("/v1/products", headers=auth(w.a.merchant.secret_key)).json()["data"]
    ]
    assert "new" not in a_ids


@case("GET", "/v1/products/{product_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/products/{w.a.product['id']}", headers=sk(w)))


@case("PATCH", "/v1/products/{product_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.patch(f"/v1/products/{w.a.product['id']}", json={"title": "x"}, headers=sk(w)))


@case("DELETE", "/v1/products/{product_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.delete(f"/v1/products/{w.a.product['id']}", headers=sk(w)))


@case("POST", "/v1/products/{product_id}/assets")
def _(c: TestClient, w: World) -> None:
    expect_404(
        c.post(
            f"/v1/products/{w.a.product['id']}/assets",
            content=demo_product_image("glasses-round-gold"),
            headers={**sk(w), "content-type": "image/png"},
        )
    )


@case("GET", "/v1/assets")
def _(c: TestClient, w: World) -> None:
    ids = {a["id"] for a in c.get("/v1/assets", headers=sk(w)).json()["data"]}
    assert ids == {w.b.asset["id"]}
    by_product = c.get("/v1/assets", params={"product_id": w.a.product["id"]}, headers=sk(w))
    assert by_product.json()["data"] == []


@case("GET", "/v1/assets/{asset_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/assets/{w.a.asset['id']}", headers=sk(w)))


@case("GET", "/v1/assets/{asset_id}/image")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/assets/{w.a.asset['id']}/image", headers=sk(w)))


@case("PATCH", "/v1/assets/{asset_id}")
def _(c: TestClient, w: World) -> None:
    body = {"anchors": {"bridge": [10, 10]}}
    expect_404(c.patch(f"/v1/assets/{w.a.asset['id']}", json=body, headers=sk(w)))


@case("DELETE", "/v1/assets/{asset_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.delete(f"/v1/assets/{w.a.asset['id']}", headers=sk(w)))


@case("POST", "/v1/models")
def _(c: TestClient, w: World) -> None:
    # A's photo uploaded again by B is B's own new model, not a way into A's.
    made = c.post(
        "/v1/models",
        params={"name": "copy", "kind": "face"},
        content=selfie_jpeg(512, 384),
        headers={**sk(w), "content-type": "image/jpeg"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["id"] != w.a_model


@case("GET", "/v1/models")
def _(c: TestClient, w: World) -> None:
    ids = {m["id"] for m in c.get("/v1/models", headers=sk(w)).json()["data"]}
    assert w.a_model not in ids
    assert w.b_model in ids


@case("GET", "/v1/models/{model_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/models/{w.a_model}", headers=sk(w)))


@case("DELETE", "/v1/models/{model_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.delete(f"/v1/models/{w.a_model}", headers=sk(w)))


@case("GET", "/v1/keys")
def _(c: TestClient, w: World) -> None:
    ids = {k["id"] for k in c.get("/v1/keys", headers=sk(w)).json()["data"]}
    assert w.a_key not in ids
    a_ids = {
        k["id"] for k in c.get("/v1/keys", headers=auth(w.a.merchant.secret_key)).json()["data"]
    }
    assert not ids & a_ids


@case("POST", "/v1/keys")
def _(c: TestClient, w: World) -> None:
    made = c.post("/v1/keys", json={"kind": "secret"}, headers=sk(w)).json()
    a_ids = {
        k["id"] for k in c.get("/v1/keys", headers=auth(w.a.merchant.secret_key)).json()["data"]
    }
    assert made["id"] not in a_ids


@case("GET", "/v1/keys/{key_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/keys/{w.a_key}", headers=sk(w)))


@case("PATCH", "/v1/keys/{key_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.patch(f"/v1/keys/{w.a_key}", json={"name": "x"}, headers=sk(w)))


@case("POST", "/v1/keys/{key_id}/rotate")
def _(c: TestClient, w: World) -> None:
    expect_404(c.post(f"/v1/keys/{w.a_key}/rotate", json={"grace_period_s": 0}, headers=sk(w)))


@case("DELETE", "/v1/keys/{key_id}")
def _(c: TestClient, w: World) -> None:
    expect_404(c.delete(f"/v1/keys/{w.a_key}", headers=sk(w)))


@case("GET", "/v1/usage")
def _(c: TestClient, w: World) -> None:
    assert c.get("/v1/usage", headers=sk(w)).json()["totals"].get("tryon_photo", 0) == 0
    assert (
        c.get("/v1/usage", headers=auth(w.a.merchant.secret_key)).json()["totals"]["tryon_photo"]
        == 1
    )


@case("POST", "/v1/orders")
def _(c: TestClient, w: World) -> None:
    # B's order naming A's try-on session is B's own order: A's numbers do not move.
    body = {
        "order_id": "#1",
        "revenue": "10.00",
        "currency": "EUR",
        "lines": [
            {
                "product_id": "round-black",
                "quantity": 1,
                "price": "10.00",
                "tryon_session_id": w.a_session,
            }
        ],
    }
    assert c.post("/v1/orders", json=body, headers=sk(w)).status_code == 202
    assert c.app.state.analytics.wait_idle(10)  # type: ignore[attr-defined]
    mine = c.get("/v1/metrics/attribution", headers=auth(w.a.merchant.secret_key)).json()
    assert mine["orders"] == 0
    theirs = c.get("/v1/metrics/attribution", headers=sk(w)).json()
    assert (theirs["orders"], theirs["attributed_orders"]) == (1, 0)


# --- widget API ---------------------------------------------------------------------------------


@case("GET", "/v1/widget/config")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get("/v1/widget/config", params={"product": w.a.product["id"]}, headers=pk(w)))
    own = c.get("/v1/widget/config", params={"product": "round-black"}, headers=pk(w)).json()
    assert own["product"]["id"] == w.b.product["id"]
    assert [m["id"] for m in own["models"]] == [w.b_model]


@case("POST", "/v1/widget/sessions")
def _(c: TestClient, w: World) -> None:
    body = {"product_id": w.a.product["id"], "mode": "photo"}
    expect_404(c.post("/v1/widget/sessions", json=body, headers=pk(w)))


@case("GET", "/v1/widget/models")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get("/v1/widget/models", params={"product": w.a.product["id"]}, headers=pk(w)))


@case("GET", "/v1/widget/models/{model_id}/image")
def _(c: TestClient, w: World) -> None:
    expect_404(c.get(f"/v1/widget/models/{w.a_model}/image", headers=pk(w)))


@case("POST", "/v1/widget/models/{model_id}/tryon")
def _(c: TestClient, w: World) -> None:
    expect_404(
        c.post(
            f"/v1/widget/models/{w.a_model}/tryon",
            params={"product": "round-black"},
            headers=pk(w),
        )
    )


@case("POST", "/v1/widget/tryon")
def _(c: TestClient, w: World) -> None:
    headers = {**pk(w), "content-type": "image/jpeg"}
    for params in (
        {"product": w.a.product["id"]},
        {"product": "round-black", "session": w.a_session},
    ):
        expect_404(
            c.post("/v1/widget/tryon", params=params, content=selfie_jpeg(), headers=headers)
        )


@case("POST", "/v1/widget/analyze")
def _(c: TestClient, w: World) -> None:
    expect_404(
        c.post(
            "/v1/widget/analyze",
            params={"product": w.a.product["id"]},
            content=selfie_jpeg(),
            headers={**pk(w), "content-type": "image/jpeg"},
        )
    )


@case("WS", "/v1/widget/live")
def _(c: TestClient, w: World) -> None:
    key = w.b.merchant.publishable_key
    for query in (f"product={w.a.product['id']}", f"product=round-black&session={w.a_session}"):
        with pytest.raises(WebSocketDenialResponse) as denied:
            c.websocket_connect(
                f"/v1/widget/live?key={key}&{query}", headers={"origin": ORIGIN}
            ).__enter__()
        assert denied.value.status_code == 404


def all_routes(routes: list[Any]) -> list[Any]:
    """Routes, with those of included routers flattened (FastAPI includes them lazily)."""
    out: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out += all_routes(list(inner.routes)) if inner is not None else [route]
    return out


def tenant_routes(client: TestClient) -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        module = getattr(getattr(route, "endpoint", None), "__module__", "")
        if not module.startswith(TENANT_MODULES):
            continue
        if isinstance(route, APIWebSocketRoute):
            routes.add(("WS", route.path))
        elif isinstance(route, APIRoute):
            routes |= {(m, route.path) for m in route.methods}
    return routes


def test_every_tenant_route_is_covered(embedded: TestClient) -> None:
    assert tenant_routes(embedded) == set(CASES)


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_other_tenants_data_is_out_of_reach(
    bola: tuple[TestClient, World], route: tuple[str, str]
) -> None:
    client, world = bola
    CASES[route](client, world)
    # Whatever B tried, A's data is intact.
    a = auth(world.a.merchant.secret_key)
    product = client.get(f"/v1/products/{world.a.product['id']}", headers=a)
    assert product.status_code == 200
    assert product.json()["title"] == world.a.product["title"]
    asset = client.get(f"/v1/assets/{world.a.asset['id']}", headers=a).json()
    assert asset["content_hash"] == world.a.asset["content_hash"]
    assert client.get(f"/v1/models/{world.a_model}", headers=a).status_code == 200
    keys = {k["id"]: k for k in client.get("/v1/keys", headers=a).json()["data"]}
    assert keys[world.a_key]["revoked_at"] is None
    assert keys[world.a_key]["expires_at"] is None
    assert json.dumps(keys[world.a_key]["allowed_origins"]) == "[]"
