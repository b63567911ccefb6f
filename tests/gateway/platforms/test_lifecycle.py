"""A store's whole life on the core, with the in-test platform: install, sync with category
rules and prepared assets, the widget answering, product and order webhooks, uninstall (the
widget stops at once), shop redaction (nothing left: rows and blobs counted)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from analytics.warehouse import tables as t
from gateway.assets.models import TryOnAsset
from gateway.db.session import session_scope
from gateway.keys import service as merchant_keys
from gateway.keys.models import ApiKey
from gateway.merchants.models import Merchant
from gateway.platforms import installs, mapping
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.protocol import CatalogVariant, InstallGrant, Tokens
from gateway.products.models import Product, ProductVariant
from gateway.sessions.models import TryOnSession
from gateway.stores.models import Platform, Store, StoreStatus, SyncStatus
from tests.gateway.conftest import assert_problem, auth
from tests.gateway.platforms.support import SHOP, Harness

STOREFRONT = "https://www.tiny-shop.example"


def install(h: Harness, *, merchant_id: uuid.UUID | None = None) -> uuid.UUID:
    with session_scope(h.app.state.engine) as session:
        store = installs.complete_install(
            session=session,
            settings=h.app.state.settings,
            platform=Platform.CUSTOM,
            grant=InstallGrant(
                shop=SHOP,
                tokens=Tokens(access_token="fake-access-token", scopes=("read_products",)),
                extra={installs.PRIMARY_DOMAIN: STOREFRONT},
            ),
            merchant_id=merchant_id,
        )
        mapping.replace_rules(
            session=session, store=store, rules=[("product_type", "sunglasses", "eyewear")]
        )
        return store.id


def count(h: Harness, model: Any, *where: Any) -> int:
    with session_scope(h.app.state.engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def widget_key(h: Harness, store_id: uuid.UUID) -> str:
    with session_scope(h.app.state.engine) as session:
        store = session.get_one(Store, store_id)
        key = installs.widget_key_for(settings=h.app.state.settings, store=store)
    assert key is not None
    return key


def config(h: Harness, key: str, product: str, origin: str = STOREFRONT) -> Any:
    return h.client.get(
        "/v1/widget/config",
        params={"product": product},
        headers={"Authorization": f"Bearer {key}", "Origin": origin},
    )


def blobs(h: Harness) -> list[str]:
    return sorted(b.key for b in h.app.state.runtime.storage.list(""))


def warehouse_rows(h: Harness, table: Any) -> list[Any]:
    pipeline = h.app.state.analytics
    assert pipeline.wait_idle(10)
    with pipeline.engine.connect() as conn:
        return list(conn.execute(select(table)))


def order(
    order_id: str, total: str = "120.00", session_id: str = "tryon-session-1"
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "currency": "EUR",
        "revenue": total,
        "occurred_at": datetime.now(UTC).isoformat(),
        "lines": [
            {"product_id": "p1", "quantity": 1, "price": total, "tryon_session_id": session_id}
        ],
    }


def test_install_sync_widget_uninstall_redact(h: Harness) -> None:
    h.catalog.add("p1", title="Round black")
    h.catalog.add("p2", title="Round gold", image="https://cdn.example/glasses-round-gold.png")
    h.catalog.add("p3", title="A scarf", product_type="Scarves")  # mapped to nothing
    h.catalog.add("p4", title="No picture", image=None)
    before_blobs = blobs(h)
    store_id = install(h)

    # Install: a new merchant, an active store, tokens encrypted, a key for the storefront.
    with session_scope(h.app.state.engine) as session:
        store = session.get_one(Store, store_id)
        assert store.status is StoreStatus.ACTIVE
        assert store.access_token_encrypted
        assert "fake-access-token" not in store.access_token_encrypted
        key_row = session.get_one(ApiKey, store.widget_key_id)
        assert sorted(key_row.allowed_origins) == sorted([f"https://{SHOP}", STOREFRONT])
        merchant_id = store.merchant_id
    assert h.run_jobs() == 2  # webhooks subscribed, first sync
    assert h.catalog.subscribed == ["http://127.0.0.1:8000/platforms/custom/webhooks"]

    # Sync: three of four imported (the scarf maps to no category), two assets prepared.
    with session_scope(h.app.state.engine) as session:
        store = session.get_one(Store, store_id)
        assert store.sync_status is SyncStatus.SUCCEEDED
        assert store.sync_counts["imported"] == 3
        assert store.sync_counts["unmapped"] == 1
        assert store.sync_counts["assets_prepared"] == 2
        variant = session.scalars(
            select(ProductVariant).join(Product).where(Product.external_id == "p1")
        ).one()
        assert (variant.color, variant.size, variant.sku) == ("Black", "M", "SKU-p1")
        assert (variant.price_e4, variant.in_stock) == (1_299_000, None)  # stock not said
    assert count(h, Product, Product.merchant_id == merchant_id) == 3
    assert count(h, TryOnAsset, TryOnAsset.merchant_id == merchant_id) == 2
    assert len(blobs(h)) == len(before_blobs) + 4  # cut-out and metadata per asset

    # The widget answers for a synced product, from the storefront, with the shop's key.
    key = widget_key(h, store_id)
    answer = config(h, key, "p1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["product"]["has_asset"] is True
    assert_problem(config(h, key, "p1", origin="https://evil.example"), 403, "origin-not-allowed")

    # Re-sync: idempotent, no image fetched again.
    fetched = len(h.fetched)
    with session_scope(h.app.state.engine) as session:
        from gateway.platforms import jobs
        from gateway.platforms.models import JobKind

        jobs.enqueue(session=session, kind=JobKind.SYNC_STORE, store_id=store_id)
    assert h.run_jobs() == 1
    assert len(h.fetched) == fetched
    with session_scope(h.app.state.engine) as session:
        assert session.get_one(Store, store_id).sync_counts["unchanged"] == 3
    assert count(h, Product, Product.merchant_id == merchant_id) == 3

    # Product webhooks: an update fetches that product again, a delete removes ours.
    h.catalog.add(
        "p2", title="Round gold, new name", image="https://cdn.example/glasses-round-gold.png"
    )
    assert h.deliver("products/update", {"id": "p2"}).status_code == 200
    assert h.deliver("products/delete", {"id": "p4"}).status_code == 200
    del h.catalog.products["p4"]
    assert h.run_jobs() == 2
    with session_scope(h.app.state.engine) as session:
        titles = set(
            session.scalars(select(Product.title).where(Product.merchant_id == merchant_id))
        )
    assert titles == {"Round black", "Round gold, new name"}

    # Orders: a purchase through the POST /v1/orders path; a refund updates it.
    assert h.deliver("orders/create", {"order": order("1001")}).status_code == 200
    assert (
        h.deliver("refunds/create", {"order": order("1001"), "refunded": "20.00"}).status_code
        == 200
    )
    assert h.run_jobs() == 2
    (placed,) = [r for r in warehouse_rows(h, t.fact_order) if r.merchant_id == merchant_id]
    assert (placed.order_id, placed.revenue_e4, placed.refunded_e4, placed.status) == (
        "1001",
        1_200_000,
        200_000,
        "refunded",
    )

    # A try-on session counter of a synced product, to see redaction remove it.
    with session_scope(h.app.state.engine) as session:
        product_id = session.scalars(select(Product.id).where(Product.external_id == "p1")).one()
        session.add(TryOnSession(merchant_id=merchant_id, product_id=product_id, mode="photo"))

    # Uninstall: the widget stops at once, tokens gone, the token given back.
    assert h.deliver("app/uninstalled", {}).status_code == 200
    assert h.run_jobs() == 1
    assert h.catalog.revoked == ["fake-access-token"]
    assert_problem(config(h, key, "p1"), 401, "invalid-api-key")
    with session_scope(h.app.state.engine) as session:
        store = session.get_one(Store, store_id)
        assert store.status is StoreStatus.UNINSTALLED
        assert store.access_token_encrypted is None
        assert store.refresh_token_encrypted is None

    # Shop redaction: nothing of the shop is left (its merchant was made at its install).
    assert h.deliver("shop/redact", {}).status_code == 200
    assert h.run_jobs() == 1
    for model, column in (
        (Merchant, Merchant.id),
        (Store, Store.merchant_id),
        (Product, Product.merchant_id),
        (TryOnAsset, TryOnAsset.merchant_id),
        (ApiKey, ApiKey.merchant_id),
        (TryOnSession, TryOnSession.merchant_id),
    ):
        assert count(h, model, column == merchant_id) == 0, model
    assert blobs(h) == before_blobs
    for table in (t.fact_order, t.fact_order_line, t.fact_event, t.rollup_merchant_daily):
        assert [r for r in warehouse_rows(h, table) if r.merchant_id == merchant_id] == [], table
    # A late webhook for the erased shop: 200, nothing happens.
    jobs_before = count(h, PlatformJob)
    assert h.deliver("orders/create", {"order": order("1002")}).status_code == 200
    assert count(h, PlatformJob) == jobs_before
    assert count(h, PlatformJob, PlatformJob.status == JobStatus.DEAD) == 0


def test_install_from_the_dashboard_keeps_the_merchant_and_redaction_keeps_it(h: Harness) -> None:
    # Not the ``new_merchant`` fixture: its app would run a second worker on this database.
    with session_scope(h.app.state.engine) as session:
        existing = merchant_keys.create_merchant(session=session, name="Existing brand")
    h.catalog.add("p1")
    store_id = install(h, merchant_id=existing.merchant.id)
    assert h.run_jobs() == 2
    with session_scope(h.app.state.engine) as session:
        assert session.get_one(Store, store_id).merchant_id == existing.merchant.id
    listed = h.client.get("/v1/stores", headers=auth(existing.secret_key))
    assert listed.status_code == 200
    (only,) = listed.json()["data"]
    assert only["shop"] == SHOP
    assert only["sync"]["counts"]["imported"] == 1

    # Another store of the same merchant keeps the merchant alive through the redaction.
    with session_scope(h.app.state.engine) as session:
        session.add(
            Store(
                merchant_id=existing.merchant.id,
                platform=Platform.SHOPIFY,
                shop_domain="other.myshopify.com",
            )
        )
    assert h.deliver("shop/redact", {}).status_code == 200
    assert h.run_jobs() == 1
    assert count(h, Merchant, Merchant.id == existing.merchant.id) == 1
    assert count(h, Product, Product.store_id == store_id) == 0
    with session_scope(h.app.state.engine) as session:
        store = session.get_one(Store, store_id)
        assert store.status is StoreStatus.REDACTED
        assert store.widget_key_id is None
    # The merchant's own keys still work.
    assert h.client.get("/v1/stores", headers=auth(existing.secret_key)).status_code == 200


def test_variants_and_a_product_leaving_its_category(hs: Harness) -> None:
    hs.catalog.add(
        "p1",
        variants=(
            CatalogVariant(external_id="a", title="Gold", options={"Colour": "Gold"}),
            CatalogVariant(
                external_id="b", title="Black / L", options={"color": "Black", "SIZE": "L"}
            ),
        ),
    )
    install(hs)
    hs.run_jobs()
    with session_scope(hs.app.state.engine) as session:
        rows = session.scalars(select(ProductVariant).order_by(ProductVariant.position)).all()
        assert [(v.external_id, v.color, v.size) for v in rows] == [
            ("a", "Gold", None),
            ("b", "Black", "L"),
        ]
    hs.catalog.add("p1", product_type="Scarves")
    assert hs.deliver("products/update", {"id": "p1"}).status_code == 200
    hs.run_jobs()
    assert count(hs, Product) == 0
    assert count(hs, TryOnAsset) == 0
