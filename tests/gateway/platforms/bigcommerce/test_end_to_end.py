"""A BigCommerce store's life through the real core, against the fake BigCommerce: the auth
callback (token exchange, encrypted token), the worker creating the hooks with the store's
secret header and registering the storefront script, the catalog synced through v3 (paged,
through a 429 with X-Rate-Limit-Time-Reset-Ms), the load page, an order hook fetched and
attributed by its cart id, product hooks, and the uninstall with its scheduled redaction."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.keys.models import ApiKey
from gateway.orders import service as orders
from gateway.platforms import mapping
from gateway.platforms.bigcommerce.adapter import HOOK_HEADER, HOOK_SCOPES, hook_secret
from gateway.platforms.bigcommerce.storefront import loader
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.worker import Worker
from gateway.products.models import Category, Product
from gateway.stores.models import Store, StoreStatus, SyncStatus
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms.bigcommerce.conftest import (
    CLIENT_SECRET,
    PUBLIC_URL,
    STORE_HASH,
    drain,
    install,
    jobs_of,
    store_of,
)
from tests.gateway.tryon_support import demo_product_image

WIDGET = "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"


def _products(client: TestClient) -> dict[str, Category]:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return {p.external_id: p.category for p in session.scalars(select(Product))}


def _post_hooks(
    client: TestClient, fake: FakeBigCommerce, scope: str, resource_id: int, **kw: Any
) -> list[int]:
    statuses = []
    for url, body, headers in fake.hook_requests(STORE_HASH, scope, resource_id, **kw):
        assert url == f"{PUBLIC_URL}/platforms/bigcommerce/webhooks"
        statuses.append(
            client.post(
                "/platforms/bigcommerce/webhooks", content=body, headers=headers
            ).status_code
        )
    return statuses


def test_a_bigcommerce_store_from_install_to_uninstall(
    app_client: TestClient, fake: FakeBigCommerce, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    eyewear = fake.add_category(STORE_HASH, "Sunglasses")
    image = fake.add_image("aviator.png", data=demo_product_image("glasses-round-black"))
    aviator = fake.add_product(
        STORE_HASH,
        name="Aviator",
        categories=[eyewear],
        images=[image],
        variants=[{"sku": "AV-G", "price": 125, "options": {"Color": "Gold"}}],
    )
    for n in range(3):  # more pages than one (page size 2 below)
        fake.add_product(STORE_HASH, name=f"Gift card {n}")
    worker.ctx.adapter_for = _small_pages(worker)
    sleeps: list[float] = []
    worker.ctx.client._sleep = sleeps.append  # type: ignore[attr-defined]
    worker.ctx.client.max_attempts = 3  # type: ignore[attr-defined]
    fake.inject(
        "/v3/catalog/products",
        status=429,
        headers={"X-Rate-Limit-Time-Reset-Ms": "1500", "X-Rate-Limit-Requests-Left": "0"},
        body={"status": 429, "title": "Too many requests"},
    )

    answer = install(app_client, fake)
    assert answer.status_code == 200, answer.text
    assert "installed" in answer.text
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    token_call = next(r for r in fake.requests if r.path.endswith("/oauth2/token"))
    assert token_call.json()["redirect_uri"] == f"{PUBLIC_URL}/platforms/bigcommerce/auth"
    store = store_of(app_client)
    assert store is not None
    assert store.status is StoreStatus.ACTIVE
    assert store.access_token_encrypted is not None
    assert not any(t in store.access_token_encrypted for t in fake.tokens)  # encrypted at rest

    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        live = session.get(Store, store.id)
        assert live is not None
        mapping.replace_rules(
            session=session, store=live, rules=[("collection", "Sunglasses", "eyewear")]
        )
    statuses = drain(worker)
    assert statuses
    assert all(s is JobStatus.DONE for s in statuses), [
        (j.kind, j.status, j.last_error) for j in jobs_of(app_client)
    ]
    assert sleeps
    assert sleeps[0] == pytest.approx(1.5)

    # Hooks: one per scope, https destination, the store's secret header.
    hooks = list(fake.stores[STORE_HASH].hooks.values())
    assert sorted(h["scope"] for h in hooks) == sorted(HOOK_SCOPES)
    secret = hook_secret(client_secret=CLIENT_SECRET, store_hash=STORE_HASH)
    assert all(h["headers"] == {HOOK_HEADER: secret} for h in hooks)
    # The storefront script: pinned, deferred, in the footer, functional, auto-uninstalled.
    (script,) = fake.stores[STORE_HASH].scripts.values()
    assert script["src"] == f"{PUBLIC_URL}/platforms/bigcommerce/storefront.js?store={STORE_HASH}"
    assert script["integrity_hashes"] == [loader()[1]]
    assert (script["kind"], script["load_method"], script["location"]) == ("src", "defer", "footer")
    assert (script["visibility"], script["consent_category"]) == ("storefront", "functional")
    assert script["auto_uninstall"] is True
    served = app_client.get("/platforms/bigcommerce/storefront.js")
    assert served.content == loader()[0]

    # Only the mapped product was imported; a second install pass changes nothing.
    assert _products(app_client) == {str(aviator): Category.EYEWEAR}
    store = store_of(app_client)
    assert store is not None
    assert store.sync_status is SyncStatus.SUCCEEDED, store.sync_failures
    assert store.sync_counts["seen"] == 4
    hooks_before = set(fake.stores[STORE_HASH].hooks)
    from gateway.platforms.bigcommerce.adapter import BigCommerceAdapter

    adapter = BigCommerceAdapter.from_settings(app_client.app.state.settings)  # type: ignore[attr-defined]
    from gateway.platforms import installs

    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        live = session.get(Store, store.id)
        assert live is not None
        connection = installs.connection_for(
            settings=app_client.app.state.settings,  # type: ignore[attr-defined]
            store=live,
        )
    adapter.ensure_webhooks(
        client=worker.ctx.client,
        connection=connection,
        callback_url=f"{PUBLIC_URL}/platforms/bigcommerce/webhooks",
    )
    assert set(fake.stores[STORE_HASH].hooks) == hooks_before
    assert len(fake.stores[STORE_HASH].scripts) == 1

    # The storefront config hands out the shop's key and where the SDK's manifest is.
    config = app_client.get(f"/platforms/bigcommerce/storefront/config?store={STORE_HASH}")
    assert config.status_code == 200
    body = config.json()
    assert body["enabled"] is True
    assert body["key"].startswith("pk_")
    assert body["manifest"] == f"{PUBLIC_URL}/sdk/v1/manifest.json"
    assert config.headers["access-control-allow-origin"] == "*"
    assert app_client.get("/platforms/bigcommerce/storefront/config?store=nope1").json() == {
        "enabled": False
    }

    # The load page: signed JWT, framed by the control panel only.
    page = app_client.get(
        "/platforms/bigcommerce/load",
        params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
    )
    assert page.status_code == 200
    assert "Sunglasses" in page.text
    assert "succeeded" in page.text
    assert (
        f"https://store-{STORE_HASH}.mybigcommerce.com" in page.headers["content-security-policy"]
    )

    # An order hook: the order and its lines fetched, attributed by the cart id, once.
    published: list[Any] = []
    real = orders.events.emit

    def emit(app: Any, *, merchant_id: Any, events: Any, store: Any = None) -> Any:
        published.extend(events)
        return real(app, merchant_id=merchant_id, events=events, store=store)

    monkeypatch.setattr(orders.events, "emit", emit)
    variant = fake.variant_ids(STORE_HASH, aviator)[0]
    order = fake.add_order(
        STORE_HASH, cart_id="cart-7f9c2b", lines=[(aviator, variant, 1, "125.0000")]
    )
    assert _post_hooks(app_client, fake, "store/order/created", order) == [200]
    assert _post_hooks(app_client, fake, "store/order/created", order) == [200]  # replay
    drain(worker)
    purchases = [e for e in published if e.type == "purchase"]
    assert len({e.event_id for e in purchases}) == 1
    assert purchases[0].properties.cart_token == "cart-7f9c2b"
    assert purchases[0].properties.lines[0].product_id == str(aviator)
    assert purchases[0].properties.lines[0].variant_id == str(variant)

    # A refund arrives as an order update: the purchase is updated.
    fake.update_order(STORE_HASH, order, status_id=4, refunded_amount="125.0000")
    assert _post_hooks(
        app_client, fake, "store/order/updated", order, created_at=int(time.time()) + 1
    ) == [200]
    drain(worker)
    updates = [e for e in published if e.type == "order_updated"]
    assert updates
    assert updates[-1].properties.status == "refunded"

    # Product hooks: deleted at BigCommerce -> deleted here.
    fake.delete_product(STORE_HASH, aviator)
    assert _post_hooks(app_client, fake, "store/product/deleted", aviator) == [200]
    drain(worker)
    assert _products(app_client) == {}

    # Uninstall (the control panel's callback): tokens erased, key revoked, redaction in 48 h.
    gone = app_client.get(
        "/platforms/bigcommerce/uninstall",
        params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
    )
    assert gone.status_code == 200
    store = store_of(app_client)
    assert store is not None
    assert store.status is StoreStatus.UNINSTALLED
    assert store.access_token_encrypted is None
    with session_scope(app_client.app.state.engine) as session:  # type: ignore[attr-defined]
        key = session.get(ApiKey, store.widget_key_id)
        assert key is not None
        assert key.revoked_at is not None
        redact = session.scalar(
            select(PlatformJob).where(PlatformJob.dedupe_key == f"bigcommerce-redact:{store.id}")
        )
        assert redact is not None
        assert redact.status is JobStatus.PENDING
        assert redact.run_after.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=47)
    assert app_client.get(
        f"/platforms/bigcommerce/storefront/config?store={STORE_HASH}"
    ).json() == {"enabled": False}
    refused = app_client.get(
        "/platforms/bigcommerce/load",
        params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
    )
    assert refused.status_code == 404

    # A reinstall before the 48 h cancels the pending redaction.
    assert install(app_client, fake).status_code == 200
    assert not [j for j in jobs_of(app_client) if j.dedupe_key == f"bigcommerce-redact:{store.id}"]


def _small_pages(worker: Worker) -> Any:
    original = worker.ctx.adapter_for

    def adapter_for(platform: Any) -> Any:
        adapter = original(platform)
        if hasattr(adapter, "page_size"):
            adapter.page_size = 2
        return adapter

    return adapter_for
