"""The demo seed's asset step: real ML through the merchant API (SQLite only: the step is
database-agnostic and the ML work is the slow part, so it runs once, not per database)."""

from __future__ import annotations

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


def test_model_photos_are_all_or_nothing_and_idempotent(
    web_client: TestClient, seeded: Callable[..., SeedReport], tmp_path: Path
) -> None:
    from gateway.assets.models import BrandModelPhoto
    from gateway.web.demo import assets
    from testkit.images import test_image

    report = seeded()
    settings = web_client.app.state.settings  # type: ignore[attr-defined]
    merchant_id = uuid.UUID(report.merchant_id)
    good = tmp_path / "Grace.jpg"
    good.write_bytes(test_image("grace_hopper").read_bytes())
    blank = tmp_path / "blank.png"  # a hat on white: no face
    blank.write_bytes((catalog.DEMO_ASSETS_DIR / "hat-fedora.png").read_bytes())

    def models() -> list[str]:
        with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
            rows = session.scalars(
                select(BrandModelPhoto).where(BrandModelPhoto.merchant_id == merchant_id)
            )
            return sorted(r.name for r in rows)

    with pytest.raises(assets.ModelPhotosRefused) as refused:
        assets.prepare(
            settings=settings,
            merchant_id=merchant_id,
            model_photos=[good, blank],
            create_app=create_app,
        )
    assert refused.value.lines == [
        "Grace.jpg: usable, not added (nothing is added unless all are)",
        "blank.png: refused (No face found on the model photo)",
    ]
    assert models() == []  # the good one was taken back
    # The same mistake again changes nothing either.
    with pytest.raises(assets.ModelPhotosRefused):
        assets.prepare(
            settings=settings,
            merchant_id=merchant_id,
            model_photos=[good, blank],
            create_app=create_app,
        )
    assert models() == []
    first = assets.prepare(
        settings=settings, merchant_id=merchant_id, model_photos=[good], create_app=create_app
    )
    assert first.model_lines == ["Grace.jpg: added as 'Grace'"]
    again = assets.prepare(
        settings=settings, merchant_id=merchant_id, model_photos=[good], create_app=create_app
    )
    assert (again.models_added, again.models_existing) == ([], ["Grace.jpg"])
    assert again.model_lines == ["Grace.jpg: already there"]
    assert models() == ["Grace"]
    # A refused photo next to one already there keeps the one that was there.
    with pytest.raises(assets.ModelPhotosRefused) as mixed:
        assets.prepare(
            settings=settings,
            merchant_id=merchant_id,
            model_photos=[good, blank],
            create_app=create_app,
        )
    assert mixed.value.lines[0] == "Grace.jpg: already there, kept"
    assert models() == ["Grace"]
