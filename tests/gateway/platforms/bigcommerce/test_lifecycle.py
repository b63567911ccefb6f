"""The uninstall's scheduled redaction runs and erases the store; settings refuse half a
configuration; the outbound client waits for BigCommerce's rate-limit window."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update

from gateway.db.session import session_scope
from gateway.platforms import mapping
from gateway.platforms.http import PlatformClient
from gateway.platforms.models import JobStatus, PlatformJob
from gateway.platforms.worker import Worker
from gateway.products.models import Product
from gateway.settings import GatewaySettings
from gateway.stores.models import Store
from testkit.fakes.bigcommerce import FakeBigCommerce
from tests.gateway.platforms.bigcommerce.conftest import STORE_HASH, drain, install, store_of
from tests.gateway.tryon_support import demo_product_image


def test_the_scheduled_redaction_erases_the_store_when_it_is_due(
    app_client: TestClient, fake: FakeBigCommerce, worker: Worker
) -> None:
    category = fake.add_category(STORE_HASH, "Sunglasses")
    fake.add_product(
        STORE_HASH,
        name="Round frames",
        categories=[category],
        images=[fake.add_image("r.png", data=demo_product_image("glasses-round-black"))],
    )
    assert install(app_client, fake).status_code == 200
    store = store_of(app_client)
    assert store is not None
    engine = app_client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        live = session.get(Store, store.id)
        assert live is not None
        mapping.replace_rules(
            session=session, store=live, rules=[("collection", "Sunglasses", "eyewear")]
        )
    drain(worker)

    def products() -> int:
        with session_scope(engine) as session:
            return int(session.scalar(select(func.count()).select_from(Product)) or 0)

    assert products() == 1
    assert (
        app_client.get(
            "/platforms/bigcommerce/uninstall",
            params={"signed_payload_jwt": fake.signed_payload_jwt(STORE_HASH)},
        ).status_code
        == 200
    )
    drain(worker)  # not due yet: nothing erased
    assert products() == 1
    key = f"bigcommerce-redact:{store.id}"
    with session_scope(engine) as session:  # 48 hours later
        session.execute(
            update(PlatformJob)
            .where(PlatformJob.dedupe_key == key)
            .values(run_after=PlatformJob.created_at)
        )
    assert drain(worker) == [JobStatus.DONE]
    assert products() == 0
    # The merchant was made by this install and had nothing else: it is erased with its store.
    assert store_of(app_client) is None


def test_a_client_id_without_its_secret_is_refused(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    with pytest.raises(ValidationError, match="TRYON_BIGCOMMERCE_CLIENT_SECRET"):
        make_settings(bigcommerce_client_id="abc")


def test_the_client_waits_for_x_rate_limit_time_reset_ms() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "2750"}),
            httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "not-a-number"}),
            httpx.Response(200, json={"data": []}),
        ]
    )
    slept: list[float] = []
    with PlatformClient(
        transport=httpx.MockTransport(lambda _request: next(answers)),
        sleep=slept.append,
        jitter=lambda: 0.0,
        backoff_base_s=0.5,
    ) as client:
        response = client.request(
            "GET", "https://api.bigcommerce.com/stores/abc/v3/catalog/products"
        )
    assert response.status_code == 200
    assert slept[0] == pytest.approx(2.75)
    assert len(slept) == 2  # the unreadable header falls back to the client's own backoff
