"""The browser tests' harness answers truthfully: "nothing arrived" only when nothing can have.

``count-events`` and ``order`` used to turn any exception into 0 or ``{}``, so a broken
warehouse read as "not arrived yet" and a browser test waiting for an event failed as a
timeout far from the cause, or a test expecting nothing passed whatever happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError

from analytics.settings import AnalyticsSettings
from tests.sdk_js import harness


def warehouse_file() -> Path:
    url = AnalyticsSettings().sqlalchemy_url
    assert url.startswith("sqlite:///")
    return Path(url.removeprefix("sqlite:///"))


def test_no_warehouse_yet_means_nothing_arrived() -> None:
    assert not warehouse_file().exists()
    assert harness.count_events("open", "some-product") == 0
    assert harness.order("order-1") == {}


def test_a_broken_warehouse_is_an_error_not_zero() -> None:
    path = warehouse_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a SQLite database, " * 1000)
    with pytest.raises(DatabaseError):
        harness.count_events("open", "some-product")
    with pytest.raises(DatabaseError):
        harness.order("order-1")
