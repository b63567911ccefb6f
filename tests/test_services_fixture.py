"""A missing service skips on a laptop and fails under CI=true."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests.support import services


def test_missing_service_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CI", False)
    with pytest.raises(Skipped):
        services.require("PostgreSQL", "refused")


def test_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CI", True)
    with pytest.raises(Failed, match="CI=true"):
        services.require("PostgreSQL", "refused")


def test_present_service_passes() -> None:
    services.require("PostgreSQL", None)


def test_closed_port_is_reported() -> None:
    assert services.tcp_problem("127.0.0.1", 1) is not None
