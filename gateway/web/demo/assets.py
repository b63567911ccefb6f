"""Try-on assets and brand models for the demo store, made through the merchant API itself.

The seed calls ``POST /v1/products/{id}/assets`` and ``POST /v1/models`` on an in-process
instance of the gateway, with a secret key minted for the run and revoked after it: the demo
gets exactly what a merchant's upload gets (decoding caps, cut-out, anchors, storage, usage),
with no second copy of that logic to drift.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import make_engine, session_scope
from gateway.keys import service as keys
from gateway.keys.models import KeyKind
from gateway.products.models import Product
from gateway.settings import GatewaySettings
from gateway.web.demo import catalog

MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".glb": "model/gltf-binary",
}


class SeedAssetError(Exception):
    """The API refused a demo image; carries its problem detail."""


class ModelPhotosRefused(SeedAssetError):
    """At least one brand model photo was refused, so none was kept (all or nothing);
    ``lines`` says what happened to each photo."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


@dataclass(slots=True)
class AssetReport:
    prepared: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    models_added: list[str] = field(default_factory=list)
    models_existing: list[str] = field(default_factory=list)
    model_lines: list[str] = field(default_factory=list)
    """One line per model photo: what became of it, for a person."""


def _models() -> dict[str, Path]:
    """The demo products that are 3D models (frames, hats): their ``.glb`` files."""
    manifest = json.loads((catalog.DEMO_ASSETS_DIR / "manifest.json").read_text())
    return {
        name: catalog.DEMO_ASSETS_DIR / entry["model"]
        for name, entry in manifest.items()
        if entry.get("model")
    }


def _widths() -> dict[str, float | None]:
    """Real widths from the demo asset set's manifest (frame width, earring drop)."""
    manifest = json.loads((catalog.DEMO_ASSETS_DIR / "manifest.json").read_text())
    return {name: entry.get("width_mm") for name, entry in manifest.items()}


def _uploads(product: catalog.DemoProduct) -> list[tuple[str, str | None]]:
    """(asset, variant external id or None): one asset for the whole product when every
    variant looks the same (sizes of one t-shirt), else one per variant (colours)."""
    assets = {v.asset for v in product.variants}
    if len(assets) == 1:
        return [(product.variants[0].asset, None)]
    return [(v.asset, v.external_id) for v in product.variants]


def _send(client: TestClient, url: str, path: Path, params: dict[str, str]) -> Any:
    return client.post(
        url,
        params=params,
        content=path.read_bytes(),
        headers={"Content-Type": MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")},
    )


def _detail(response: Any) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("title"))
    except ValueError:
        return str(response.text[:200])


def _post(client: TestClient, url: str, path: Path, params: dict[str, str]) -> bool:
    """True when created, False when it existed already; ``SeedAssetError`` otherwise."""
    response = _send(client, url, path, params)
    if response.status_code == 201:
        return True
    if response.status_code == 409:
        return False
    raise SeedAssetError(f"{path.name}: {response.status_code} {_detail(response)}")


def model_name(photo: Path) -> str:
    """The name shoppers see for a model photo: its file name without the extension."""
    return photo.stem.replace("-", " ").replace("_", " ").strip()[:200] or "Model"


def _add_models(client: TestClient, photos: list[Path], report: AssetReport) -> None:
    """Add every photo or none: when one is refused, the ones added in this run are deleted
    again, and each photo's line says why nothing was kept."""
    added: list[tuple[Path, str]] = []
    existing: list[Path] = []
    refused: dict[Path, str] = {}
    for photo in photos:
        response = _send(client, "/v1/models", photo, {"name": model_name(photo)})
        if response.status_code == 201:
            added.append((photo, response.json()["id"]))
        elif response.status_code == 409:
            existing.append(photo)
        else:
            refused[photo] = _detail(response)
    if refused:
        for _, model_id in added:
            client.delete(f"/v1/models/{model_id}")
        lines = []
        for photo in photos:
            if photo in refused:
                lines.append(f"{photo.name}: refused ({refused[photo]})")
            elif photo in existing:
                lines.append(f"{photo.name}: already there, kept")
            else:
                lines.append(f"{photo.name}: usable, not added (nothing is added unless all are)")
        raise ModelPhotosRefused(lines)
    for photo, _ in added:
        report.models_added.append(photo.name)
        report.model_lines.append(f"{photo.name}: added as {model_name(photo)!r}")
    for photo in existing:
        report.models_existing.append(photo.name)
        report.model_lines.append(f"{photo.name}: already there")


AppFactory = Callable[[GatewaySettings], FastAPI]
"""``gateway.main.create_app``, passed in by the command: the web package sits below the app."""


def _upload_all(  # noqa: PLR0917
    create_app: AppFactory,
    settings: GatewaySettings,
    secret: str,
    ids: dict[str, uuid.UUID],
    model_photos: list[Path],
    report: AssetReport,
) -> None:
    widths = _widths()
    models = _models()
    # Quiet: the in-process app's access log is not news on a terminal running the seed.
    app = create_app(settings.model_copy(update={"log_level": "WARNING"}))
    try:
        with TestClient(app, base_url=settings.public_url) as client:
            client.headers["Authorization"] = f"Bearer {secret}"
            for product in catalog.PRODUCTS:
                uploads = _uploads(product)
                if product.external_id in ids:
                    listed = client.get(
                        "/v1/assets", params={"product_id": str(ids[product.external_id])}
                    )
                    if listed.status_code == 200 and len(listed.json()["data"]) >= len(uploads):
                        # Prepared on an earlier run: skip the ML work (the API would say 409).
                        report.existing += [f"{product.external_id}:{v or '*'}" for _, v in uploads]
                        continue
                for asset, variant in uploads:
                    path = catalog.asset_path(asset)
                    if path is not None and asset in models:
                        path = models[asset]  # the 3D model; its packshot is rendered from it
                    if path is None or product.external_id not in ids:
                        raise SeedAssetError(f"the demo asset {asset!r} is missing")
                    params = {"variant": variant} if variant else {}
                    width = widths.get(asset)
                    if width:
                        params["width_mm"] = str(width)
                    url = f"/v1/products/{ids[product.external_id]}/assets"
                    label = f"{product.external_id}:{variant or '*'}"
                    made = _post(client, url, path, params)
                    (report.prepared if made else report.existing).append(label)
            _add_models(client, model_photos, report)
    finally:
        app.state.engine.dispose()


def prepare(
    *,
    settings: GatewaySettings,
    merchant_id: uuid.UUID,
    model_photos: list[Path],
    create_app: AppFactory,
) -> AssetReport:
    """Make sure every demo product has its try-on assets, and add the given model photos,
    through an app that ``create_app`` builds for ``settings``."""
    report = AssetReport()
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            ids = {
                p.external_id: p.id
                for p in session.scalars(select(Product).where(Product.merchant_id == merchant_id))
            }
            key_row, secret = keys.create(
                session=session,
                merchant_id=merchant_id,
                kind=KeyKind.SECRET,
                name="demo seed (revoked after use)",
            )
            key_id = key_row.id
        try:
            _upload_all(create_app, settings, secret, ids, model_photos, report)
        finally:
            with session_scope(engine) as session:
                keys.revoke(session=session, merchant_id=merchant_id, key_id=key_id)
    finally:
        engine.dispose()
    return report
