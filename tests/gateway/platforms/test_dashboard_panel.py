"""The dashboard's store connections panel: the signed-in merchant's stores only, with sync
state and failures; and a screenshot of it in chromium (docs/images/dashboard-stores.png)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.merchants import service as merchants
from gateway.stores.models import Store
from tests.gateway.platforms.support import Harness
from tests.gateway.platforms.test_lifecycle import install
from tests.gateway.test_dashboard import sign_in

ROOT = Path(__file__).resolve().parents[3]


def test_the_panel_shows_the_merchants_stores_and_failures(hs: Harness) -> None:
    hs.catalog.add("p1")
    hs.catalog.add("p2", image="https://cdn.example/missing.png")
    store_id = install(hs)
    hs.run_jobs()
    with session_scope(hs.app.state.engine) as session:
        merchant_id = session.get_one(Store, store_id).merchant_id
        other = merchants.create(session=session, name="Other").merchant.id
    assert hs.client.get("/dashboard/api/stores").status_code == 401
    assert sign_in(hs.client, merchant_id).status_code == 303
    (store,) = hs.client.get("/dashboard/api/stores").json()["data"]
    assert store["sync"]["counts"]["assets_prepared"] == 1
    assert store["sync"]["failures"][0]["external_id"] == "p2"
    assert "no such image" in store["sync"]["failures"][0]["reason"]
    page = hs.client.get("/dashboard")
    assert '<script src="/dashboard/stores.js" defer></script>' in page.text
    script = hs.client.get("/dashboard/stores.js")
    assert script.headers["content-type"].startswith("text/javascript")
    hs.client.cookies.clear()
    assert sign_in(hs.client, other).status_code == 303
    assert hs.client.get("/dashboard/api/stores").json() == {"data": []}
    with session_scope(hs.app.state.engine) as session:
        assert session.scalars(select(Store.id)).all() == [store_id]
