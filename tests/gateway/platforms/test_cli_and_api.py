"""``tryon stores|platforms|analytics retention`` and ``/v1/stores``: results, one-line
errors, and tenants kept apart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from analytics.schema import EventRecord, Impression
from analytics.warehouse import tables as t
from analytics.warehouse.writer import Warehouse
from gateway.cli import app as cli
from gateway.db.session import session_scope
from gateway.merchants import service as merchants
from gateway.merchants.models import Merchant
from gateway.platforms.models import CategoryRule
from gateway.products.models import Product
from gateway.settings import get_settings
from tests.gateway.conftest import assert_problem, auth
from tests.gateway.platforms.support import Harness
from tests.gateway.platforms.test_lifecycle import install

runner = CliRunner()


@pytest.fixture
def env(hs: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("TRYON_DATABASE_URL", hs.app.state.settings.sqlalchemy_url)
    monkeypatch.setenv("TRYON_DATA_DIR", str(hs.app.state.settings.data_dir))
    get_settings.cache_clear()
    yield hs
    get_settings.cache_clear()


def test_stores_list_sync_and_mappings(env: Harness) -> None:
    env.catalog.add("p1")
    env.catalog.add("p2", product_type="Hats")
    store_id = install(env)
    listed = runner.invoke(cli, ["stores", "list"])
    assert listed.exit_code == 0, listed.output
    assert str(store_id) in listed.output
    assert "sync queued" in listed.output

    added = runner.invoke(
        cli,
        [
            "stores",
            "mappings",
            "add",
            "--store",
            str(store_id),
            "--field",
            "product_type",
            "--value",
            "hats",
            "--category",
            "hat",
        ],
    )
    assert added.exit_code == 0, added.output
    shown = runner.invoke(cli, ["stores", "mappings", "list", "--store", str(store_id)])
    assert "product_type='hats' -> hat" in shown.output
    assert "product_type='sunglasses' -> eyewear" in shown.output

    synced = runner.invoke(cli, ["stores", "sync", "--store", str(store_id)])
    assert synced.exit_code == 0, synced.output
    assert "imported 2" in synced.output
    with session_scope(env.app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 2

    rule_id = shown.output.split()[0]
    removed = runner.invoke(
        cli, ["stores", "mappings", "remove", "--store", str(store_id), "--rule", rule_id]
    )
    assert removed.exit_code == 0, removed.output
    with session_scope(env.app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(CategoryRule)) == 1

    jobs = runner.invoke(cli, ["platforms", "jobs"])
    assert jobs.exit_code == 0
    assert '"pending": 2' in jobs.output  # the install's jobs, not run in this test


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stores", "sync", "--store", "nope"], "error: store 'nope' is not an id"),
        (["stores", "sync", "--store", str(uuid.uuid4())], "error: No such store"),
        (
            [
                "stores",
                "mappings",
                "add",
                "--store",
                "X",
                "--field",
                "f",
                "--value",
                "v",
                "--category",
                "c",
            ],
            "error: store 'X' is not an id",
        ),
        (["platforms", "jobs", "--status", "lost"], "error: unknown status 'lost'"),
    ],
)
def test_cli_errors_are_one_line(env: Harness, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [message]


def test_bad_rules_are_one_line_errors(env: Harness) -> None:
    store_id = install(env)
    result = runner.invoke(
        cli,
        [
            "stores",
            "mappings",
            "add",
            "--store",
            str(store_id),
            "--field",
            "colour",
            "--value",
            "x",
            "--category",
            "hat",
        ],
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: 'colour' is not a valid RuleField")
    assert len(result.output.strip().splitlines()) == 1


def impression(day: datetime) -> Impression:
    return Impression(
        schema_version=1,
        event_id=uuid.uuid4(),
        type="impression",
        occurred_at=day,
        widget_session_id="widget-session-1",
        product_id="p1",
    )


def test_retention_drops_rows_past_each_merchants_setting(env: Harness) -> None:
    with session_scope(env.app.state.engine) as session:
        short = merchants.create(session=session, name="Short memory").merchant.id
        default = merchants.create(session=session, name="Default").merchant.id
        session.get_one(Merchant, short).analytics_retention_days = 30
    now = datetime.now(UTC)
    records = [
        EventRecord(
            merchant_id=m,
            source="widget",
            received_at=now,
            client_occurred_at=now - timedelta(days=age),
            event=impression(now - timedelta(days=age)),
        )
        for m in (short, default)
        for age in (1, 40, 800)
    ]
    pipeline = env.app.state.analytics
    Warehouse(pipeline.writer_engine or pipeline.engine).store(records)

    def facts() -> dict[Any, int]:
        with pipeline.engine.connect() as conn:
            rows = conn.execute(
                select(t.fact_event.c.merchant_id, func.count()).group_by(
                    t.fact_event.c.merchant_id
                )
            ).all()
        return {m: n for m, n in rows if m in (short, default)}

    assert facts() == {short: 3, default: 3}
    result = runner.invoke(cli, ["analytics", "retention"])
    assert result.exit_code == 0, result.output
    # 30 days for "short"; the 730-day default for the other.
    assert facts() == {short: 1, default: 2}
    assert '"fact_event": 3' in result.output


def test_stores_api_is_scoped_by_merchant(hs: Harness) -> None:
    store_id = install(hs)
    with session_scope(hs.app.state.engine) as session:
        owner = session.scalar(
            select(Merchant.id).join_from(Merchant, Product, isouter=True).limit(1)
        )
        from gateway.stores.models import Store

        owner = session.get_one(Store, store_id).merchant_id
        key = merchants.create(session=session, name="Other").secret_key
        from gateway.keys import service as keys
        from gateway.keys.models import KeyKind

        _, own_key = keys.create(session=session, merchant_id=owner, kind=KeyKind.SECRET)
    assert hs.client.get("/v1/stores", headers=auth(key)).json() == {"data": []}
    for method, path, body in (
        ("GET", f"/v1/stores/{store_id}", None),
        ("POST", f"/v1/stores/{store_id}/sync", None),
        ("GET", f"/v1/stores/{store_id}/category-rules", None),
        ("PUT", f"/v1/stores/{store_id}/category-rules", {"rules": []}),
    ):
        assert_problem(
            hs.client.request(method, path, json=body, headers=auth(key)), 404, "not-found"
        )
    rules = hs.client.put(
        f"/v1/stores/{store_id}/category-rules",
        json={
            "rules": [
                {"field": "tag", "value": "Sun", "category": "eyewear"},
                {"field": "collection", "value": "caps", "category": "hat"},
            ]
        },
        headers=auth(own_key),
    )
    assert rules.status_code == 200, rules.text
    assert [(r["field"], r["position"]) for r in rules.json()["data"]] == [
        ("tag", 0),
        ("collection", 1),
    ]
    for bad in (
        {"rules": [{"field": "colour", "value": "x", "category": "hat"}]},
        {"rules": [{"field": "tag", "value": "", "category": "hat"}]},
        {"rules": [{"field": "tag", "value": "x", "category": "shoes"}]},
        {"rules": [{"field": "tag", "value": "x", "category": "hat", "extra": 1}]},
    ):
        answer = hs.client.put(
            f"/v1/stores/{store_id}/category-rules", json=bad, headers=auth(own_key)
        )
        assert answer.status_code == 422, answer.text
    dup = hs.client.put(
        f"/v1/stores/{store_id}/category-rules",
        json={
            "rules": [
                {"field": "tag", "value": "x", "category": "hat"},
                {"field": "tag", "value": "X", "category": "top"},
            ]
        },
        headers=auth(own_key),
    )
    assert_problem(dup, 409, "conflict")
    queued = hs.client.post(f"/v1/stores/{store_id}/sync", headers=auth(own_key))
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    state = hs.client.get(f"/v1/stores/{store_id}", headers=auth(own_key)).json()
    assert state["shop"] == "tiny-shop.example"
    assert state["storefront_origins"] == [
        "https://tiny-shop.example",
        "https://www.tiny-shop.example",
    ]
