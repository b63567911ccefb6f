from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.session import session_scope
from gateway.keys import service as keys
from gateway.keys.models import ApiKey, KeyKind
from gateway.merchants.models import Merchant
from gateway.products.models import Product, ProductVariant
from gateway.web.demo import catalog, state
from gateway.web.demo.seed import SeedReport

TRYON = str(Path(sys.executable).parent / "tryon")


def counts(client: TestClient) -> tuple[int, int, int]:
    """Rows in the whole database (PostgreSQL's is shared by the run: compare, never assume)."""
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return (
            session.scalar(select(func.count()).select_from(Merchant)) or 0,
            session.scalar(select(func.count()).select_from(Product)) or 0,
            session.scalar(select(func.count()).select_from(ProductVariant)) or 0,
        )


def demo_product(session: Session, report: SeedReport, external_id: str) -> Product:
    product = session.scalar(
        select(Product).where(
            Product.merchant_id == uuid.UUID(report.merchant_id), Product.external_id == external_id
        )
    )
    assert product is not None
    return product


def test_seed_creates_the_merchant_key_and_every_product(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    report = seeded()
    assert report.merchant_created
    assert sorted(report.products_created) == sorted(p.external_id for p in catalog.PRODUCTS)
    categories = {p.category for p in catalog.PRODUCTS}
    assert categories == {"eyewear", "hat", "earrings", "necklace", "top"}
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        principal = keys.authenticate(session=session, raw_key=report.publishable_key)
        assert principal.kind is KeyKind.PUBLISHABLE
        assert principal.allowed_origins == ("http://testserver",)
        glasses = demo_product(session, report, "round-glasses")
        assert [v.color for v in glasses.variants] == ["Black", "Gold"]
        assert glasses.variants[0].measurements == {"frame_width_mm": 132.0}
        assert glasses.images == ["http://testserver/demo/images/glasses-round-black.png"]
    assert state.read(web_client.app.state.settings.data_dir) == state.DemoState(  # type: ignore[attr-defined]
        merchant_id=principal.merchant_id, publishable_key=report.publishable_key
    )


def test_seeding_again_changes_nothing(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    first = seeded()
    before = counts(web_client)
    again = seeded()
    assert counts(web_client) == before
    assert not again.merchant_created
    assert again.products_created == again.products_updated == []
    assert (again.merchant_id, again.publishable_key) == (first.merchant_id, first.publishable_key)


def test_seeding_adds_origins_and_repairs_edits(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    first = seeded()
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        glasses = demo_product(session, first, "round-glasses")
        glasses.title = "Edited"
        session.delete(glasses.variants[1])
    again = seeded(origins=["http://127.0.0.1:8000"])
    assert again.products_updated == ["round-glasses"]
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        glasses = demo_product(session, first, "round-glasses")
        assert glasses.title == "Round optical frames"
        assert [v.external_id for v in glasses.variants] == [
            "round-glasses-black",
            "round-glasses-gold",
        ]
        principal = keys.authenticate(session=session, raw_key=first.publishable_key)
        assert set(principal.allowed_origins) == {"http://testserver", "http://127.0.0.1:8000"}


def test_a_revoked_key_is_replaced(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    first = seeded()
    with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
        key = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == keys.hash_key(first.publishable_key))
        )
        assert key is not None
        keys.revoke(session=session, merchant_id=key.merchant_id, key_id=key.id)
    before = counts(web_client)
    again = seeded()
    assert again.merchant_id == first.merchant_id
    assert again.publishable_key != first.publishable_key
    assert counts(web_client) == before


def test_a_lost_or_broken_state_file_gives_a_fresh_merchant(
    web_client: TestClient, seeded: Callable[..., SeedReport]
) -> None:
    first = seeded()
    path = state.state_path(web_client.app.state.settings.data_dir)  # type: ignore[attr-defined]
    path.write_text("{broken")
    again = seeded()
    assert again.merchant_created
    assert again.merchant_id != first.merchant_id
    assert json.loads(path.read_text())["merchant_id"] == again.merchant_id


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRYON_") or k.startswith("TRYON_TEST")
    }
    env.update(TRYON_ENV="development", TRYON_DATA_DIR=str(tmp_path / "var"), TRYON_LOG_JSON="true")
    return subprocess.run([TRYON, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_seeds_an_embedded_database_from_scratch_twice(tmp_path: Path) -> None:
    first = _cli(tmp_path, "demo", "seed", "--json", "--no-assets")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["merchant_created"] is True
    assert len(report["products_created"]) == len(catalog.PRODUCTS)
    second = _cli(tmp_path, "demo", "seed", "--origin", "http://localhost:8000", "--no-assets")
    assert second.returncode == 0, second.stderr
    assert "demo merchant found" in second.stdout
    assert report["publishable_key"] in second.stdout
    assert report["merchant_id"] in second.stdout


def test_default_origins_include_the_loopback_twin() -> None:
    from gateway.web.demo.seed import default_origins

    assert default_origins("http://127.0.0.1:8000") == [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    ]
    assert default_origins("http://localhost:8000/") == [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
    ]
    assert default_origins("https://shop.example") == ["https://shop.example"]


def test_cli_refuses_a_bad_origin_without_a_traceback(tmp_path: Path) -> None:
    result = _cli(tmp_path, "demo", "seed", "--origin", "javascript:alert(1)", "--no-assets")
    assert result.returncode == 2
    assert "not a web origin" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_says_when_the_database_cannot_be_used(tmp_path: Path) -> None:
    env_db = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
    env.update(
        TRYON_DATA_DIR=str(tmp_path / "var"),
        TRYON_DATABASE_URL=env_db,
        TRYON_DB_CONNECT_TIMEOUT_S="1",
    )
    result = subprocess.run(
        [TRYON, "demo", "seed", "--no-assets"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_missing_model_photo(tmp_path: Path) -> None:
    result = _cli(tmp_path, "demo", "seed", "--model-photo", str(tmp_path / "nope.jpg"))
    assert result.returncode == 2
    assert "nope.jpg" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_model_photos_all_or_nothing_with_a_line_per_photo(tmp_path: Path) -> None:
    """`--model-photo a --model-photo b` where b has no face: an error, nothing added, and a
    rerun with a alone adds it (then says it is there)."""
    from gateway.web.demo import catalog
    from testkit.images import test_image

    good = tmp_path / "Grace.jpg"
    good.write_bytes(test_image("grace_hopper").read_bytes())
    blank = tmp_path / "hat.png"
    blank.write_bytes((catalog.DEMO_ASSETS_DIR / "hat-fedora.png").read_bytes())
    both = ["--model-photo", str(good), "--model-photo", str(blank)]
    refused = _cli(tmp_path, "demo", "seed", *both)
    assert refused.returncode == 1, refused.stdout
    assert "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert lines[-3:] == [
        "  Grace.jpg: usable, not added (nothing is added unless all are)",
        "  hat.png: refused (No face found on the model photo)",
        "error: brand models: 0 added, a photo was refused (all or nothing: fix or leave it out)",
    ]
    added = _cli(tmp_path, "demo", "seed", "--model-photo", str(good))
    assert added.returncode == 0, added.stderr
    assert "brand models: 1 added, 0 already there" in added.stdout
    assert "  Grace.jpg: added as 'Grace'" in added.stdout
    again = _cli(tmp_path, "demo", "seed", "--model-photo", str(good))
    assert "brand models: 0 added, 1 already there" in again.stdout
    assert "  Grace.jpg: already there" in again.stdout
