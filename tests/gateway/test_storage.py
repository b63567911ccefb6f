"""Blob storage: one contract, run against both adapters (files, and S3 on a loopback server).

Then the S3 mode of the gateway: readiness, outages (refused and silent endpoints) answered
with 503 problem+json and recovered from without a restart, and the deletion paths.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.assets.models import BrandModelPhoto, ModelPhotoKind
from gateway.db.session import session_scope
from gateway.errors import DependencyUnavailable
from gateway.ml import asset_keys
from gateway.settings import GatewaySettings
from gateway.storage import LocalStorage, S3Storage, Storage, parse_s3_url
from tests.gateway.conftest import (
    Bucket,
    assert_problem,
    auth,
    merchant_in,
    running,
    s3_settings,
    widget,
)
from tests.gateway.tryon_support import demo_product_image, eyewear_shop, selfie_jpeg
from tests.support import s3
from tests.support.proxy import TcpProxy

MakeStorage = Callable[[str], Storage]


@pytest.fixture(params=["local", "s3"])
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStorage]:
    """Storages in separate namespaces: a root directory each, or a prefix each in one bucket."""
    if request.param == "local":
        yield lambda namespace: LocalStorage(tmp_path / namespace)
        return
    bucket: Bucket = request.getfixturevalue("s3_bucket")
    clients = []

    def build(namespace: str) -> Storage:
        client = s3.client(bucket.endpoint)
        clients.append(client)
        return S3Storage(client, bucket.name, f"{namespace}/")

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def storage(make_storage: MakeStorage) -> Storage:
    return make_storage("main")


def test_round_trip(storage: Storage) -> None:
    storage.put("m1/assets/abc.png", b"\x89PNG cut-out")
    assert storage.get("m1/assets/abc.png") == b"\x89PNG cut-out"
    assert storage.exists("m1/assets/abc.png")


def test_empty_object(storage: Storage) -> None:
    storage.put("m1/assets/empty.json", b"")
    assert storage.get("m1/assets/empty.json") == b""
    assert storage.exists("m1/assets/empty.json")


def test_overwrite_replaces(storage: Storage) -> None:
    storage.put("m1/models/x.jpg", b"first version, longer")
    storage.put("m1/models/x.jpg", b"second")
    assert storage.get("m1/models/x.jpg") == b"second"


def test_missing_key(storage: Storage) -> None:
    assert storage.get("m1/assets/never.png") is None
    assert storage.exists("m1/assets/never.png") is False


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put("m1/assets/gone.png", b"x")
    storage.put("m1/assets/kept.png", b"y")
    storage.delete("m1/assets/gone.png")
    storage.delete("m1/assets/gone.png")
    storage.delete("m1/assets/never-there.png")
    assert storage.get("m1/assets/gone.png") is None
    assert not storage.exists("m1/assets/gone.png")
    assert storage.get("m1/assets/kept.png") == b"y"


def test_large_object(storage: Storage) -> None:
    data = os.urandom(12 * 1024 * 1024 + 17)  # over the 10 MB upload cap, not a round size
    storage.put("m1/assets/large.png", data)
    assert storage.get("m1/assets/large.png") == data


HOSTILE = [
    "",
    "/abs/olute",
    "../escape",
    "m1/../../etc/passwd",
    "m1/./x",
    "m1//x",
    "m1/x/",
    ".hidden",
    "m1\\x",
    "m1/x\x00.png",
    "m1/x y.png",
    "m1/%2e%2e/x",
    "m1/é.png",
    "a/" * 8 + "x",
    "m1/" + "x" * 129,
]


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_are_refused(make_storage: MakeStorage, key: str) -> None:
    storage = make_storage("main")
    for call in (
        lambda: storage.put(key, b"x"),
        lambda: storage.get(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
    ):
        with pytest.raises(ValueError, match="not a storage key"):
            call()


def test_list_names_keys_with_their_age_and_size(storage: Storage) -> None:
    before = datetime.now(UTC)
    storage.put("m1/assets/a.png", b"aaaa")
    storage.put("m1/assets/ab.json", b"")
    storage.put("m1/models/c.jpg", b"c" * 300)
    storage.put("m2/assets/a.png", b"x")
    blobs = {b.key: b for b in storage.list()}
    assert set(blobs) == {
        "m1/assets/a.png",
        "m1/assets/ab.json",
        "m1/models/c.jpg",
        "m2/assets/a.png",
    }
    assert [blobs[k].size for k in sorted(blobs)] == [4, 0, 300, 1]
    for blob in blobs.values():
        assert blob.modified.utcoffset() == timedelta(0)
        # S3 keeps whole seconds; the test clock and the server's are the same machine's.
        assert before - timedelta(seconds=2) <= blob.modified <= datetime.now(UTC)
    assert {b.key for b in storage.list("m1/")} == {
        "m1/assets/a.png", "m1/assets/ab.json", "m1/models/c.jpg"
    }  # fmt: skip
    assert {b.key for b in storage.list("m1/assets/a")} == {"m1/assets/a.png", "m1/assets/ab.json"}
    assert {b.key for b in storage.list("m1/assets/a.png")} == {"m1/assets/a.png"}
    assert list(storage.list("m3/")) == []
    storage.delete("m1/assets/a.png")
    assert "m1/assets/a.png" not in {b.key for b in storage.list()}


def test_list_of_an_empty_storage(storage: Storage) -> None:
    assert list(storage.list()) == []


@pytest.mark.parametrize("prefix", ["/", "../", "m1//", "/abs/", "m1/../x", "m1/x y", ".tmp-"])
def test_hostile_list_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    with pytest.raises(ValueError, match="not a storage key prefix"):
        list(storage.list(prefix))


def test_namespaces_are_isolated(make_storage: MakeStorage) -> None:
    a, b = make_storage("tenant-a"), make_storage("tenant-b")
    a.put("m1/assets/same.png", b"from a")
    assert b.get("m1/assets/same.png") is None
    assert not b.exists("m1/assets/same.png")
    b.put("m1/assets/same.png", b"from b")
    b.put("m1/assets/only-b.png", b"from b")
    assert {x.key for x in a.list()} == {"m1/assets/same.png"}
    b.delete("m1/assets/same.png")
    assert a.get("m1/assets/same.png") == b"from a"


# --- local specifics ------------------------------------------------------------------------


def test_local_list_leaves_out_temp_files_links_and_odd_names(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "blobs")
    storage.put("m1/assets/a.png", b"a")
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not ours")
    folder = tmp_path / "blobs" / "m1" / "assets"
    (folder / "link.png").symlink_to(outside)
    (tmp_path / "blobs" / "m1" / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    (folder / "x y.png").write_bytes(b"odd")
    (folder / ".tmp-abc123_x").write_bytes(b"half")
    assert [b.key for b in storage.list()] == ["m1/assets/a.png"]
    assert [(b.key, b.size) for b in storage.temp_files()] == [("m1/assets/.tmp-abc123_x", 4)]
    for name in ("m1/assets/a.png", "m1/assets/link.png", "../outside.png", "m1/../.tmp-x",
                 "m1/assets/.tmp-a/b", "/tmp/.tmp-x", ".tmp-"):  # fmt: skip
        with pytest.raises(ValueError, match="not a temporary file"):
            storage.delete_temp(name)
    storage.delete_temp("m1/assets/.tmp-abc123_x")
    assert list(storage.temp_files()) == []
    assert outside.read_bytes() == b"not ours"


def test_local_list_of_a_missing_root(tmp_path: Path) -> None:
    assert list(LocalStorage(tmp_path / "never").list()) == []


# --- S3 specifics ---------------------------------------------------------------------------


def test_objects_land_under_the_prefix(s3_bucket: Bucket) -> None:
    storage = S3Storage(s3_bucket.client, s3_bucket.name, "deep/pre/")
    storage.put("m1/assets/a.png", b"a")
    assert s3_bucket.keys() == {"deep/pre/m1/assets/a.png"}


def test_server_side_encryption_is_asked_for(s3_bucket: Bucket) -> None:
    plain = S3Storage(s3_bucket.client, s3_bucket.name)
    sealed = S3Storage(s3_bucket.client, s3_bucket.name, sse="AES256")
    plain.put("m1/plain.png", b"p")
    sealed.put("m1/sealed.png", b"s")
    head = s3_bucket.client.head_object
    assert "ServerSideEncryption" not in head(Bucket=s3_bucket.name, Key="m1/plain.png")
    assert head(Bucket=s3_bucket.name, Key="m1/sealed.png")["ServerSideEncryption"] == "AES256"


def test_s3_list_strips_the_prefix_and_leaves_out_odd_keys(s3_bucket: Bucket) -> None:
    storage = S3Storage(s3_bucket.client, s3_bucket.name, "gw/")
    storage.put("m1/assets/a.png", b"a")
    for raw in ("gw/../x", "gw//m1/a.png", "gw/m1/x y.png", "gw/.hidden", "gwx/m1/a.png",
                "other/m1/assets/a.png", "m1/assets/a.png"):  # fmt: skip
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=raw, Body=b"not ours")
    assert [b.key for b in storage.list()] == ["m1/assets/a.png"]


def test_s3_list_pages_through_everything(s3_bucket: Bucket) -> None:
    storage = S3Storage(s3_bucket.client, s3_bucket.name, "gw/")
    keys = {f"m1/assets/{i:04}.png" for i in range(1005)}  # over one page of 1000
    for key in keys:
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="gw/" + key, Body=b"")
    assert {b.key for b in storage.list()} == keys


def test_a_missing_bucket_is_unavailable_not_missing(s3_bucket: Bucket) -> None:
    """Only a missing *key* reads as None: a wrong bucket is a deployment fault (503)."""
    storage = S3Storage(s3_bucket.client, "no-such-bucket-here")
    with pytest.raises(DependencyUnavailable):
        storage.get("m1/assets/a.png")
    with pytest.raises(DependencyUnavailable):
        list(storage.list())
    with pytest.raises(DependencyUnavailable):
        storage.check()


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://assets", "assets", ""),
        ("s3://assets/", "assets", ""),
        ("s3://my.assets-1/tryon", "my.assets-1", "tryon/"),
        ("s3://assets/a/b/", "assets", "a/b/"),
    ],
)
def test_storage_urls(url: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(url) == (bucket, prefix)


@pytest.mark.parametrize(
    "url",
    ["assets", "file:///var/blobs", "s3:/assets", "s3://", "s3://Assets", "s3://a_b", "s3://ab",
     "s3://assets/../x", "s3://assets/a//b", "s3://a..b"],
)  # fmt: skip
def test_bad_storage_urls_are_refused_at_start(
    make_settings: Callable[..., GatewaySettings], url: str
) -> None:
    with pytest.raises(ValueError, match="storage_url"):
        make_settings(storage_url=url)


def test_kms_key_needs_kms_encryption(make_settings: Callable[..., GatewaySettings]) -> None:
    with pytest.raises(ValueError, match="TRYON_S3_SSE"):
        make_settings(s3_sse_kms_key_id="alias/tryon")
    assert make_settings(s3_sse="aws:kms", s3_sse_kms_key_id="alias/tryon").s3_sse == "aws:kms"


# --- the gateway in S3 mode -----------------------------------------------------------------


@pytest.fixture
def s3_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    host, port = s3_endpoint.removeprefix("http://").split(":")
    proxy = TcpProxy(host, int(port))
    proxy.start()
    yield proxy
    proxy.stop()


def test_readyz_checks_the_bucket(
    make_settings: Callable[..., GatewaySettings], sqlite_settings: GatewaySettings,
    s3_bucket: Bucket,
) -> None:  # fmt: skip
    settings = make_settings(database_url=sqlite_settings.database_url, **s3_settings(s3_bucket))
    with running(settings) as client:
        body = client.get("/readyz").json()
        assert body["checks"]["storage"]["ok"] is True
        s3_bucket.client.delete_bucket(Bucket=s3_bucket.name)
        ready = client.get("/readyz")
        assert_problem(ready, 503, "not-ready")
        assert ready.json()["checks"]["storage"]["ok"] is False


def test_local_storage_has_no_probe(embedded: TestClient) -> None:
    assert "storage" not in embedded.get("/readyz").json()["checks"]


def test_storage_outage_is_503_and_recovers(
    make_settings: Callable[..., GatewaySettings],
    sqlite_settings: GatewaySettings,
    s3_bucket: Bucket,
    s3_proxy: TcpProxy,
) -> None:
    endpoint = f"http://127.0.0.1:{s3_proxy.port}"
    settings = make_settings(
        database_url=sqlite_settings.database_url,
        readiness_timeout_s=2.0,
        **s3_settings(s3_bucket, endpoint, s3_connect_timeout_s=0.5, s3_max_attempts=2),
    )
    with running(settings) as client:
        shop = eyewear_shop(client)  # the asset is written to the bucket, not read back yet
        sk, pk = shop.merchant.secret_key, shop.merchant.publishable_key
        image = f"/v1/assets/{shop.asset['id']}/image"

        def tryon() -> Any:
            return client.post(
                "/v1/widget/tryon",
                params={"product": "round-black"},
                content=selfie_jpeg(),
                headers={**widget(pk), "content-type": "image/jpeg"},
            )

        s3_proxy.stop()
        body = assert_problem(tryon(), 503, "dependency-unavailable")
        assert body["dependency"] == "storage"
        response = client.get(image, headers=auth(sk))
        assert_problem(response, 503, "dependency-unavailable")
        assert response.headers["retry-after"]
        # A delete that cannot reach storage keeps the row, so that a retry finishes it.
        gone = client.delete(f"/v1/assets/{shop.asset['id']}", headers=auth(sk))
        assert_problem(gone, 503, "dependency-unavailable")
        ready = client.get("/readyz")
        assert_problem(ready, 503, "not-ready")
        assert ready.json()["checks"]["storage"]["ok"] is False
        assert ready.json()["checks"]["database"]["ok"] is True
        # What needs no blob keeps working.
        assert client.get("/v1/assets", headers=auth(sk)).status_code == 200

        s3_proxy.start()
        assert client.get("/readyz").status_code == 200
        assert client.get(image, headers=auth(sk)).content[:4] == b"\x89PNG"
        assert tryon().status_code == 200


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung load balancer, say)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.timeout(60)  # botocore's defaults (60 s reads, several tries) would hang past it
def test_a_silent_store_times_out_into_503(
    make_settings: Callable[..., GatewaySettings],
    sqlite_settings: GatewaySettings,
    s3_bucket: Bucket,
    silent_endpoint: str,
) -> None:
    settings = make_settings(
        database_url=sqlite_settings.database_url,
        readiness_timeout_s=1.0,
        **s3_settings(s3_bucket, silent_endpoint, s3_read_timeout_s=0.3, s3_max_attempts=2),
    )
    with running(settings) as client:
        m = merchant_in(client)
        with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
            row = BrandModelPhoto(
                merchant_id=m.merchant.id,
                name="Alex",
                kind=ModelPhotoKind.FACE,
                content_hash="0" * 64,
                storage_key=f"{m.merchant.id}/models/{'0' * 64}.jpg",
            )
            session.add(row)
            session.flush()
            model_id = row.id
        picture = client.get(
            f"/v1/widget/models/{model_id}/image", headers=widget(m.publishable_key)
        )
        body = assert_problem(picture, 503, "dependency-unavailable")
        assert body["dependency"] == "storage"
        ready = client.get("/readyz")
        assert_problem(ready, 503, "not-ready")
        assert ready.json()["checks"]["storage"]["ok"] is False


# --- deletion paths -------------------------------------------------------------------------


def _blobs(client: TestClient) -> set[str]:
    """Every blob the app's storage holds, whichever adapter it is."""
    storage = client.app.state.runtime.storage  # type: ignore[attr-defined]
    if isinstance(storage, S3Storage):
        return {k.removeprefix(storage.prefix) for k in
                s3.object_keys(storage.client, storage.bucket, storage.prefix)}  # fmt: skip
    assert isinstance(storage, LocalStorage)
    if not storage.root.exists():
        return set()
    return {
        p.relative_to(storage.root).as_posix()
        for p in storage.root.rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-")
    }


def test_deleting_assets_models_and_products_deletes_their_blobs(
    embedded_storage: TestClient,
) -> None:
    client = embedded_storage
    shop = eyewear_shop(client)
    sk, merchant = shop.merchant.secret_key, str(shop.merchant.merchant.id)
    model = client.post(
        "/v1/models",
        params={"name": "Alex"},
        content=selfie_jpeg(),
        headers={**auth(sk), "content-type": "image/jpeg"},
    )
    assert model.status_code == 201, model.text
    first = set(asset_keys(merchant, shop.asset["content_hash"]))
    photo = f"{merchant}/models/{model.json()['content_hash']}.jpg"
    assert _blobs(client) == first | {photo}

    assert client.delete(f"/v1/assets/{shop.asset['id']}", headers=auth(sk)).status_code == 204
    assert _blobs(client) == {photo}
    assert client.delete(f"/v1/models/{model.json()['id']}", headers=auth(sk)).status_code == 204
    assert _blobs(client) == set()

    # A product's assets go with it.
    again = client.post(
        f"/v1/products/{shop.product['id']}/assets",
        params={"width_mm": 132},
        content=demo_product_image(),
        headers={**auth(sk), "content-type": "image/png"},
    )
    assert again.status_code == 201, again.text
    assert _blobs(client) == set(asset_keys(merchant, again.json()["content_hash"]))
    assert client.delete(f"/v1/products/{shop.product['id']}", headers=auth(sk)).status_code == 204
    assert _blobs(client) == set()
    assert client.delete(f"/v1/products/{shop.product['id']}", headers=auth(sk)).status_code == 404
