from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.platforms.worker import Worker
from gateway.settings import GatewaySettings
from tests.gateway.platforms.store_support import job_worker
from tests.gateway.platforms.support import Harness, harness


@pytest.fixture
def h(settings: GatewaySettings) -> Iterator[Harness]:
    """The fake platform on SQLite and on PostgreSQL."""
    with harness(settings) as running:
        yield running


@pytest.fixture
def hs(sqlite_settings: GatewaySettings) -> Iterator[Harness]:
    """The fake platform on SQLite only (tests where the database is incidental)."""
    with harness(sqlite_settings) as running:
        yield running


@pytest.fixture
def worker(app_client: TestClient) -> Iterator[Worker]:
    """A job worker on the app of the platform package's ``app_client`` (the test runs it)."""
    with job_worker(app_client) as running:
        yield running
