"""``MLClient``: the engine facade over HTTP, for a gateway that sets ``TRYON_ML_URL``.

Same methods and the same exceptions as ``LocalEngine``: the service's problem bodies are
turned back into ``ml_service`` / render exceptions; a timeout becomes ``BackendTimeout`` and
an unreachable service ``BackendUnavailable`` (the gateway answers 503 for both). Assets are
uploaded once per service process and then named by content hash.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ml_service import wire
from ml_service.assets import PreparedAsset
from ml_service.engine import (
    BGR,
    LiveFrame,
    LiveOutput,
    Rendered,
    SizeOption,
    analysis_from_json,
    analysis_to_json,
)
from ml_service.errors import BackendTimeout, BackendUnavailable
from ml_service.types import Analysis

_ASSET_MISSING = 404


class MLClient:
    """The facade, served by ``tryon ml serve`` at ``base_url``."""

    def __init__(self, base_url: str, *, timeout_s: float = 15.0, connections: int = 32) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self._uploaded: set[str] = set()
        self._lock = threading.Lock()

    # -- transport ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise BackendTimeout(
                f"no answer from {self.base_url} in time", model=path, backend="http"
            ) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach {self.base_url}: {type(exc).__name__}", model=path, backend="http"
            ) from exc
        if response.status_code >= 400 and response.status_code != _ASSET_MISSING:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": f"HTTP {response.status_code}"}
            raise wire.problem_to_error(
                response.status_code, body if isinstance(body, dict) else {}
            )
        return response

    def _pixels(
        self,
        path: str,
        image: BGR,
        *,
        extra_headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self._request(
            "POST",
            path,
            content=image.tobytes(),
            headers={
                "content-type": wire.PIXELS_MEDIA_TYPE,
                wire.SHAPE_HEADER: wire.shape_header(image),
                **(extra_headers or {}),
            },
            **kwargs,
        )

    def _ensure_asset(self, asset: PreparedAsset, *, force: bool = False) -> str:
        key = asset.content_hash
        with self._lock:
            known = key in self._uploaded
        if force or not known:
            body = json.dumps(wire.asset_to_json(asset)).encode()
            self._request("PUT", f"/v1/assets/{key}", content=body)
            with self._lock:
                self._uploaded.add(key)
        return key

    def _with_asset(self, asset: PreparedAsset, call: Any) -> httpx.Response:
        """Run ``call(hash)``; when the service lost the asset (restart), upload and retry."""
        response: httpx.Response = call(self._ensure_asset(asset))
        if response.status_code == _ASSET_MISSING:
            response = call(self._ensure_asset(asset, force=True))
            if response.status_code == _ASSET_MISSING:
                raise BackendUnavailable(
                    "the ML service keeps losing assets", model="-", backend="http"
                )
        return response

    # -- the facade ---------------------------------------------------------------------------

    def analyze(self, image: BGR) -> Analysis:
        return analysis_from_json(self._pixels("/v1/analyze", image).json())

    def render(
        self,
        image: BGR,
        asset: PreparedAsset,
        *,
        analysis: Analysis | None = None,
        size_options: Sequence[SizeOption] = (),
        face: int = 0,
    ) -> Rendered:
        # A known analysis is not sent: with its landmarks it would outweigh the saving, and
        # headers that large are refused by servers. The service runs perception itself.
        del analysis
        headers = {}
        if size_options:
            headers[wire.SIZES_HEADER] = json.dumps(
                [wire.size_option_to_json(o) for o in size_options], separators=(",", ":")
            )
        response = self._with_asset(
            asset,
            lambda key: self._pixels(
                "/v1/render", image, params={"asset": key, "face": face}, extra_headers=headers
            ),
        )
        out, geometry, timings = _pixels_result(response)
        if out is None:
            raise BackendUnavailable("the ML service sent no image", model="render", backend="http")
        advice = json.loads(response.headers.get(wire.SIZE_HEADER, "null"))
        return Rendered(
            image=out, geometry=geometry, timings_ms=timings, size_recommendation=advice
        )

    def prepare_asset(
        self,
        image: bytes,
        category: str,
        *,
        anchors: Mapping[str, Sequence[float]] | None = None,
        width_mm: float | None = None,
    ) -> PreparedAsset:
        params: dict[str, Any] = {"category": category}
        if width_mm is not None:
            params["width_mm"] = width_mm
        headers = {"content-type": "application/octet-stream"}
        if anchors:
            headers["tryon-anchors"] = json.dumps({k: list(v) for k, v in anchors.items()})
        response = self._request(
            "POST", "/v1/assets", params=params, content=image, headers=headers
        )
        asset = wire.asset_from_json(response.json())
        with self._lock:
            self._uploaded.add(asset.content_hash)
        return asset

    def recommend_size(
        self, analysis: Analysis, *, category: str, options: Sequence[SizeOption]
    ) -> dict[str, Any] | None:
        body = {
            "analysis": analysis_to_json(analysis),
            "category": category,
            "options": [wire.size_option_to_json(o) for o in options],
        }
        result = self._request("POST", "/v1/recommend-size", json=body).json()["recommendation"]
        return dict(result) if isinstance(result, dict) else None

    def live_session(
        self, asset: PreparedAsset, *, output: LiveOutput, face: int = 0
    ) -> RemoteLiveSession:
        response = self._with_asset(
            asset,
            lambda key: self._request(
                "POST", "/v1/live", json={"asset": key, "output": output, "face": face}
            ),
        )
        return RemoteLiveSession(self, str(response.json()["session_id"]))

    def close(self) -> None:
        self._http.close()


class RemoteLiveSession:
    """A live session held by the ML service; frames are posted in order."""

    def __init__(self, client: MLClient, session_id: str) -> None:
        self._client = client
        self.session_id = session_id

    def process(self, frame: BGR) -> LiveFrame:
        response = self._client._pixels(f"/v1/live/{self.session_id}/frames", frame)
        if response.status_code == _ASSET_MISSING:
            raise BackendUnavailable(
                "the live session expired on the ML service", model="live", backend="http"
            )
        image, geometry, timings = _pixels_result(response)
        return LiveFrame(image=image, geometry=geometry, timings_ms=timings)

    def close(self) -> None:
        # The service expires idle sessions itself, so a failed goodbye loses nothing.
        with contextlib.suppress(BackendUnavailable, BackendTimeout):
            self._client._request("DELETE", f"/v1/live/{self.session_id}")


def _pixels_result(response: httpx.Response) -> tuple[BGR | None, dict[str, Any], dict[str, float]]:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return None, dict(body["geometry"]), dict(body.get("timings_ms", {}))
    image = wire.pixels_from_wire(response.content, response.headers.get(wire.SHAPE_HEADER))
    geometry = json.loads(response.headers.get(wire.GEOMETRY_HEADER, "{}"))
    timings = json.loads(response.headers.get(wire.TIMINGS_HEADER, "{}"))
    return image, geometry, timings
