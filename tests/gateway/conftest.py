from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gateway.db import migrate
from gateway.db.session import session_scope
from gateway.keys import service as merchants
from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.support import s3
from tests.support.proxy import TcpProxy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(make_settings: Callable[..., GatewaySettings], db_url: str) -> GatewaySettings:
    migrate.upgrade(db_url)
    return make_settings(database_url=db_url)


@pytest.fixture
def client(settings: GatewaySettings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.fixture
def new_merchant(client: TestClient) -> Callable[..., merchants.NewMerchant]:
    """Create a merchant (with keys) in the client's database."""

    def create(name: str = "Merchant", **kwargs: Any) -> merchants.NewMerchant:
        with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
            return merchants.create_merchant(session=session, name=name, **kwargs)

    return create


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


ORIGIN = "https://shop.example"


@pytest.fixture
def sqlite_settings(
    make_settings: Callable[..., GatewaySettings], tmp_path: Any
) -> GatewaySettings:
    """Embedded-mode settings (SQLite, in-process limits) for tests where the DB is incidental."""
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    migrate.upgrade(url)
    return make_settings(database_url=url)


@contextmanager
def running(settings: GatewaySettings) -> Iterator[TestClient]:
    """A test client on a fresh app for ``settings``."""
    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.state.engine.dispose()


@pytest.fixture
def embedded(sqlite_settings: GatewaySettings) -> Iterator[TestClient]:
    with running(sqlite_settings) as test_client:
        yield test_client


def merchant_in(client: TestClient, name: str = "Merchant", **kwargs: Any) -> merchants.NewMerchant:
    kwargs.setdefault("allowed_origins", [ORIGIN])
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return merchants.create_merchant(session=session, name=name, **kwargs)


def widget(key: str, origin: str = ORIGIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Origin": origin}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"]
    return body


# --- object storage (S3 API on loopback) ----------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with s3.moto_server() as endpoint:
        yield endpoint


@dataclass
class Bucket:
    endpoint: str
    name: str
    client: S3Client

    def keys(self, prefix: str = "") -> set[str]:
        return s3.object_keys(self.client, self.name, prefix)


@pytest.fixture
def s3_bucket(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Bucket]:
    """A fresh bucket of this test's own, and test credentials in the environment."""
    s3.use_test_credentials(monkeypatch, str(tmp_path))
    client = s3.client(s3_endpoint)
    yield Bucket(s3_endpoint, s3.new_bucket(client), client)
    client.close()


def s3_settings(bucket: Bucket, endpoint: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Settings fields for the S3 mode on ``bucket`` (reached at ``endpoint`` if given)."""
    return {
        "storage_url": f"s3://{bucket.name}/gw",
        "s3_endpoint_url": endpoint or bucket.endpoint,
        "s3_region": s3.REGION,
        **overrides,
    }


@pytest.fixture(params=["local", "s3"])
def embedded_storage(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., GatewaySettings],
    sqlite_settings: GatewaySettings,
) -> Iterator[TestClient]:
    """The embedded app, once with blobs in files under the data dir, once in an S3 bucket."""
    fields: dict[str, Any] = {"database_url": sqlite_settings.database_url}
    if request.param == "s3":
        fields |= s3_settings(request.getfixturevalue("s3_bucket"))
    with running(make_settings(**fields)) as test_client:
        yield test_client


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[TcpProxy]:
    """A cuttable TCP path to the test Redis (outage tests)."""
    target = make_url(redis_url.replace("redis://", "postgresql://"))  # just to parse host:port
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 6379)
    proxy.start()
    yield proxy
    proxy.stop()
