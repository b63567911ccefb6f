"""Catalog sync from BigCommerce: hostile image URLs are refused by the SSRF-safe fetcher
(recorded as failures with reasons, nothing fetched), and a re-sync is idempotent."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.platforms import mapping
from gateway.platforms.worker import Worker
from gateway.products.models import Product
from gateway.stores.models import Store, SyncStatus
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms.bigcommerce.conftest import STORE_HASH, drain, install, store_of
from tests.gateway.tryon_support import demo_product_image

HOSTILE = (
    "http://169.254.169.254/latest/meta-data/iam.png",
    "http://127.0.0.1:1/admin.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://100.64.0.1/x.png",
    "file:///etc/passwd",
    "gopher://example.com/x",
)


def test_hostile_image_urls_fail_with_reasons_and_a_resync_changes_nothing(
    app_client: TestClient, fake: FakeBigCommerce, worker: Worker
) -> None:
    category = fake.add_category(STORE_HASH, "Sunglasses")
    good = fake.add_product(
        STORE_HASH,
        name="Round frames",
        categories=[category],
        images=[fake.add_image("round.png", data=demo_product_image("glasses-round-black"))],
    )
    hostile = {
        fake.add_product(STORE_HASH, name=f"Hostile {i}", categories=[category], images=[url])
        for i, url in enumerate(HOSTILE)
    }
    assert install(app_client, fake).status_code == 200
    store = store_of(app_client)
    assert store is not None
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        live = session.get(Store, store.id)
        assert live is not None
        mapping.replace_rules(
            session=session, store=live, rules=[("collection", "Sunglasses", "eyewear")]
        )
    drain(worker)
    store = store_of(app_client)
    assert store is not None
    assert store.sync_status is SyncStatus.PARTIAL
    failed = {f["external_id"]: f["reason"] for f in store.sync_failures}
    assert set(failed) == {str(p) for p in hostile}, failed
    assert all(reason for reason in failed.values())
    # Nothing but the fake's own CDN was fetched (the fake saw only its image).
    assert [r.path for r in fake.requests if r.path.startswith("/cdn/")] == ["/cdn/round.png"]

    def products() -> dict[str, tuple[str, object]]:
        with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
            return {
                p.external_id: (p.title, p.updated_at) for p in session.scalars(select(Product))
            }

    before = products()
    assert str(good) in before
    from gateway.platforms import views as platform_views

    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        platform_views.queue_store_sync(session=session, store_id=store.id)
    drain(worker)
    assert products() == before
    assert [r.path for r in fake.requests if r.path.startswith("/cdn/")] == ["/cdn/round.png"]
