"""After the connect: the webhooks the worker creates (per-store secret, pings answered), the
catalog sync (pages, variations, hostile image URLs), signed deliveries that become products
and attributed purchases, and hostile deliveries (forged, replayed, unknown store, oversized,
not JSON)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway import logging as gateway_logging
from gateway.db.session import session_scope
from gateway.orders import service as orders
from gateway.platforms import mapping
from gateway.platforms.models import JobKind, JobStatus
from gateway.platforms.woocommerce.adapter import HOOK_TOPICS, hook_secret, signature
from gateway.platforms.worker import Worker
from gateway.products.models import Product
from gateway.stores.models import Store, SyncStatus
from testkit.fakes.woocommerce import FakeWooCommerce, sign
from tests.conftest import TEST_SECRET
from tests.gateway.platforms.woocommerce.conftest import (
    PUBLIC_URL,
    STORE_URL,
    connect,
    drain,
    jobs_of,
    store_of,
)
from tests.gateway.tryon_support import demo_product_image

SESSION = "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d"
HOSTILE = (
    "http://169.254.169.254/latest/meta-data/iam.png",
    "http://127.0.0.1:1/admin.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "file:///etc/passwd",
)


def test_the_published_signature_vector() -> None:
    # PLATFORMS.md: secret '' (empty), body 'secret'.
    assert signature("", b"secret") == "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="
    assert sign("", b"secret") == "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="


def _connected(app_client: TestClient, fake: FakeWooCommerce, worker: Worker) -> Store:
    assert connect(app_client, fake)[0] == 200
    store = store_of(app_client)
    assert store is not None
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        live = session.get(Store, store.id)
        assert live is not None
        mapping.replace_rules(
            session=session, store=live, rules=[("collection", "sunglasses", "eyewear")]
        )
    drain(worker)
    store = store_of(app_client)
    assert store is not None
    return store


def _products(app_client: TestClient) -> dict[str, Product]:
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = {p.external_id: p for p in session.scalars(select(Product))}
        session.expunge_all()
        return rows


def test_webhooks_are_made_once_with_the_stores_secret_and_pings_answered(
    app_client: TestClient, fake: FakeWooCommerce, worker: Worker
) -> None:
    store = _connected(app_client, fake, worker)
    hooks = fake.hooks(STORE_URL)
    assert sorted(h["topic"] for h in hooks) == sorted(HOOK_TOPICS)
    secret = hook_secret(secret_key=TEST_SECRET, shop=STORE_URL)
    assert {h["secret"] for h in hooks} == {secret}
    assert {h["delivery_url"] for h in hooks} == {
        f"{PUBLIC_URL}/platforms/woocommerce/webhooks/{store.id}"
    }
    assert [status for _, status in fake.pings] == [200] * len(HOOK_TOPICS)
    assert not [j for j in jobs_of(app_client) if j.kind is JobKind.WEBHOOK]  # pings: no jobs
    # Again: nothing changes; a stale hook of ours is replaced, the merchant's are left alone.
    hooks[0]["secret"] = "stale"
    fake.store(STORE_URL).hooks[999] = {
        "id": 999,
        "topic": "order.created",
        "status": "active",
        "secret": "theirs",
        "delivery_url": "https://erp.example/hook",
        "failure_count": 0,
    }
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        from gateway.db.base import utcnow
        from gateway.platforms import jobs

        jobs.enqueue(session=session, kind=JobKind.ENSURE_WEBHOOKS, store_id=store.id, now=utcnow())
    drain(worker)
    ours = [h for h in fake.hooks(STORE_URL) if h["id"] != 999]
    assert sorted(h["topic"] for h in ours) == sorted(HOOK_TOPICS)
    assert {h["secret"] for h in ours} == {secret}
    assert 999 in fake.store(STORE_URL).hooks


def test_sync_reads_pages_and_variations_and_refuses_hostile_images(
    app_client: TestClient, fake: FakeWooCommerce, worker: Worker, wc_settings: object
) -> None:
    image = fake.add_image("round.png", demo_product_image("glasses-round-black"))
    variable = fake.add_product(
        STORE_URL,
        name="Round frames",
        categories=["Sunglasses"],
        images=[image],
        variations=[
            {"sku": "RF-S", "price": "99.00", "attributes": {"Size": "S"}},
            {"sku": "RF-L", "price": "109.00", "attributes": {"Size": "L"}},
        ],
    )
    simple = [
        fake.add_product(
            STORE_URL,
            name=f"Simple {i}",
            categories=["Sunglasses"],
            images=[fake.add_image(f"{name}.png", demo_product_image(name))],
        )
        for i, name in enumerate(("glasses-cateye-red", "sunglasses-aviator"))
    ]
    hostile = {
        fake.add_product(STORE_URL, name=f"Hostile {i}", categories=["Sunglasses"], images=[url])
        for i, url in enumerate(HOSTILE)
    }
    unmapped = fake.add_product(STORE_URL, name="Unmapped", categories=["Shoes"], images=[image])
    store = _connected(app_client, fake, worker)
    assert store.sync_status is SyncStatus.PARTIAL
    assert {f["external_id"] for f in store.sync_failures} == {str(p) for p in hostile}, (
        store.sync_failures
    )
    products = _products(app_client)
    assert {str(variable), *(str(p) for p in simple)} <= set(products)
    assert str(unmapped) not in products
    assert products[str(variable)].title == "Round frames"
    # Nothing but the store's API and its own images was asked for.
    assert all(r.path.startswith(("/cdn/", "/shop.example/")) for r in fake.requests)
    assert not any("iam" in r.path or "admin" in r.path for r in fake.requests)
    variation_calls = [r for r in fake.requests if r.path.endswith("/variations")]
    assert [r.path for r in variation_calls] == [
        f"/shop.example/wp-json/wc/v3/products/{variable}/variations"
    ] * len(variation_calls)


def test_small_pages_follow_x_wp_totalpages(
    wc_settings: object, fake: FakeWooCommerce, make_settings: object
) -> None:
    from gateway.platforms.http import PlatformClient
    from gateway.platforms.protocol import Connection
    from gateway.platforms.woocommerce.adapter import WooCommerceAdapter

    for i in range(5):
        fake.add_product(STORE_URL, name=f"P{i}")
    _, ck, cs = fake.add_keys(STORE_URL)
    adapter = WooCommerceAdapter(secret_key=TEST_SECRET, page_size=2)
    connection = Connection(shop=STORE_URL, access_token=ck, secret=cs)
    seen: list[str] = []
    cursor: str | None = None
    with PlatformClient(base_url=fake.base_url, max_attempts=1) as client:
        for _ in range(10):
            page = adapter.fetch_catalog_page(client=client, connection=connection, cursor=cursor)
            seen += [p.external_id for p in page.products]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == 5
    assert len(set(seen)) == 5


def _deliver(
    app_client: TestClient, store: Store, topic: str, payload: dict[str, object], **headers: str
) -> int:
    body = json.dumps(payload).encode()
    sent = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-ID": "77",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        "X-WC-Webhook-Signature": sign(
            hook_secret(secret_key=TEST_SECRET, shop=store.shop_domain), body
        ),
    } | headers
    return app_client.post(
        f"/platforms/woocommerce/webhooks/{store.id}", content=body, headers=sent
    ).status_code


def test_product_and_order_deliveries_become_products_and_attributed_purchases(
    app_client: TestClient,
    fake: FakeWooCommerce,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[Any] = []
    real = orders.events.emit

    def emit(app: Any, *, merchant_id: Any, events: Any, store: Any = None) -> Any:
        published.extend(events)
        return real(app, merchant_id=merchant_id, events=events, store=store)

    monkeypatch.setattr(orders.events, "emit", emit)
    image = fake.add_image("round.png", demo_product_image("glasses-round-black"))
    _connected(app_client, fake, worker)
    pid = fake.add_product(
        STORE_URL,
        name="Aviator",
        categories=["Sunglasses"],
        images=[image],
        variations=[{"sku": "AV-M", "price": "125.00", "attributes": {"Size": "M"}}],
    )
    assert fake.deliver(STORE_URL, "product.created", fake.store(STORE_URL).products[pid]) == [200]
    drain(worker)
    assert str(pid) in _products(app_client)
    (vid,) = fake.variation_ids(STORE_URL, pid)
    order = fake.add_order(STORE_URL, lines=[(pid, vid, 1, "125.00", SESSION)])
    # WooCommerce's own delivery hides the `_` meta: the worker reads the order again.
    shown = dict(order)
    shown["line_items"] = [dict(i, meta_data=[]) for i in order["line_items"]]
    assert fake.deliver(STORE_URL, "order.created", shown) == [200]
    drain(worker)
    (purchase,) = [e for e in published if e.type == "purchase"]
    assert purchase.properties.order_id == str(order["id"])
    assert [line.tryon_session_id for line in purchase.properties.lines] == [SESSION]
    assert [line.variant_id for line in purchase.properties.lines] == [str(vid)]
    assert [line.product_id for line in purchase.properties.lines] == [str(pid)]
    assert any(
        r.path.endswith(f"/orders/{order['id']}") and r.query.get("all_item_meta") == "true"
        for r in fake.requests
    )
    # A holdout shopper's order (added with the page's own button): the widget session only.
    held_out = fake.add_order(
        STORE_URL, lines=[(pid, vid, 1, "125.00", None)], widget_session="w-4f1c2a9e7b3d"
    )
    shown = dict(held_out)
    shown["line_items"] = [dict(i, meta_data=[]) for i in held_out["line_items"]]
    assert fake.deliver(STORE_URL, "order.created", shown) == [200]
    drain(worker)
    (held,) = [
        e
        for e in published
        if e.type == "purchase" and e.properties.order_id == str(held_out["id"])
    ]
    assert held.widget_session_id == "w-4f1c2a9e7b3d"
    assert [line.tryon_session_id for line in held.properties.lines] == [None]
    # A deletion removes ours.
    fake.delete_product(STORE_URL, pid)
    assert fake.deliver(STORE_URL, "product.deleted", {"id": pid}) == [200]
    drain(worker)
    assert str(pid) not in _products(app_client)


def test_hostile_deliveries(app_client: TestClient, fake: FakeWooCommerce, worker: Worker) -> None:
    store = _connected(app_client, fake, worker)
    before = len(jobs_of(app_client))
    payload = {"id": 5, "status": "processing"}
    # Forged: another secret, no signature, a signature of another body.
    assert fake.deliver(STORE_URL, "order.created", payload, secret="guess") == [401] * 1
    assert (
        _deliver(app_client, store, "order.created", payload, **{"X-WC-Webhook-Signature": ""})
        == 401
    )
    assert (
        _deliver(
            app_client,
            store,
            "order.created",
            payload,
            **{"X-WC-Webhook-Signature": sign("x", b"{}")},
        )
        == 401
    )
    # Signed for another store: this store's URL refuses it.
    other = Store(id=uuid.uuid4(), shop_domain="https://other-shop.example/wp")
    body = json.dumps(payload).encode()
    forged = sign(hook_secret(secret_key=TEST_SECRET, shop=other.shop_domain), body)
    assert (
        app_client.post(
            f"/platforms/woocommerce/webhooks/{store.id}",
            content=body,
            headers={
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Delivery-ID": "d1",
                "X-WC-Webhook-Signature": forged,
            },
        ).status_code
        == 401
    )
    # Unknown store, not a store id.
    assert (
        app_client.post(
            f"/platforms/woocommerce/webhooks/{uuid.uuid4()}", content=b"webhook_id=1"
        ).status_code
        == 404
    )
    bad = app_client.post("/platforms/woocommerce/webhooks/..%2F..%2Fadmin", content=b"{}")
    assert bad.status_code == 404
    assert bad.headers["content-type"].startswith("application/problem+json")
    # Signed but broken: no topic, no delivery id, not JSON, a JSON list.
    assert _deliver(app_client, store, "", payload) == 400
    assert (
        _deliver(app_client, store, "order.created", payload, **{"X-WC-Webhook-Delivery-ID": "a b"})
        == 400
    )
    raw = b"\xff not json"
    assert (
        app_client.post(
            f"/platforms/woocommerce/webhooks/{store.id}",
            content=raw,
            headers={
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Delivery-ID": "d2",
                "X-WC-Webhook-Signature": sign(
                    hook_secret(secret_key=TEST_SECRET, shop=STORE_URL), raw
                ),
            },
        ).status_code
        == 400
    )
    # Oversized.
    huge = app_client.post(
        f"/platforms/woocommerce/webhooks/{store.id}", content=b"x" * (3 * 1024 * 1024)
    )
    assert huge.status_code == 413
    # A ping is 200 and nothing; a ping-looking body with a signature header is a delivery.
    assert (
        app_client.post(
            f"/platforms/woocommerce/webhooks/{store.id}", content=b"webhook_id=12"
        ).status_code
        == 200
    )
    assert len(jobs_of(app_client)) == before
    # Replayed: the same delivery id twice is one job.
    replay = {"X-WC-Webhook-Delivery-ID": "same-delivery"}
    assert _deliver(app_client, store, "order.updated", {"id": 9}, **replay) == 200
    assert _deliver(app_client, store, "order.updated", {"id": 9}, **replay) == 200
    assert len(jobs_of(app_client)) == before + 1
    # The worker does not fail on an order the store does not have (404): nothing to retry.
    assert set(drain(worker)) == {JobStatus.DONE}


def test_every_call_to_the_store_is_logged_as_woocommerce(
    app_client: TestClient,
    fake: FakeWooCommerce,
    worker: Worker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The connect page's calls and the worker's (its one client serves every platform)."""
    gateway_logging.configure(level="INFO", json=True)
    _connected(app_client, fake, worker)
    captured = capsys.readouterr()
    logged = [
        json.loads(line)
        for line in (captured.err + captured.out).splitlines()
        if '"platform.request"' in line
    ]
    paths = {e["path"] for e in logged}
    assert "/wp-json/wc/v3/webhooks" in paths  # the worker's
    assert "/wp-json/wc/v3/products" in paths  # the connect page's key check, the sync
    assert {e["platform"] for e in logged} == {"woocommerce"}
