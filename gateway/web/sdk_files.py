"""The built SDK bundles: read once, hashed for Subresource Integrity, gzipped once."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

# The files the SDK build writes (sdk_js/scripts/build.mjs) and their media types.
FILES = {
    "tryon.js": "text/javascript; charset=utf-8",
    "tryon.mjs": "text/javascript; charset=utf-8",
    "tryon.d.ts": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class SdkFile:
    name: str
    media_type: str
    body: bytes
    gzipped: bytes
    integrity: str
    """``sha384-<base64>``, the value of a ``<script integrity>`` attribute."""
    etag: str


@dataclass(frozen=True, slots=True)
class SdkBuild:
    version: str
    files: dict[str, SdkFile]

    def manifest(self, base_url: str) -> dict[str, object]:
        """What embedders pin: exact-version URLs and their integrity hashes."""
        base = base_url.rstrip("/")
        return {
            "version": self.version,
            "files": {
                f.name: {
                    "url": f"{base}/sdk/{self.version}/{f.name}",
                    "latest_url": f"{base}/sdk/v{self.major}/{f.name}",
                    "integrity": f.integrity,
                    "bytes": len(f.body),
                    "gzip_bytes": len(f.gzipped),
                }
                for f in self.files.values()
            },
        }

    @property
    def major(self) -> str:
        return self.version.split(".", 1)[0]


def integrity(body: bytes) -> str:
    """The SRI hash of ``body`` (SHA-384, the strength the SRI spec recommends)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def load(sdk_dir: Path) -> SdkBuild | None:
    """Read the build in ``sdk_dir`` (``dist/`` beside ``package.json``); None if not built."""
    dist = sdk_dir / "dist"
    try:
        version = str(json.loads((sdk_dir / "package.json").read_text())["version"])
        bodies = {name: (dist / name).read_bytes() for name in FILES}
    except (OSError, ValueError, KeyError):
        return None
    files = {
        name: SdkFile(
            name=name,
            media_type=FILES[name],
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            integrity=integrity(body),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )
        for name, body in bodies.items()
    }
    return SdkBuild(version=version, files=files)


class SdkStore:
    """The current build, reloaded when ``dist/tryon.js`` changes (a rebuild while serving)."""

    def __init__(self, sdk_dir: Path) -> None:
        self.sdk_dir = sdk_dir
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._build: SdkBuild | None = None

    def get(self) -> SdkBuild | None:
        try:
            stamp: float | None = (self.sdk_dir / "dist" / "tryon.js").stat().st_mtime
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or self._build is None:
                self._build = load(self.sdk_dir) if stamp is not None else None
                self._stamp = stamp
            return self._build
