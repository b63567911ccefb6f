from __future__ import annotations

import base64
import gzip
import hashlib
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.gateway.web.conftest import SDK_VERSION, write_sdk_build


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Serving files touches no table: one database is enough."""
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def test_latest_is_served_with_short_cache_cors_and_nosniff(
    web_client: TestClient, sdk_dir: Path
) -> None:
    r = web_client.get("/sdk/v1/tryon.js", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.content == (sdk_dir / "dist" / "tryon.js").read_bytes()
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["cache-control"].startswith("public, max-age=300")
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in r.headers


def test_gzip_when_accepted_same_bytes(web_client: TestClient, sdk_dir: Path) -> None:
    r = web_client.get("/sdk/v1/tryon.js", headers={"Accept-Encoding": "gzip, br"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) < len((sdk_dir / "dist" / "tryon.js").read_bytes())
    assert r.content == (sdk_dir / "dist" / "tryon.js").read_bytes()  # httpx decodes gzip


def test_etag_revalidation(web_client: TestClient) -> None:
    etag = web_client.get("/sdk/v1/tryon.mjs").headers["etag"]
    r = web_client.get("/sdk/v1/tryon.mjs", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert web_client.get("/sdk/v1/tryon.mjs", headers={"If-None-Match": '"x"'}).status_code == 200


def test_pinned_version_is_immutable_and_matches_the_manifest(
    web_client: TestClient, sdk_dir: Path
) -> None:
    manifest = web_client.get("/sdk/v1/manifest.json").json()
    assert manifest["version"] == SDK_VERSION
    entry = manifest["files"]["tryon.js"]
    assert entry["url"] == f"http://testserver/sdk/{SDK_VERSION}/tryon.js"
    r = web_client.get(f"/sdk/{SDK_VERSION}/tryon.js")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    # The integrity a browser checks is over the decoded body: it must match the file.
    assert entry["integrity"] == sri(r.content) == sri((sdk_dir / "dist" / "tryon.js").read_bytes())
    assert entry["bytes"] == len(r.content)
    assert set(manifest["files"]) == {"tryon.js", "tryon.mjs", "tryon.d.ts"}


@pytest.mark.parametrize(
    "path",
    [
        "/sdk/v2/tryon.js",
        "/sdk/v2/manifest.json",
        "/sdk/9.9.9/tryon.js",
        f"/sdk/{SDK_VERSION}/package.json",
        "/sdk/v1/secret.js",
        "/sdk/v1/..%2F..%2Fpyproject.toml",
        "/sdk/v1/%2e%2e/package.json",
        f"/sdk/{SDK_VERSION}/..%2Fpackage.json",
        "/sdk/v99999999999999999999/tryon.js",
        "/sdk/latest/tryon.js",
    ],
)
def test_anything_else_is_a_problem_not_a_file(web_client: TestClient, path: str) -> None:
    r = web_client.get(path)
    assert r.status_code in (404, 422)
    assert r.headers["content-type"] == "application/problem+json"
    assert b"version" not in r.content or b"tryon" in r.content


def test_not_built_is_a_503_problem(web_client: TestClient, sdk_dir: Path) -> None:
    (sdk_dir / "dist" / "tryon.js").unlink()
    r = web_client.get("/sdk/v1/tryon.js")
    assert r.status_code == 503
    assert r.json()["type"] == "/problems/unavailable"
    assert "make sdk" in r.json()["detail"]
    assert r.headers["retry-after"] == "30"


def test_a_rebuild_is_picked_up_without_restart(web_client: TestClient, sdk_dir: Path) -> None:
    before = web_client.get("/sdk/v1/manifest.json").json()["files"]["tryon.js"]["integrity"]
    write_sdk_build(sdk_dir, marker="two")
    later = time.time() + 5
    os.utime(sdk_dir / "dist" / "tryon.js", (later, later))
    after = web_client.get("/sdk/v1/manifest.json").json()["files"]["tryon.js"]["integrity"]
    assert after != before
    body = web_client.get("/sdk/v1/tryon.js").content
    assert b"tryon two" in body
    assert sri(body) == after


def test_gzip_is_deterministic(sdk_dir: Path) -> None:
    from gateway.web.sdk_files import load

    a, b = load(sdk_dir), load(sdk_dir)
    assert a is not None
    assert b is not None
    assert a.files["tryon.js"].gzipped == b.files["tryon.js"].gzipped
    assert gzip.decompress(a.files["tryon.js"].gzipped) == a.files["tryon.js"].body


def test_a_broken_package_json_reads_as_not_built(sdk_dir: Path) -> None:
    from gateway.web.sdk_files import load

    (sdk_dir / "package.json").write_text("{not json")
    assert load(sdk_dir) is None
    (sdk_dir / "package.json").write_text("{}")
    assert load(sdk_dir) is None
