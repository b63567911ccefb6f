"""The storage sweep: delete merchant blobs that no database row names, once they are old.

Blobs outlive their rows in two ways. ``PATCH /v1/assets/{id}`` writes a new version (a new
content hash, so new keys) and leaves the previous one, because a try-on may be reading it at
that moment; and a crash between a blob write and the commit of its row leaves the blob alone.
Deletes of assets, products and models remove their blobs inline and need no sweep.

A blob is deleted only when all of these hold:

- its key has the exact shape the gateway writes (``<merchant uuid>/assets/<sha256>.png|.json``
  or ``<merchant uuid>/models/<sha256>.jpg``): anything else under the root or the prefix is
  counted as foreign and never touched;
- no row names it (``tryon_assets``: the cut-out key and the metadata key derived from the
  content hash; ``brand_model_photos``: the photo key);
- it was last written before ``now - grace``, both when listed and again just before the
  delete. Every code path that makes a row write its blobs first (uploads and anchor edits
  always PUT, even the same bytes again), so a blob a request is about to commit a row for is
  always younger than the grace; the grace also covers try-ons still reading a version that
  an edit has just replaced.

The referenced set is read before the listing, so a row committed after the read has fresh
blobs, which the age checks keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.assets.models import BrandModelPhoto, TryOnAsset
from gateway.ml import asset_keys
from gateway.storage import LocalStorage, Storage

DEFAULT_GRACE = timedelta(hours=24)
MIN_GRACE = timedelta(hours=1)  # the message in check_grace says 1h
"""Shorter would race uploads in flight and try-ons on a just-replaced version."""

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SHA256 = r"[0-9a-f]{64}"
LAYOUT = re.compile(rf"^{_UUID}/(?:assets/{_SHA256}\.(?:png|json)|models/{_SHA256}\.jpg)$")
"""The keys the gateway writes (``gateway.ml.asset_keys``, ``POST /v1/models``)."""

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SweepReport:
    dry_run: bool
    cutoff: datetime
    scanned: int = 0
    """Blobs with a key of the gateway's layout."""
    referenced: int = 0
    """Of those, named by a row (kept)."""
    young: int = 0
    """Named by no row but written after the cutoff (kept)."""
    deleted: int = 0
    """Named by no row and older than the cutoff: deleted (on a dry run, would be)."""
    deleted_bytes: int = 0
    foreign: int = 0
    """Keys outside the gateway's layout (never touched)."""
    temp_deleted: int = 0
    """Temporary files of interrupted writes older than the cutoff (local storage only)."""
    temp_bytes: int = 0


def referenced_keys(session: Session) -> set[str]:
    """Every storage key some row names."""
    keys: set[str] = set()
    assets = select(TryOnAsset.merchant_id, TryOnAsset.content_hash, TryOnAsset.storage_key)
    for merchant_id, content_hash, storage_key in session.execute(
        assets.execution_options(yield_per=2000)
    ):
        keys.update(asset_keys(str(merchant_id), content_hash))
        keys.add(storage_key)
    models = select(BrandModelPhoto.storage_key).execution_options(yield_per=2000)
    keys.update(session.scalars(models))
    return keys


def check_grace(grace: timedelta) -> timedelta:
    if grace < MIN_GRACE:
        raise ValueError("the grace period must be at least 1h (it protects uploads in flight)")
    return grace


def sweep(
    *,
    session: Session,
    storage: Storage,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = True,
    now: datetime | None = None,
) -> SweepReport:
    """Delete (or, on a dry run, count) the unreferenced blobs older than ``grace``.

    Raises ``DependencyUnavailable`` when storage does not answer (what was deleted before
    stays deleted: the sweep is safe to run again).
    """
    cutoff = (now or datetime.now(UTC)) - check_grace(grace)
    report = SweepReport(dry_run=dry_run, cutoff=cutoff)
    referenced = referenced_keys(session)
    session.rollback()  # no transaction held open through a long listing
    for blob in storage.list():
        if not LAYOUT.match(blob.key):
            report.foreign += 1
            continue
        report.scanned += 1
        if blob.key in referenced:
            report.referenced += 1
        elif blob.modified >= cutoff or not (dry_run or _still_old(storage, blob.key, cutoff)):
            report.young += 1
        else:
            if not dry_run:
                storage.delete(blob.key)
                log.info("storage.sweep.deleted", key=blob.key, size=blob.size)
            report.deleted += 1
            report.deleted_bytes += blob.size
    if isinstance(storage, LocalStorage):
        for temp in storage.temp_files():
            if temp.modified < cutoff:
                if not dry_run:
                    storage.delete_temp(temp.key)
                    log.info("storage.sweep.deleted_temp", name=temp.key, size=temp.size)
                report.temp_deleted += 1
                report.temp_bytes += temp.size
    return report


def _still_old(storage: Storage, key: str, cutoff: datetime) -> bool:
    """Whether ``key`` is still there and unwritten since the cutoff (a request may have
    written it again since the listing, to commit a row naming it)."""
    return any(b.key == key and b.modified < cutoff for b in storage.list(key))
