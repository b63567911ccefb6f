"""Fixtures for the ML tests: settings, the built models and a shared Perceiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ml_service.errors import ModelUnavailable
from ml_service.models import store
from ml_service.perception import Perceiver
from ml_service.settings import MLSettings


@pytest.fixture(scope="session")
def ml_settings() -> MLSettings:
    return MLSettings()


@pytest.fixture(scope="session")
def built_models(ml_settings: MLSettings) -> store.BuiltModels:
    """The verified model build; `make test` builds it first (`make models`)."""
    try:
        return store.load(store.models_dir(ml_settings))
    except ModelUnavailable as exc:
        pytest.fail(f"{exc} — `make test` runs `make models` first")


@pytest.fixture(scope="session")
def perceiver(ml_settings: MLSettings, built_models: store.BuiltModels) -> Iterator[Perceiver]:
    with Perceiver.from_settings(ml_settings) as shared:
        yield shared
