"""Where the web pieces find their files. Read from ``TRYON_*`` variables like the rest."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class WebSettings(BaseSettings):
    """Paths of the SDK build; the demo store's state lives in the gateway's data dir."""

    model_config = SettingsConfigDict(env_prefix="TRYON_", extra="ignore")

    sdk_dir: Path = REPO_ROOT / "sdk_js"
    """The SDK package folder: ``package.json`` and the ``dist/`` its build writes."""


@functools.cache
def get_web_settings() -> WebSettings:
    return WebSettings()
