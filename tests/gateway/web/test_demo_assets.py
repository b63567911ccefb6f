"""The demo seed's asset step: real ML through the merchant API (SQLite only: the step is
database-agnostic and the ML work is the slow part, so it runs once, not per database)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db.session import session_scope
from gateway.keys.models import ApiKey, KeyKind
from gateway.main import create_app
from gateway.web.demo import catalog
from gateway.web.demo.seed import SeedReport


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def test_assets_are_prepared_through_the_api_once(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    from gateway.assets.models import TryOnAsset
    from gateway.web.demo import assets

    report = seeded()
    settings = web_client.app.state.settings  # type: ignore[attr-defined]
    merchant_id = uuid.UUID(report.merchant_id)
    first = assets.prepare(
        settings=settings, merchant_id=merchant_id, model_photos=[], create_app=create_app
    )
    assert sorted(first.prepared) == sorted(
        f"{p.external_id}:{v or '*'}" for p in catalog.PRODUCTS for _, v in assets._uploads(p)
    )
    # Colours get one asset each, sizes of one shirt share one.
    assert "round-glasses:round-glasses-gold" in first.prepared
    assert "crew-tshirt:*" in first.prepared
    again = assets.prepare(
        settings=settings, merchant_id=merchant_id, model_photos=[], create_app=create_app
    )
    assert again.prepared == []
    assert sorted(again.existing) == sorted(first.prepared)
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(TryOnAsset).where(TryOnAsset.merchant_id == merchant_id))
        assert len(list(rows)) == len(first.prepared)
        # The secret keys minted for the two runs are revoked.
        secret = session.scalars(
            select(ApiKey).where(ApiKey.merchant_id == merchant_id, ApiKey.kind == KeyKind.SECRET)
        ).all()
        assert len(secret) == 3  # the merchant's own, and one per run
        assert sum(k.revoked_at is not None for k in secret) == 2
    config = web_client.get(
        "/v1/widget/config",
        params={"product": "round-glasses"},
        headers={
            "Authorization": f"Bearer {report.publishable_key}",
            "Origin": "http://testserver",
        },
    )
    assert config.status_code == 200, config.text
    body = config.json()
    assert body["modes"] == ["live", "photo"]
    assert [v["has_asset"] for v in body["product"]["variants"]] == [True, True]


def test_a_model_photo_without_a_face_is_refused_clearly(
    web_client: TestClient, seeded: Callable[..., SeedReport], tmp_path: Path
) -> None:
    from gateway.web.demo import assets

    report = seeded()
    blank = tmp_path / "blank.png"
    blank.write_bytes((catalog.DEMO_ASSETS_DIR / "hat-fedora.png").read_bytes())
    with pytest.raises(assets.SeedAssetError, match=re.escape("blank.png: 422")):
        assets.prepare(
            settings=web_client.app.state.settings,  # type: ignore[attr-defined]
            merchant_id=uuid.UUID(report.merchant_id),
            model_photos=[blank],
            create_app=create_app,
        )
