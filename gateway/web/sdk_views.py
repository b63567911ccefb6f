"""Serving the SDK: ``/sdk/v1/*`` follows the latest 1.x (short cache), ``/sdk/<x.y.z>/*`` is
immutable (a year's cache, safe to pin with Subresource Integrity), ``/sdk/v1/manifest.json``
publishes the integrity hashes."""

from __future__ import annotations

import functools
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import SettingsDep
from gateway.errors import NotFound, ServiceUnavailable
from gateway.web.sdk_files import FILES, SdkBuild, SdkFile, SdkStore

router = APIRouter(prefix="/sdk", tags=["sdk"], include_in_schema=False)

LATEST_CACHE = "public, max-age=300, stale-while-revalidate=86400"
PINNED_CACHE = "public, max-age=31536000, immutable"

# Any page may load the SDK: CORS for <script crossorigin integrity=...>, CORP for COEP pages.
_SHARED_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Encoding",
}

FileName = Annotated[str, Path(pattern=r"^[a-z.]{1,32}$")]


@functools.cache
def _store_for(sdk_dir: FsPath) -> SdkStore:
    return SdkStore(sdk_dir)


def get_store(settings: SettingsDep) -> SdkStore:
    """The SDK build the gateway serves (one reader per folder, for the process)."""
    return _store_for(settings.sdk_dir)


StoreDep = Annotated[SdkStore, Depends(get_store)]


def _build(store: SdkStore) -> SdkBuild:
    build = store.get()
    if build is None:
        raise ServiceUnavailable("The SDK is not built: run 'make sdk'", retry_after=30)
    return build


def _serve(request: Request, file: SdkFile, cache_control: str) -> Response:
    headers = {**_SHARED_HEADERS, "Cache-Control": cache_control, "ETag": file.etag}
    if file.etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(file.gzipped, media_type=file.media_type, headers=headers)
    return Response(file.body, media_type=file.media_type, headers=headers)


@router.get("/v{major}/manifest.json")
def manifest(
    request: Request, store: StoreDep, major: Annotated[int, Path(ge=0, le=999)]
) -> JSONResponse:
    """The current version's files with their exact-version URLs and SRI hashes."""
    build = _build(store)
    if str(major) != build.major:
        raise NotFound(f"No SDK v{major}; this server has v{build.major}")
    base = str(request.base_url)
    return JSONResponse(
        build.manifest(base),
        headers={**_SHARED_HEADERS, "Cache-Control": "public, max-age=60"},
    )


@router.get("/v{major}/{name}")
def latest(
    request: Request, store: StoreDep, major: Annotated[int, Path(ge=0, le=999)], name: FileName
) -> Response:
    """The latest build of a major version (changes on release: do not pin it with SRI)."""
    build = _build(store)
    if str(major) != build.major or name not in FILES:
        raise NotFound(f"No such SDK file: v{major}/{name}")
    return _serve(request, build.files[name], LATEST_CACHE)


@router.get("/{version}/{name}")
def pinned(
    request: Request,
    store: StoreDep,
    version: Annotated[str, Path(pattern=r"^\d{1,4}\.\d{1,4}\.\d{1,4}$")],
    name: FileName,
) -> Response:
    """One exact version: its bytes never change, so it is cached for a year."""
    build = _build(store)
    if version != build.version or name not in FILES:
        raise NotFound(f"No such SDK file: {version}/{name} (this server has {build.version})")
    return _serve(request, build.files[name], PINNED_CACHE)
