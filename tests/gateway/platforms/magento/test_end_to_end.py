"""A Magento store's life through the real core, against the fake Magento (whose OAuth 1.0a
endpoints are oauthlib's): the activation post, the identity link and its confirmation, the
token exchange signed HMAC-SHA256, the catalog synced through REST ``searchCriteria`` pages,
the module's signed order post, the scheduled pull deduplicated with it, an order refunded
later, and an order whose post never came found by the pull."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.db.session import session_scope
from gateway.orders import service as orders
from gateway.platforms import crypto, mapping
from gateway.platforms.magento.adapter import CONSUMER_KEY, STORE_BASE_URL
from gateway.platforms.magento.models import PendingActivation
from gateway.platforms.models import JobKind, JobStatus, PlatformJob
from gateway.platforms.worker import Worker
from gateway.products.models import Category, Product, ProductVariant
from gateway.stores.models import StoreStatus, SyncStatus
from testkit.fakes.magento import FakeMagento
from tests.gateway.platforms.magento.conftest import (
    BASE,
    HOST,
    ORDERS,
    SESSION,
    drain,
    install,
    jobs_of,
    signed_post,
    store_of,
)
from tests.gateway.tryon_support import demo_product_image


def _webhook_jobs(client: TestClient) -> list[PlatformJob]:
    return [j for j in jobs_of(client) if j.kind is JobKind.WEBHOOK]


def _pull_now(client: TestClient, worker: Worker) -> None:
    """Make the scheduled pull due now (the schedule is ten minutes) and run the queue."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.execute(
            update(PlatformJob)
            .where(PlatformJob.kind == JobKind.PULL_ORDERS, PlatformJob.status == JobStatus.PENDING)
            .values(run_after=datetime.now(UTC) - timedelta(seconds=1))
        )
    drain(worker)


def test_a_magento_store_from_activation_to_a_refund(
    app_client: TestClient, fake: FakeMagento, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    eyewear = fake.add_category(HOST, "Sunglasses")
    image = fake.add_image("aviator.png", demo_product_image("glasses-round-black"))
    aviator = fake.add_product(
        HOST,
        name="Aviator",
        categories=[eyewear],
        images=[image],
        price=125,
        children=[{"name": "Aviator Gold", "sku": "AV-G"}, {"name": "Aviator Navy", "sku": "AV-N"}],
    )
    for n in range(3):  # more pages than one (page size 2 below)
        fake.add_product(HOST, name=f"Gift card {n}")
    monkeypatch.setattr(worker.ctx.settings, "magento_page_size", 2)

    integration = install(app_client, fake)
    consumer_key, consumer_secret, _ = integration
    store = store_of(app_client)
    assert store is not None
    assert store.status is StoreStatus.ACTIVE
    assert store.extra[STORE_BASE_URL] == BASE
    assert store.extra[CONSUMER_KEY] == consumer_key
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    access = crypto.decrypt(settings, store.access_token_encrypted or "")
    assert access in fake.stores[HOST].access_tokens  # the token the store issued
    assert store.secret_encrypted is not None
    assert consumer_secret not in store.secret_encrypted  # encrypted at rest
    token_calls = [r.path for r in fake.requests if r.path.startswith("/oauth/")]
    assert token_calls == ["/oauth/token/request", "/oauth/token/access"]
    assert all(
        'oauth_signature_method="HMAC-SHA256"' in r.headers["authorization"]
        for r in fake.requests
        if r.path.startswith("/oauth/")
    )
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(PendingActivation)) is None  # used once, gone
        live = session.get(type(store), store.id)
        assert live is not None
        mapping.replace_rules(
            session=session, store=live, rules=[("collection", "Sunglasses", "eyewear")]
        )

    statuses = drain(worker)
    assert statuses
    assert all(s is JobStatus.DONE for s in statuses), [
        (j.kind, j.status, j.last_error) for j in jobs_of(app_client)
    ]
    store = store_of(app_client)
    assert store is not None
    assert store.sync_status is SyncStatus.SUCCEEDED, store.sync_failures
    assert store.sync_counts["seen"] == 4  # the configurable's simple products are variants
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        products = {p.external_id: p for p in session.scalars(select(Product))}
        assert {k: p.category for k, p in products.items()} == {str(aviator): Category.EYEWEAR}
        skus = sorted(v.sku or "" for v in session.scalars(select(ProductVariant)))
        assert skus == ["AV-G", "AV-N"]
    listed = [r for r in fake.requests if r.path == "/rest/V1/products"]
    assert {dict(r.query)["searchCriteria[currentPage]"] for r in listed} == {"1", "2"}
    assert "searchCriteria%5BpageSize%5D=2" in listed[0].raw_query
    # The pull chain: the first pull ran at install, the next one waits its interval.
    pending = [j for j in jobs_of(app_client) if j.kind is JobKind.PULL_ORDERS]
    assert [j.status for j in pending].count(JobStatus.PENDING) == 1

    published: list[Any] = []
    real = orders.events.emit

    def emit(app: Any, *, merchant_id: Any, events: Any, store: Any = None) -> Any:
        published.extend(events)
        return real(app, merchant_id=merchant_id, events=events, store=store)

    monkeypatch.setattr(orders.events, "emit", emit)

    # The module posts the placed order (signed); a replay of the same post is one job.
    child = aviator + 1
    order = fake.add_order(
        HOST,
        lines=[
            {"product_id": aviator, "variant_id": child, "price": 125, "tryon_session": SESSION}
        ],
    )
    body, headers = signed_post(order, integration)
    assert app_client.post(ORDERS, content=body, headers=headers).status_code == 200
    assert app_client.post(ORDERS, content=body, headers=headers).status_code == 200
    assert len(_webhook_jobs(app_client)) == 1
    drain(worker)
    purchases = [e for e in published if e.type == "purchase"]
    assert len(purchases) == 1
    (line,) = purchases[0].properties.lines
    assert (line.product_id, line.variant_id) == (str(aviator), str(child))
    assert line.tryon_session_id == SESSION
    assert purchases[0].properties.order_id == order["increment_id"]

    # The scheduled pull sees the same order (invoiced meanwhile): nothing new.
    fake.update_order(HOST, order["entity_id"], state="processing")
    _pull_now(app_client, worker)
    assert len(_webhook_jobs(app_client)) == 1
    assert len([e for e in published if e.type == "purchase"]) == 1
    assert any(r.path == "/rest/V1/orders" for r in fake.requests)

    # Refunded later: the pull brings the change, the purchase is updated.
    fake.update_order(HOST, order["entity_id"], state="closed", total_refunded=125)
    _pull_now(app_client, worker)
    updates = [e for e in published if e.type == "order_updated"]
    assert [u.properties.status for u in updates] == ["refunded"]
    _pull_now(app_client, worker)  # and again: still one update
    assert len([e for e in published if e.type == "order_updated"]) == 1

    # An order whose post never arrived, of a holdout shopper (added with the page's own
    # button: the widget session only): the pull finds it, in that shopper's session.
    missed = fake.add_order(
        HOST, lines=[{"product_id": aviator, "price": 125, "tryon_widget_session": "w-4f1c2a9e"}]
    )
    _pull_now(app_client, worker)
    ids = {e.properties.order_id for e in published if e.type == "purchase"}
    assert ids == {order["increment_id"], missed["increment_id"]}
    (held,) = [
        e
        for e in published
        if e.type == "purchase" and e.properties.order_id == missed["increment_id"]
    ]
    assert held.widget_session_id == "w-4f1c2a9e"
    assert [line.tryon_session_id for line in held.properties.lines] == [None]
    assert all(j.status is JobStatus.DONE for j in _webhook_jobs(app_client))
