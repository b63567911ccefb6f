"""``tryon storage sweep``: unreferenced merchant blobs go once older than the grace; rows'
blobs, young blobs and anything outside the gateway's key layout stay. Both adapters."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.assets.cli import parse_duration
from gateway.assets.models import BrandModelPhoto, ModelPhotoKind
from gateway.assets.sweep import SweepReport, referenced_keys, sweep
from gateway.cli import app as cli
from gateway.db.session import session_scope
from gateway.ml import asset_keys
from gateway.settings import get_settings
from gateway.storage import Blob, LocalStorage, S3Storage, Storage
from tests.gateway.conftest import auth, merchant_in
from tests.gateway.tryon_support import eyewear_shop, selfie_jpeg
from tests.support import s3

DAY = timedelta(hours=24)


def _storage(client: TestClient) -> Storage:
    storage: Storage = client.app.state.runtime.storage  # type: ignore[attr-defined]
    return storage


def _sweep(client: TestClient, storage: Storage | None = None, **kwargs: object) -> SweepReport:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return sweep(session=session, storage=storage or _storage(client), **kwargs)  # type: ignore[arg-type]


def _keys(storage: Storage) -> set[str]:
    return {b.key for b in storage.list()}


def _hash(seed: str) -> str:
    return (seed * 64)[:64]


def test_an_edited_asset_leaves_its_old_version_until_the_sweep(
    embedded_storage: TestClient,
) -> None:
    client = embedded_storage
    storage = _storage(client)
    shop = eyewear_shop(client)
    sk, merchant = shop.merchant.secret_key, str(shop.merchant.merchant.id)
    model = client.post(
        "/v1/models",
        params={"name": "Alex"},
        content=selfie_jpeg(),
        headers={**auth(sk), "content-type": "image/jpeg"},
    )
    assert model.status_code == 201, model.text
    photo = f"{merchant}/models/{model.json()['content_hash']}.jpg"
    bridge = shop.asset["anchors"]["anchors"]["bridge"]
    patched = client.patch(
        f"/v1/assets/{shop.asset['id']}",
        json={"anchors": {"bridge": [bridge[0] + 2, bridge[1]]}},
        headers=auth(sk),
    )
    assert patched.status_code == 200, patched.text
    old = set(asset_keys(merchant, shop.asset["content_hash"]))
    new = set(asset_keys(merchant, patched.json()["content_hash"]))
    # A crash between a blob write and the commit of its row, for a merchant gone since.
    crashed = f"{uuid.uuid4()}/models/{_hash('c')}.jpg"
    storage.put(crashed, b"orphan")
    assert _keys(storage) == old | new | {photo, crashed}
    sizes = {b.key: b.size for b in storage.list()}

    # Within the grace: everything stays (a try-on may still be reading the old version).
    report = _sweep(client, dry_run=False)
    assert (report.scanned, report.referenced, report.young, report.deleted) == (6, 3, 3, 0)
    assert _keys(storage) == old | new | {photo, crashed}

    later = datetime.now(UTC) + DAY + timedelta(hours=1)
    dry = _sweep(client, now=later)  # a dry run is the default
    assert dry.dry_run
    assert (dry.scanned, dry.referenced, dry.young, dry.deleted) == (6, 3, 0, 3)
    assert dry.deleted_bytes == sum(sizes[k] for k in old | {crashed}) > 0
    assert _keys(storage) == old | new | {photo, crashed}

    done = _sweep(client, now=later, dry_run=False)
    assert (done.deleted, done.deleted_bytes) == (3, dry.deleted_bytes)
    assert _keys(storage) == new | {photo}
    again = _sweep(client, now=later, dry_run=False)
    assert (again.scanned, again.referenced, again.deleted) == (3, 3, 0)

    # What the rows name still works.
    image = client.get(f"/v1/assets/{shop.asset['id']}/image", headers=auth(sk))
    assert image.status_code == 200
    assert image.content[:4] == b"\x89PNG"
    widget_model = client.get(f"/v1/models/{model.json()['id']}", headers=auth(sk))
    assert widget_model.status_code == 200


def test_referenced_keys_on_every_database(client: TestClient) -> None:
    """Every column that holds a key: the asset's cut-out (and its metadata, derived from the
    content hash) and the model photo."""
    shop = eyewear_shop(client)
    merchant = shop.merchant.merchant.id
    photo = f"{merchant}/models/{_hash('9')}.jpg"
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.add(
            BrandModelPhoto(
                merchant_id=merchant,
                name="Alex",
                kind=ModelPhotoKind.FACE,
                content_hash=_hash("9"),
                storage_key=photo,
            )
        )
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        found = referenced_keys(session)  # the test database is shared: other merchants too
    mine = {key for key in found if key.startswith(f"{merchant}/")}
    assert mine == {*asset_keys(str(merchant), shop.asset["content_hash"]), photo}


def _plant_odd_keys(storage: Storage, merchant: str, outside: Path) -> Iterator[str]:
    """Objects the gateway never writes, some of them shaped almost like its keys; yields
    descriptions of where they lie (raw S3 keys, or paths)."""
    h = _hash("a")
    if isinstance(storage, S3Storage):
        assert storage.prefix == "gw/"
        for raw in (
            "../x",
            "x",
            f"{merchant}/assets/{h}.png",  # the layout, but outside the prefix
            f"other/{merchant}/assets/{h}.png",
            f"gw/{merchant.upper()}/assets/{h}.png",
            f"gw/{merchant}/assets/{h}.png.bak",
            f"gw/{merchant}/assets/{h}.PNG",
            f"gw/{merchant}/assets/{h[:40]}.png",
            f"gw/{merchant}/other/{h}.png",
            f"gw/{merchant}/assets/x/../{h}.png",
            f"gw//{merchant}/assets/{h}.png",
            "gw/../x",
            "gw/notes.txt",
            f"gw/not-a-uuid/assets/{h}.png",
        ):
            storage.client.put_object(Bucket=storage.bucket, Key=raw, Body=b"not ours")
            yield raw
        return
    assert isinstance(storage, LocalStorage)
    root = storage.root
    outside.write_bytes(b"not ours")
    for name in (
        "x",
        "notes.txt",
        f"{merchant.upper()}/assets/{h}.png",
        f"{merchant}/assets/{h}.png.bak",
        f"{merchant}/assets/{h[:40]}.png",
        f"{merchant}/other/{h}.png",
        f"{merchant}/assets/{h} copy.png",
        f"not-a-uuid/assets/{h}.png",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not ours")
        yield str(root / name)
    # A link with a key's exact shape, to a file outside the root.
    link = root / merchant / "assets" / f"{_hash('b')}.png"
    link.symlink_to(outside)
    yield str(link)
    yield str(outside)


def _still_there(storage: Storage, where: list[str]) -> list[str]:
    if isinstance(storage, S3Storage):
        present = s3.object_keys(storage.client, storage.bucket)
        return [w for w in where if w in present]
    return [w for w in where if os.path.lexists(w)]


def _backdate(storage: Storage, when: datetime) -> None:
    """Local files only: set every file's (and link's) modification time to ``when``."""
    if isinstance(storage, LocalStorage):
        for path in storage.root.rglob("*"):
            os.utime(path, (when.timestamp(), when.timestamp()), follow_symlinks=False)


def test_odd_keys_are_left_alone(embedded_storage: TestClient, tmp_path: Path) -> None:
    client = embedded_storage
    storage = _storage(client)
    merchant = str(merchant_in(client).merchant.id)
    orphan = f"{merchant}/assets/{_hash('d')}.json"
    storage.put(orphan, b"{}")
    where = list(_plant_odd_keys(storage, merchant, tmp_path / "outside.png"))
    later = datetime.now(UTC) + 2 * DAY
    _backdate(storage, later - 3 * DAY)

    report = _sweep(client, now=later, dry_run=False)
    assert (report.scanned, report.deleted) == (1, 1)
    assert report.foreign > 0
    assert orphan not in _keys(storage)
    assert _still_there(storage, where) == where


def test_local_ages_and_temp_files(embedded: TestClient) -> None:
    """Local files can be backdated: one run sees old and young orphans, an old referenced
    blob, and the temporary files of writes (in flight, or cut short by a crash)."""
    client = embedded
    storage = _storage(client)
    assert isinstance(storage, LocalStorage)
    m = merchant_in(client)
    kept = f"{m.merchant.id}/models/{_hash('1')}.jpg"
    storage.put(kept, b"photo")
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.add(
            BrandModelPhoto(
                merchant_id=m.merchant.id,
                name="Alex",
                kind=ModelPhotoKind.FACE,
                content_hash=_hash("1"),
                storage_key=kept,
            )
        )
    old_orphan = f"{m.merchant.id}/assets/{_hash('2')}.png"
    young_orphan = f"{m.merchant.id}/assets/{_hash('3')}.png"
    storage.put(old_orphan, b"12345")
    old_temp = storage.root / str(m.merchant.id) / "assets" / ".tmp-crashed1"
    old_temp.write_bytes(b"half")
    now = datetime.now(UTC)
    _backdate(storage, now - 2 * DAY)
    storage.put(young_orphan, b"young")
    young_temp = storage.root / str(m.merchant.id) / "assets" / ".tmp-inflight"
    young_temp.write_bytes(b"writing")

    dry = _sweep(client, now=now)
    assert (dry.scanned, dry.referenced, dry.young, dry.deleted, dry.deleted_bytes) == (
        3, 1, 1, 1, 5
    )  # fmt: skip
    assert (dry.temp_deleted, dry.temp_bytes) == (1, 4)
    assert old_temp.exists()
    assert _keys(storage) == {kept, old_orphan, young_orphan}

    done = _sweep(client, now=now, dry_run=False)
    assert (done.deleted, done.temp_deleted) == (1, 1)
    assert _keys(storage) == {kept, young_orphan}
    assert not old_temp.exists()
    assert young_temp.exists()


class _RewrittenDuringTheSweep:
    """Local storage where a request writes ``key`` again right after the listing saw it
    (an anchor edit back to a version whose blobs were orphaned long ago)."""

    def __init__(self, inner: LocalStorage, key: str) -> None:
        self.inner, self.key = inner, key

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list(self, prefix: str = "") -> Iterator[Blob]:
        for blob in self.inner.list(prefix):
            if blob.key == self.key and not prefix:
                self.inner.put(self.key, b"written again")
            yield blob  # as the listing saw it: old


def test_a_blob_written_again_since_the_listing_stays(embedded: TestClient) -> None:
    storage = _storage(embedded)
    assert isinstance(storage, LocalStorage)
    key = f"{uuid.uuid4()}/assets/{_hash('e')}.png"
    storage.put(key, b"old")
    now = datetime.now(UTC)
    _backdate(storage, now - 2 * DAY)
    racing = _RewrittenDuringTheSweep(storage, key)
    report = _sweep(embedded, racing, now=now, dry_run=False)
    assert (report.deleted, report.young) == (0, 1)
    assert storage.get(key) == b"written again"


def test_the_grace_has_a_floor(embedded: TestClient) -> None:
    with pytest.raises(ValueError, match="at least 1h"):
        _sweep(embedded, grace=timedelta(minutes=59))


# --- the command ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", DAY), ("90m", timedelta(minutes=90)), ("7d", 7 * DAY), ("1w", 7 * DAY),
     ("1d12h", 1.5 * DAY), ("3600s", timedelta(hours=1)), (" 2H ", timedelta(hours=2))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "value",
    ["", "0h", "30m", "59m59s", "24", "h", "-1h", "1.5h", "1h 30m", "1y", "24h;rm", "99999999d",
     "9999999w", "١h"],
)  # fmt: skip
def test_bad_grace_values_are_refused(value: str, fresh_settings: None) -> None:
    result = runner.invoke(cli, ["storage", "sweep", "--older-than", value])
    assert result.exit_code == 2, result.output
    assert "--older-than" in result.output
    assert "Traceback" not in result.output


def test_the_command_sweeps_local_storage(tmp_path: Path, fresh_settings: None) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    storage = LocalStorage(get_settings().data_dir / "blobs")
    orphan = f"{uuid.uuid4()}/assets/{_hash('f')}.png"
    storage.put(orphan, b"orphaned")
    _backdate(storage, datetime.now(UTC) - 2 * DAY)

    dry = runner.invoke(cli, ["storage", "sweep"])
    assert dry.exit_code == 0, dry.output
    assert "would delete: 1 blobs, 8 bytes" in dry.stdout
    assert "nothing was deleted" in dry.stderr
    assert storage.exists(orphan)
    # A grace longer than the orphan's age keeps it.
    longer = runner.invoke(cli, ["storage", "sweep", "--older-than", "3d", "--delete"])
    assert "deleted: 0 blobs" in longer.stdout
    assert storage.exists(orphan)

    done = runner.invoke(cli, ["storage", "sweep", "--delete", "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert (out["scanned"], out["deleted"], out["deleted_bytes"], out["dry_run"]) == (
        1,
        1,
        8,
        False,
    )
    assert not storage.exists(orphan)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(60)
def test_a_storage_outage_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_settings: None
) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    s3.use_test_credentials(monkeypatch, str(tmp_path))
    for name, value in {
        "TRYON_STORAGE_URL": "s3://tryon-assets/gw",
        "TRYON_S3_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
        "TRYON_S3_REGION": s3.REGION,
        "TRYON_S3_CONNECT_TIMEOUT_S": "0.5",
        "TRYON_S3_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = runner.invoke(cli, ["storage", "sweep", "--delete"])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: object storage does not answer (TRYON_STORAGE_URL); nothing more done"
    ]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_a_missing_database_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("TRYON_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    result = runner.invoke(cli, ["storage", "sweep"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.output
