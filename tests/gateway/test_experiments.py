"""The holdout experiment through the gateway: the share set by the API and the dashboard,
its periods, the widget configuration, the arm check on events, the report and its CSV, and
every kind of bad input (malformed, oversized, forged, another merchant's)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics.uplift import assigned_arm
from tests.analytics.factories import event_json
from tests.gateway.conftest import auth, widget
from tests.gateway.test_dashboard import ORIGIN, SAME_SITE, send, sign_in
from tests.gateway.test_products_auth import PRODUCT, assert_problem


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def shop(new_merchant: Callable[..., Any]) -> Any:
    return new_merchant("Optics & Co", allowed_origins=[ORIGIN])


def put_share(client: TestClient, key: str, share: object) -> Any:
    return client.put("/v1/experiment", json={"holdout_share": share}, headers=auth(key))


def config(client: TestClient, shop: Any) -> dict[str, Any]:
    response = client.get(
        "/v1/widget/config",
        params={"product": PRODUCT["external_id"]},
        headers=widget(shop.publishable_key),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def shopper_in(arm: str, salt: str, share: float, prefix: str = "shopper") -> str:
    """A shopper id the assignment puts in ``arm``."""
    for i in range(10_000):
        candidate = f"{prefix}-{i:05d}"
        if assigned_arm(candidate, salt, share) == arm:
            return candidate
    raise AssertionError("no such shopper")


def test_share_periods_and_the_widget_config(client: TestClient, shop: Any) -> None:
    key = shop.secret_key
    assert client.post("/v1/products", json=PRODUCT, headers=auth(key)).status_code == 201
    assert config(client, shop)["experiment"] is None  # default off
    assert client.get("/v1/experiment", headers=auth(key)).json() == {
        "current": None,
        "periods": [],
    }
    first = put_share(client, key, 0.1).json()["current"]
    assert first["holdout_share"] == 0.1
    # The widget sees it at once (the write invalidates the cached entry).
    seen = config(client, shop)["experiment"]
    assert seen["id"] == first["id"]
    assert seen["holdout_share"] == 0.1
    assert len(seen["salt"]) == 16
    # The same share keeps the period; another starts a new one with a new salt.
    assert put_share(client, key, 0.1).json()["current"]["id"] == first["id"]
    second = put_share(client, key, 0.25).json()["current"]
    assert second["id"] != first["id"]
    assert config(client, shop)["experiment"]["salt"] != seen["salt"]
    periods = client.get("/v1/experiment", headers=auth(key)).json()["periods"]
    assert [p["id"] for p in periods] == [second["id"], first["id"]]
    assert periods[1]["ended_at"] is not None
    # 0 stops it.
    assert put_share(client, key, 0).json() == {"current": None}
    assert config(client, shop)["experiment"] is None


def test_a_finer_share_is_rounded_to_basis_points(client: TestClient, shop: Any) -> None:
    response = put_share(client, shop.secret_key, 0.07969053584888909)
    assert response.status_code == 200, response.text
    assert response.json()["current"]["holdout_share"] == 0.0797


@pytest.mark.parametrize(
    "body",
    [
        {"holdout_share": 0.51},
        {"holdout_share": -0.1},
        {"holdout_share": "ten"},
        {"holdout_share": None},
        {"holdout_share": False},
        {"holdout_share": "0.1"},
        {"holdout_share": 0.1, "salt": "mine"},
        {},
        [0.1],
    ],
)
def test_bad_shares_are_422(client: TestClient, shop: Any, body: object) -> None:
    response = client.put("/v1/experiment", json=body, headers=auth(shop.secret_key))
    assert_problem(response, 422, "invalid-input")


def test_the_share_needs_a_secret_key_with_the_scope(
    client: TestClient, shop: Any, new_merchant: Callable[..., Any]
) -> None:
    assert_problem(put_share(client, shop.publishable_key, 0.1), 403, "key-type-not-allowed")
    assert_problem(
        client.put("/v1/experiment", json={"holdout_share": 0.1}), 401, "invalid-api-key"
    )
    limited = client.post(
        "/v1/keys",
        json={"kind": "secret", "name": "reader", "scopes": ["usage:read"]},
        headers=auth(shop.secret_key),
    ).json()["key"]
    assert_problem(put_share(client, limited, 0.1), 403, "insufficient-scope")
    assert client.get("/v1/experiment", headers=auth(limited)).status_code == 200
    # Another merchant's periods are not ours to read or report on.
    theirs = put_share(client, new_merchant("Other").secret_key, 0.2).json()["current"]
    assert client.get("/v1/experiment", headers=auth(shop.secret_key)).json()["periods"] == []
    assert_problem(
        client.get(
            "/v1/metrics/experiment",
            params={"experiment": theirs["id"]},
            headers=auth(shop.secret_key),
        ),
        404,
        "not-found",
    )


def test_events_must_carry_the_arm_their_period_assigns(client: TestClient, shop: Any) -> None:
    running = put_share(client, shop.secret_key, 0.5).json()["current"]
    salt = config_salt(client, shop)
    held = shopper_in("holdout", salt, 0.5)
    treated = shopper_in("treatment", salt, 0.5, prefix="other")

    def event(shopper: str, arm: str, experiment: str = running["id"]) -> dict[str, Any]:
        return event_json(
            "eligible",
            widget_session_id=f"w-{shopper}",
            experiment={"id": experiment, "arm": arm, "shopper_id": shopper},
        )

    send(client, shop.publishable_key, [event(held, "holdout"), event(treated, "treatment")])
    headers = widget(shop.publishable_key)
    forged = client.post("/v1/events", json={"events": [event(held, "treatment")]}, headers=headers)
    problem = assert_problem(forged, 409, "conflict")
    assert problem["errors"][0]["loc"] == ["events", 0, "experiment", "arm"]
    unknown = client.post(
        "/v1/events",
        json={"events": [event(held, "holdout", str(uuid.uuid4()))]},
        headers=headers,
    )
    assert assert_problem(unknown, 409, "conflict")["errors"][0]["loc"] == [
        "events",
        0,
        "experiment",
        "id",
    ]
    half = event_json("eligible", experiment={"id": running["id"], "shopper_id": held})
    assert_problem(
        client.post("/v1/events", json={"events": [half]}, headers=headers), 422, "invalid-input"
    )
    report = client.get("/v1/metrics/experiment", headers=auth(shop.secret_key)).json()
    assert report["experiment"]["id"] == running["id"]
    assert report["arms"]["holdout"]["eligible_shoppers"] == 1
    assert report["arms"]["treatment"]["eligible_shoppers"] == 1
    assert report["status"] == "collecting"
    assert report["needed_shoppers"] > 10_000


def config_salt(client: TestClient, shop: Any) -> str:
    """The running period's salt, as the widget gets it (the product made once)."""
    made = client.post("/v1/products", json=PRODUCT, headers=auth(shop.secret_key))
    assert made.status_code in (201, 409), made.text
    salt: str = config(client, shop)["experiment"]["salt"]
    return salt


def test_dashboard_sets_the_share_and_exports_the_days(client: TestClient, shop: Any) -> None:
    sign_in(client, shop.merchant.id)
    assert client.get("/dashboard/api/experiment").json() == {"experiment": None}
    set_ = client.post("/dashboard/api/holdout", json={"holdout_share": 0.2}, headers=SAME_SITE)
    assert set_.status_code == 200, set_.text
    running = set_.json()["current"]
    salt = config_salt(client, shop)
    shopper = shopper_in("holdout", salt, 0.2)
    send(
        client,
        shop.publishable_key,
        [
            event_json(
                "eligible",
                widget_session_id="wsession-h",
                experiment={"id": running["id"], "arm": "holdout", "shopper_id": shopper},
            )
        ],
    )
    report = client.get("/dashboard/api/experiment").json()
    assert report["experiment"]["holdout_share"] == 0.2
    assert report["arms"]["holdout"]["eligible_shoppers"] == 1
    exported = client.get("/dashboard/api/experiment.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        f'filename="tryon-experiment-{running["id"]}.csv"'
        in exported.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["arm"], r["new_eligible_shoppers"]) for r in rows] == [
        ("treatment", "0"),
        ("holdout", "1"),
    ]


@pytest.mark.parametrize(
    ("headers", "body", "status", "slug"),
    [
        ({"sec-fetch-site": "cross-site"}, b'{"holdout_share": 0.1}', 403, "forbidden"),
        ({"origin": "https://evil.example"}, b'{"holdout_share": 0.1}', 403, "forbidden"),
        (
            {**SAME_SITE, "content-type": "text/plain"},
            b'{"holdout_share": 0.1}',
            415,
            "unsupported-media-type",
        ),
        ({**SAME_SITE, "content-type": "application/json"}, b"{not json", 422, "invalid-input"),
        (
            {**SAME_SITE, "content-type": "application/json"},
            b'{"holdout_share": 0.9}',
            422,
            "invalid-input",
        ),
        (
            {**SAME_SITE, "content-type": "application/json"},
            b'{"holdout_share": ' + b"1" * 400 + b"}",
            413,
            "payload-too-large",
        ),
    ],
)
def test_dashboard_share_refuses_bad_requests(
    client: TestClient, shop: Any, headers: dict[str, str], body: bytes, status: int, slug: str
) -> None:
    sign_in(client, shop.merchant.id)
    headers = {"content-type": "application/json", **headers}
    response = client.post("/dashboard/api/holdout", content=body, headers=headers)
    assert_problem(response, status, slug)
    assert client.get("/dashboard/api/experiment").json() == {"experiment": None}


def test_dashboard_experiment_needs_a_session(client: TestClient) -> None:
    for path in ("/dashboard/api/experiment", "/dashboard/api/experiment.csv"):
        assert_problem(client.get(path), 401, "unauthorized")
    assert_problem(
        client.post("/dashboard/api/holdout", json={"holdout_share": 0.1}, headers=SAME_SITE),
        401,
        "unauthorized",
    )


def test_bad_report_queries_are_422(client: TestClient, shop: Any) -> None:
    key = auth(shop.secret_key)
    for params in ({"experiment": "not-a-uuid"}, {"detect_uplift": "0"}, {"detect_uplift": "nan"}):
        assert_problem(
            client.get("/v1/metrics/experiment", params=params, headers=key), 422, "invalid-input"
        )
    assert client.get("/v1/metrics/experiment", headers=key).json() == {"experiment": None}
    empty = client.get("/v1/metrics/experiment.csv", headers=key)
    assert empty.status_code == 200
    assert empty.text == ""
