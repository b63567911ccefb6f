"""Recommendations: ``GET /v1/widget/recommendations`` and ``GET /v1/products/{id}/
recommendations`` on a shop of the demo frames; co-occurrence from events posted through
``/v1/events``; sold-out products never shown; tenants apart; hostile input 4xx; the
per-merchant cache's bounded refresh."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from analytics.warehouse import migrate as warehouse_migrate
from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.recommendations.service import Recommender, Tuning
from gateway.settings import GatewaySettings
from tests.analytics.factories import event_json
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import ORIGIN, assert_problem, auth, merchant_in, running, widget
from tests.gateway.tryon_support import demo_product_image

FRAMES = (
    # external id, title, asset, price, colour, tags
    ("round-black", "Round, black", "glasses-round-black", "129.00", "Black", ["light"]),
    ("round-gold", "Round, gold", "glasses-round-gold", "134.00", "Gold", ["light"]),
    ("rect-tortoise", "Rectangle", "glasses-rect-tortoise", "119.00", "Tortoise", ["classic"]),
    ("cateye-red", "Cat-eye", "glasses-cateye-red", "139.00", "Red", ["bold"]),
    ("aviator", "Aviator", "sunglasses-aviator", "159.00", "Gold", ["sun"]),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module (SQLite; the PostgreSQL path of the same queries runs in the
    warehouse tests): preparing the frames' assets is the slow part, done once."""
    tmp = tmp_path_factory.mktemp("recs")
    url = f"sqlite:///{tmp / 'gateway.db'}"
    migrate.upgrade(url)
    settings = GatewaySettings(
        env="test", secret_key=TEST_SECRET, data_dir=tmp / "var", log_json=True, database_url=url
    )
    with running(settings) as test_client:
        yield test_client


def another_copy(name: str, salt: int = 1) -> bytes:
    """The demo image with one background pixel changed: another asset of the same frame."""
    image = cv2.imdecode(np.frombuffer(demo_product_image(name), np.uint8), cv2.IMREAD_UNCHANGED)
    image[0, 0, 0] ^= salt
    ok, data = cv2.imencode(".png", image)
    assert ok
    return bytes(data)


def add_product(
    client: TestClient,
    key: str,
    body: dict[str, Any],
    asset: str | None,
    *,
    copy: bool = False,
    salt: int = 1,
) -> str:
    made = client.post("/v1/products", json=body, headers=auth(key))
    assert made.status_code == 201, made.text
    pid: str = made.json()["id"]
    if asset:
        up = client.post(
            f"/v1/products/{pid}/assets",
            content=another_copy(asset, salt) if copy else demo_product_image(asset),
            headers={**auth(key), "content-type": "image/png"},
        )
        assert up.status_code == 201, up.text
    return pid


@pytest.fixture(scope="module")
def shop(client: TestClient) -> Iterator[tuple[Any, dict[str, str]]]:
    m = merchant_in(client, "Frames")
    ids = {}
    for external, title, asset, price, colour, tags in FRAMES:
        ids[external] = add_product(
            client,
            m.secret_key,
            {
                "external_id": external,
                "title": title,
                "category": "eyewear",
                "tags": tags,
                "variants": [
                    {
                        "external_id": f"{external}-1",
                        "title": colour,
                        "color": colour,
                        "price": price,
                    }
                ],
            },
            asset,
        )
    ids["sold-out"] = add_product(
        client,
        m.secret_key,
        {
            "external_id": "sold-out",
            "title": "Round, sold out",
            "category": "eyewear",
            "tags": ["light"],
            "variants": [
                {
                    "external_id": "so-1",
                    "title": "Black",
                    "color": "Black",
                    "price": "129.00",
                    "in_stock": False,
                }
            ],
        },
        "glasses-round-black",
        copy=True,
    )
    ids["hat"] = add_product(
        client,
        m.secret_key,
        {"external_id": "hat", "title": "Fedora", "category": "hat"},
        "hat-fedora",
    )
    return m, ids


def recs(client: TestClient, key: str, product: str, **params: Any) -> Any:
    return client.get(
        "/v1/widget/recommendations", params={"product": product, **params}, headers=widget(key)
    )


def test_similar_frames_first_never_the_product_itself_nor_sold_out(
    client: TestClient, shop: tuple[Any, dict[str, str]]
) -> None:
    m, ids = shop
    response = recs(client, m.publishable_key, "round-black")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, max-age=60"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    body = response.json()
    assert body["external_id"] == "round-black"
    assert body["product_id"] == ids["round-black"]
    names = [i["external_id"] for i in body["data"]]
    assert names[0] in ("round-gold", "round-silver")  # same shape, tags, width, price band
    assert "round-black" not in names
    assert "sold-out" not in names
    assert "hat" not in names  # another category and never tried together
    assert all(i["has_asset"] for i in body["data"])
    first = body["data"][0]
    assert first["frame_shape"] == "round"
    assert first["because"] == ["similar"]
    assert 0 < first["score"] <= 1
    shapes = {i["external_id"]: i["frame_shape"] for i in body["data"]}
    assert shapes["cateye-red"] == "cat-eye"
    assert shapes["rect-tortoise"] == "rectangular"
    assert names.index("round-gold") < names.index("rect-tortoise")
    # by id as well as by external id, and the limit holds
    by_id = recs(client, m.publishable_key, ids["round-black"], limit=2).json()
    assert [i["external_id"] for i in by_id["data"]] == names[:2]


def test_tried_together_moves_a_product_up(client: TestClient) -> None:
    """Three shoppers tried the round frames and the hat in one visit, two also the cat-eye:
    the hat (another category, never similar) now comes, as tried together, and the cat-eye
    passes the rectangle (its own merchant, products without assets: the merchant API)."""
    m = merchant_in(client, "Together")
    ids = {}
    for external, category, tags in (
        ("round", "eyewear", ["light"]),
        ("rect", "eyewear", ["light"]),
        ("cateye", "eyewear", ["bold"]),
        ("hat", "hat", []),
    ):
        body = {"external_id": external, "title": external, "category": category, "tags": tags}
        ids[external] = add_product(client, m.secret_key, body, None)
    url = f"/v1/products/{ids['round']}/recommendations"
    before = [i["external_id"] for i in client.get(url, headers=auth(m.secret_key)).json()["data"]]
    assert before[0] == "rect"
    assert "hat" not in before
    events = []
    for n in range(3):
        session = f"wsession-{n:04d}"
        for product in ("round", "hat", *(("cateye",) if n < 2 else ())):
            events.append(
                event_json(
                    "tryon_rendered",
                    widget_session_id=session,
                    product_id=product,
                    tryon_session_id=f"tryon-{n:04d}",
                )
            )
    posted = client.post(
        "/v1/events",
        json={"events": events},
        headers={**auth(m.publishable_key), "origin": ORIGIN},
    )
    assert posted.status_code == 202, posted.text
    assert client.app.state.analytics.wait_idle(10)  # type: ignore[attr-defined]
    client.app.state.recommender.clear()  # type: ignore[attr-defined]
    body = client.get(url, headers=auth(m.secret_key)).json()
    found = {i["external_id"]: i for i in body["data"]}
    assert "together" in found["hat"]["because"]
    assert "together" in found["cateye"]["because"]
    names = list(found)
    assert names.index("cateye") < names.index("rect")


def test_the_merchant_api_sees_its_edits_at_once(
    client: TestClient, shop: tuple[Any, dict[str, str]]
) -> None:
    m, ids = shop
    silver = add_product(
        client,
        m.secret_key,
        {
            "external_id": "round-silver",
            "title": "Round, silver",
            "category": "eyewear",
            "tags": ["light"],
            "variants": [
                {"external_id": "rs-1", "title": "Black", "color": "Black", "price": "129.00"}
            ],
        },
        "glasses-round-black",
        copy=True,
        salt=2,
    )
    url = f"/v1/products/{ids['round-black']}/recommendations"
    first = client.get(url, headers=auth(m.secret_key), params={"limit": 24})
    assert first.status_code == 200, first.text
    assert first.json()["data"][0]["external_id"] == "round-silver"
    patched = client.patch(
        f"/v1/products/{silver}",
        json={"variants": [{"external_id": "rs-1", "title": "Black", "in_stock": False}]},
        headers=auth(m.secret_key),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["variants"][0]["in_stock"] is False
    after = client.get(url, headers=auth(m.secret_key), params={"limit": 24}).json()
    names = [i["external_id"] for i in after["data"]]
    assert "round-silver" not in names
    # the merchant API also lists products without a try-on asset (the widget does not)
    add_product(
        client,
        m.secret_key,
        {
            "external_id": "plain",
            "title": "Round, no photo",
            "category": "eyewear",
            "tags": ["light"],
        },
        None,
    )
    listed = client.get(url, headers=auth(m.secret_key), params={"limit": 24}).json()
    assert "plain" in [i["external_id"] for i in listed["data"]]
    widget_names = [
        i["external_id"]
        for i in recs(client, m.publishable_key, "round-black", limit=24).json()["data"]
    ]
    assert "plain" not in widget_names


def test_tenants_never_see_each_other(client: TestClient, shop: tuple[Any, dict[str, str]]) -> None:
    _, ids = shop
    other = merchant_in(client, "Other")
    assert_problem(recs(client, other.publishable_key, "round-black"), 404, "not-found")
    assert_problem(recs(client, other.publishable_key, ids["round-black"]), 404, "not-found")
    url = f"/v1/products/{ids['round-black']}/recommendations"
    assert_problem(client.get(url, headers=auth(other.secret_key)), 404, "not-found")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),
        ({"product": ""}, 422),
        ({"product": "x" * 129}, 422),
        ({"product": "round-black", "limit": 0}, 422),
        ({"product": "round-black", "limit": 25}, 422),
        ({"product": "round-black", "limit": "many"}, 422),
        ({"product": "nope"}, 404),
        ({"product": "round-black\x00"}, 404),
        ({"product": "' OR 1=1 --"}, 404),
        ({"product": str(uuid.uuid4())}, 404),
    ],
)
def test_hostile_widget_calls_are_4xx_problems(
    client: TestClient, shop: tuple[Any, dict[str, str]], params: dict[str, Any], status: int
) -> None:
    m, _ = shop
    response = client.get(
        "/v1/widget/recommendations", params=params, headers=widget(m.publishable_key)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_keys_and_origins_are_checked(client: TestClient, shop: tuple[Any, dict[str, str]]) -> None:
    m, ids = shop
    path = "/v1/widget/recommendations"
    assert client.get(path, params={"product": "round-black"}).status_code == 401
    forged = widget("pk_" + "0" * 40)
    assert client.get(path, params={"product": "round-black"}, headers=forged).status_code == 401
    evil = widget(m.publishable_key, origin="https://evil.example")
    assert client.get(path, params={"product": "round-black"}, headers=evil).status_code == 403
    secret_on_widget = widget(m.secret_key)
    assert (
        client.get(path, params={"product": "round-black"}, headers=secret_on_widget).status_code
        == 403
    )
    url = f"/v1/products/{ids['round-black']}/recommendations"
    assert client.get(url, headers=auth(m.publishable_key)).status_code == 403
    assert client.get(url).status_code == 401
    bad = client.get("/v1/products/not-a-uuid/recommendations", headers=auth(m.secret_key))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_products_take_tags_price_and_stock_and_refuse_bad_ones(
    client: TestClient, shop: tuple[Any, dict[str, str]]
) -> None:
    m, ids = shop
    got = client.get(f"/v1/products/{ids['round-black']}", headers=auth(m.secret_key)).json()
    assert got["tags"] == ["light"]
    assert got["variants"][0]["price"] == "129.00"
    assert got["variants"][0]["in_stock"] is None
    for bad in (
        {"tags": ["x" * 65]},
        {"tags": ["a\nb"]},
        {"tags": ["t"] * 51},
        {"variants": [{"external_id": "v", "title": "V", "price": "-1"}]},
        {"variants": [{"external_id": "v", "title": "V", "price": "1e9"}]},
        {"variants": [{"external_id": "v", "title": "V", "price": 12.5}]},
        {"variants": [{"external_id": "v", "title": "V", "in_stock": "no"}]},
    ):
        response = client.patch(
            f"/v1/products/{ids['round-black']}", json=bad, headers=auth(m.secret_key)
        )
        assert response.status_code == 422, (bad, response.text)


# --- the per-merchant cache ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cooccurrence_is_read_once_per_interval_and_survives_a_warehouse_outage(
    client: TestClient, tmp_path: Path
) -> None:
    m = merchant_in(client, "Cache")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    warehouse_migrate.upgrade(url)
    engine = create_engine(url)
    clock = Clock()
    recommender = Recommender(
        warehouse=engine,
        tuning=Tuning(cooccurrence_ttl_s=600, retry_s=30),
        clock=clock,
        now=lambda: datetime.now(UTC),
        background=False,
    )
    assert recommender.neighbours(m.merchant.id) is not None
    assert recommender.neighbours(m.merchant.id) is not None
    assert recommender.loads["cooccurrence"] == 1
    clock.now += 601
    recommender.neighbours(m.merchant.id)
    assert recommender.loads["cooccurrence"] == 2
    engine.dispose()
    broken = Recommender(
        warehouse=create_engine(f"sqlite:///{tmp_path / 'missing' / 'w.db'}"),
        clock=clock,
        background=False,
    )
    assert broken.neighbours(m.merchant.id) is None  # content only, no error
    assert broken.loads["cooccurrence"] == 0
    assert broken.neighbours(m.merchant.id) is None  # not asked again before retry_s
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert recommender.catalog(session, m.merchant.id).items == ()
    recommender.max_merchants = 2
    for _ in range(3):
        recommender.neighbours(uuid.uuid4())
    assert len(recommender._neighbours) == 2


def test_a_stale_entry_answers_while_one_refresh_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    warehouse_migrate.upgrade(url)
    engine = create_engine(url)
    clock = Clock()
    recommender = Recommender(warehouse=engine, clock=clock, background=True)
    merchant = uuid.uuid4()
    first = recommender.neighbours(merchant)
    clock.now += 10_000
    again = recommender.neighbours(merchant)  # stale: the old answer, a refresh started
    assert again is first
    for _ in range(500):
        if recommender.loads["cooccurrence"] == 2:
            break
        time.sleep(0.01)
    assert recommender.loads["cooccurrence"] == 2
    assert recommender.neighbours(merchant) is not first  # the new one answers now
    engine.dispose()


def test_the_widget_never_waits_on_the_warehouse(tmp_path: Path) -> None:
    """A merchant's first widget call answers content only and starts the read; the next
    calls have it."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    warehouse_migrate.upgrade(url)
    engine = create_engine(url)
    recommender = Recommender(warehouse=engine, background=True)
    merchant = uuid.uuid4()
    assert recommender.neighbours(merchant, wait=False) is None
    recommender.neighbours(merchant, wait=False)  # while it reads: no second read
    for _ in range(500):
        if recommender.loads["cooccurrence"]:
            break
        time.sleep(0.01)
    time.sleep(0.05)
    assert recommender.loads["cooccurrence"] == 1
    assert recommender.neighbours(merchant, wait=False) is not None
    engine.dispose()
