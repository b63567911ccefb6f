"""The storefront loader: the one script the Scripts API puts on a BigCommerce storefront.

``static/storefront.js`` is registered at install (``BigCommerceAdapter.ensure_script``) as
``{public_url}/platforms/bigcommerce/storefront.js?store={hash}`` with its SHA-384 integrity
hash. On a page it asks ``storefront/config?store={hash}`` for the shop's publishable key and
where the SDK's manifest is, and loads the SDK's exact-version URL with the manifest's
integrity hash; a store that is not active, or whose merchant turned the widget off, gets
``{"enabled": false}`` and nothing is loaded.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gateway.settings import GatewaySettings

STATIC = Path(__file__).parent / "static"
LOADER = "storefront.js"


@dataclass(frozen=True)
class ScriptSpec:
    """The storefront loader as the Scripts API registers it (``?store={hash}`` is added)."""

    src: str
    integrity: str


def integrity(body: bytes) -> str:
    """The Subresource Integrity value of ``body`` (SHA-384, as the SDK's own manifest)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@lru_cache(maxsize=4)
def _loader(mtime_ns: int) -> tuple[bytes, str]:
    body = (STATIC / LOADER).read_bytes()
    return body, integrity(body)


def loader() -> tuple[bytes, str]:
    """The loader's bytes and SRI hash (re-read when the file changes)."""
    return _loader((STATIC / LOADER).stat().st_mtime_ns)


def script_spec(settings: GatewaySettings) -> ScriptSpec:
    """The loader's URL (without the store) and integrity hash, for the Scripts API."""
    return ScriptSpec(
        src=f"{settings.public_url.rstrip('/')}/platforms/bigcommerce/{LOADER}",
        integrity=loader()[1],
    )
