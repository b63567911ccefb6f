"""The gateway with ``TRYON_ML_URL``: the same try-on through the ML service over HTTP, and an
ML outage answered with 503 and recovered from without restarting the gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.db import migrate
from gateway.settings import GatewaySettings
from ml_service.engine import LocalEngine
from tests.gateway.conftest import ORIGIN, assert_problem, running, widget
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg
from tests.support.ml_server import ml_server
from tests.support.proxy import TcpProxy


@pytest.fixture(scope="module")
def ml_url() -> Iterator[str]:
    with ml_server(LocalEngine()) as url:
        yield url


@pytest.fixture
def proxy(ml_url: str) -> Iterator[TcpProxy]:
    port = int(ml_url.rsplit(":", 1)[1])
    tcp = TcpProxy("127.0.0.1", port)
    tcp.start()
    yield tcp
    tcp.stop()


@pytest.fixture
def remote(
    make_settings: Callable[..., GatewaySettings], proxy: TcpProxy, tmp_path: Any
) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/remote.db"
    migrate.upgrade(url)
    settings = make_settings(
        database_url=url, ml_url=f"http://127.0.0.1:{proxy.port}", ml_timeout_s=10
    )
    with running(settings) as client:
        yield client


def photo(client: TestClient, pk: str) -> Any:
    return client.post(
        "/v1/widget/tryon",
        params={"product": "round-black"},
        content=selfie_jpeg(),
        headers={**widget(pk), "content-type": "image/jpeg"},
    )


def test_photo_and_live_tryon_through_the_ml_service(remote: TestClient) -> None:
    shop = eyewear_shop(remote)  # the asset is prepared by the ML service too
    response = photo(remote, shop.merchant.publishable_key)
    assert response.status_code == 200, response.text
    geometry = json.loads(response.headers["tryon-geometry"])
    assert len(geometry["faces"]) == 1
    assert geometry["size_recommendation"] is not None
    assert remote.get("/readyz").json()["checks"]["ml"]["ok"] is True
    key = shop.merchant.publishable_key
    with remote.websocket_connect(
        f"/v1/widget/live?key={key}&product=round-black", headers={"origin": ORIGIN}
    ) as ws:
        ws.receive_json()
        ws.send_bytes(selfie_jpeg())
        assert ws.receive_bytes()[:3] == b"\xff\xd8\xff"


def test_ml_outage_is_503_and_recovers(remote: TestClient, proxy: TcpProxy) -> None:
    shop = eyewear_shop(remote)
    pk = shop.merchant.publishable_key
    assert photo(remote, pk).status_code == 200
    proxy.stop()
    started = time.monotonic()
    body = assert_problem(photo(remote, pk), 503, "dependency-unavailable")
    assert time.monotonic() - started < 10
    assert body["dependency"] == "ml"
    assert remote.get("/readyz").status_code == 503
    proxy.start()
    assert photo(remote, pk).status_code == 200
    assert remote.get("/readyz").status_code == 200
    # Only the two try-ons that worked were counted.
    usage = remote.get(
        "/v1/usage", headers={"Authorization": f"Bearer {shop.merchant.secret_key}"}
    ).json()
    assert usage["totals"]["tryon_photo"] == 2
