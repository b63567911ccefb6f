"""A real gateway (``tryon serve``, embedded mode) in a subprocess for the plugin's browser
test: a fresh data dir, an ephemeral port, a merchant whose publishable key accepts the test
store's origin, and a Shopify-shaped product (numeric ids) with real try-on assets."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway.web.demo import catalog
from ml_service import ports
from tests.plugins.shopify.liquid_shopify import REPO

BIN = Path(sys.executable).parent


@dataclass
class Gateway:
    base_url: str
    env: dict[str, str]
    merchant_id: str
    publishable_key: str
    secret_key: str
    log: Path
    products: dict[str, str] = field(default_factory=dict)
    """Shopify product id -> our product uuid."""

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.secret_key}"},
            timeout=120,
        )

    def add_product(
        self, *, external_id: str, title: str, variants: list[tuple[str, str, str]]
    ) -> str:
        """A product with colour variants ``(variant id, colour, demo asset)`` and a try-on
        asset per variant, made through the merchant API as a catalog sync would."""
        widths = {
            name: entry.get("width_mm")
            for name, entry in json.loads(
                (catalog.DEMO_ASSETS_DIR / "manifest.json").read_text()
            ).items()
        }
        with self.client() as api:
            created = api.post(
                "/v1/products",
                json={
                    "external_id": external_id,
                    "title": title,
                    "category": "eyewear",
                    "variants": [
                        {"external_id": vid, "title": colour, "color": colour}
                        for vid, colour, _ in variants
                    ],
                },
            )
            assert created.status_code == 201, created.text
            product_id = created.json()["id"]
            for vid, _, asset in variants:
                path = catalog.asset_path(asset)
                assert path is not None, asset
                params = {"variant": vid}
                if widths.get(asset):
                    params["width_mm"] = str(widths[asset])
                made = api.post(
                    f"/v1/products/{product_id}/assets",
                    params=params,
                    content=path.read_bytes(),
                    headers={"Content-Type": "image/png"},
                )
                assert made.status_code == 201, made.text
        self.products[external_id] = product_id
        return str(product_id)


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "tryon"), *args], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"tryon {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


@contextmanager
def running_gateway(
    work: Path, *, origins: list[str], extra_env: dict[str, str] | None = None
) -> Iterator[Gateway]:
    """Start the gateway (``extra_env``: more ``TRYON_*`` settings); stop it (and wait for
    it) when the block ends."""
    keep = {"TRYON_CACHE_DIR", "TRYON_MODELS_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_") or k in keep}
    env.update(
        TRYON_ENV="test",
        TRYON_SECRET_KEY=secrets.token_urlsafe(36),
        TRYON_DATA_DIR=str(work / "var"),
        TRYON_HOST="127.0.0.1",
        TRYON_LOG_JSON="true",
        TRYON_LOG_LEVEL="WARNING",
        TRYON_SDK_DIR=str(REPO / "sdk_js"),
    )
    env.update(extra_env or {})
    _run(env, "db", "upgrade")
    argv = ["merchant", "create", "--name", "Lunettes & Co", "--json"]
    for origin in origins:
        argv += ["--origin", origin]
    merchant = json.loads(_run(env, *argv))
    with ports.start(
        [str(BIN / "tryon"), "serve", "--no-migrate"],
        log_path=work / "gateway.log",
        env=env,
        ready_path="/readyz",
        timeout_s=120,
    ) as server:
        yield Gateway(
            base_url=server.url,
            env=env,
            merchant_id=merchant["merchant_id"],
            publishable_key=merchant["publishable_key"],
            secret_key=merchant["secret_key"],
            log=server.log_path,
        )
