"""WooCommerce's own Python REST client (``woocommerce`` on PyPI, by Automattic) as a peer:
the requests it makes for the catalog are the ones our adapter makes (path under
``/wp-json/wc/v3/``, HTTP Basic ``consumer_key:consumer_secret`` over https, ``per_page`` /
``page``), and the fake WooCommerce answers it as it answers us."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import woocommerce.api

from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import Connection
from gateway.platforms.woocommerce.adapter import WooCommerceAdapter
from testkit.fakes.woocommerce import FakeWooCommerce
from tests.conftest import TEST_SECRET
from tests.gateway.platforms.woocommerce.conftest import STORE_URL


def test_the_official_client_and_our_adapter_send_the_same_catalog_request(
    fake: FakeWooCommerce, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Round frames", "Aviator", "Cat-eye"):
        fake.add_product(STORE_URL, name=name)
    _, ck, cs = fake.add_keys(STORE_URL)
    sent: list[tuple[str, requests.PreparedRequest]] = []

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        # What the client would send to https://shop.example, sent to the fake instead.
        prepared = requests.Request(
            method,
            url,
            auth=kwargs.get("auth"),
            params=kwargs.get("params"),
            headers=kwargs.get("headers"),
        ).prepare()
        sent.append((str(prepared.url), prepared))
        prepared.url = str(prepared.url).replace("https://", f"{fake.base_url}/", 1)
        with requests.Session() as session:
            return session.send(prepared, timeout=5)

    monkeypatch.setattr(woocommerce.api, "request", request)
    client = woocommerce.api.API(
        url=STORE_URL, consumer_key=ck, consumer_secret=cs, version="wc/v3"
    )
    answer = client.get("products", params={"per_page": 2, "page": 1})
    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()] == ["Round frames", "Aviator"]
    assert answer.headers["X-WP-TotalPages"] == "2"
    ((their_url, theirs),) = sent

    fake.requests.clear()
    adapter = WooCommerceAdapter(secret_key=TEST_SECRET, page_size=2)
    with PlatformClient(base_url=fake.base_url, max_attempts=1) as platform:
        page = adapter.fetch_catalog_page(
            client=platform,
            connection=Connection(shop=STORE_URL, access_token=ck, secret=cs),
            cursor=None,
        )
    assert [p.title for p in page.products] == ["Round frames", "Aviator"]
    assert page.next_cursor == "2"
    ours = next(r for r in fake.requests if r.path.endswith("/products"))
    assert their_url.split("?")[0] == f"{STORE_URL}/wp-json/wc/v3/products"
    assert ours.path == "/shop.example/wp-json/wc/v3/products"
    assert ours.headers["authorization"] == theirs.headers["Authorization"]
    assert {k: ours.query[k] for k in ("per_page", "page")} == {"per_page": "2", "page": "1"}
