"""The ML facade: one interface for analysis, rendering, asset preparation, size advice and
live sessions, with an in-process implementation (this module) and an HTTP client
(``ml_service.client``) that behave the same.

Images cross this interface as BGR ``uint8`` arrays (H x W x 3, OpenCV's order), already
decoded and checked by the caller; product images for ``prepare_asset`` as encoded bytes
(their alpha matters). Geometry is JSON-ready data in pixels of the image given.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from ml_service import advice as face_advice
from ml_service import fit
from ml_service.assets import PreparedAsset, prepare_asset
from ml_service.perception import FaceTracker, Perceiver
from ml_service.render.api import ProductRenderer
from ml_service.render.options import RenderOptions
from ml_service.render.video import VideoRenderer
from ml_service.settings import MLSettings
from ml_service.types import Analysis, Body, Face, FaceProblem, Glasses, HeadPose, Rejection

BGR = NDArray[np.uint8]
LiveOutput = Literal["render", "geometry"]


@dataclass(frozen=True, slots=True)
class SizeOption:
    """A purchasable size with the facts a recommendation compares against."""

    variant_id: str
    size: str | None
    measurements: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered photo (BGR, the input's size) and where the product went."""

    image: BGR
    geometry: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)
    size_recommendation: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """One processed live frame: the rendered image (None for geometry-only output)."""

    image: BGR | None
    geometry: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)


class LiveSession(Protocol):
    """Per-connection state for live try-on (tracking, smoothing). Not thread-safe: one
    caller at a time, frames in order."""

    def process(self, frame: BGR) -> LiveFrame: ...

    def close(self) -> None: ...


class TryOnEngine(Protocol):
    def analyze(self, image: BGR) -> Analysis:
        """Faces (landmarks, iris, head pose, scale) and bodies in ``image``."""
        ...

    def render(
        self,
        image: BGR,
        asset: PreparedAsset,
        *,
        analysis: Analysis | None = None,
        size_options: Sequence[SizeOption] = (),
        face: int = 0,
    ) -> Rendered:
        """``asset`` drawn on ``image``; ``analysis`` skips perception when already known;
        with ``size_options`` the result carries a size recommendation among them; ``face``
        picks the person for face products (faces by size, 0 = the largest)."""
        ...

    def prepare_asset(
        self,
        image: bytes,
        category: str,
        *,
        anchors: Mapping[str, Sequence[float]] | None = None,
        width_mm: float | None = None,
    ) -> PreparedAsset:
        """A merchant's product image turned into a try-on asset."""
        ...

    def recommend_size(
        self, analysis: Analysis, *, category: str, options: Sequence[SizeOption]
    ) -> dict[str, Any] | None:
        """The best fitting option for the person in ``analysis``, or None if unknown."""
        ...

    def live_session(
        self, asset: PreparedAsset, *, output: LiveOutput, face: int = 0
    ) -> LiveSession:
        """A new live session rendering ``asset`` (or only tracking, for geometry) on the
        ``face``-th largest face."""
        ...

    def close(self) -> None: ...


# --- JSON forms (shared by the HTTP service and client, and by the gateway's responses) ---


def _floats(a: NDArray[Any], ndigits: int = 2) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), ndigits).tolist()


def analysis_to_json(analysis: Analysis, *, landmarks: bool = True) -> dict[str, Any]:
    """``analysis`` as JSON-ready data (masks are left out: they are image-sized)."""
    faces = []
    for f in analysis.faces:
        face: dict[str, Any] = {
            "box": [round(float(v), 2) for v in f.box],
            "score": round(float(f.score), 4),
            "iris": {"left": _floats(f.iris_left), "right": _floats(f.iris_right)},
            "iris_diameter_px": round(float(f.iris_diameter_px), 3),
            "head_pose": {
                "yaw": round(float(f.head_pose.yaw), 2),
                "pitch": round(float(f.head_pose.pitch), 2),
                "roll": round(float(f.head_pose.roll), 2),
            },
            # Enough digits that rounding it again (to 0.1 mm in size advice) gives the
            # same figure as rounding the value itself.
            "ipd_mm": round(float(f.ipd_mm), 4),
            "mm_per_px": round(float(f.mm_per_px), 5),
        }
        if f.eye_openness is not None:
            face["eye_openness"] = round(float(f.eye_openness), 4)
        if f.glasses is not None:
            face["glasses"] = {
                "present": f.glasses.present,
                "score": round(float(f.glasses.score), 3),
                "dark": f.glasses.dark,
            }
        if landmarks:
            face["landmarks"] = _floats(f.landmarks)
            face["pose"] = {
                "rotation": _floats(f.head_pose.rotation, 6),
                "translation": _floats(f.head_pose.translation, 4),
                "camera_matrix": _floats(f.head_pose.camera_matrix, 4),
            }
        faces.append(face)
    bodies = [{"landmarks": _floats(b.landmarks, 3)} if landmarks else {} for b in analysis.bodies]
    return {
        "width": analysis.width,
        "height": analysis.height,
        "faces": faces,
        "bodies": bodies,
        "rejected": [
            {
                "box": [round(float(v), 2) for v in r.box],
                "score": round(float(r.score), 4),
                "reason": r.reason,
            }
            for r in analysis.rejected
        ],
        "timings_ms": {k: round(float(v), 3) for k, v in analysis.timings_ms.items()},
    }


def analysis_from_json(data: Mapping[str, Any]) -> Analysis:
    """The inverse of ``analysis_to_json(..., landmarks=True)`` (without masks)."""

    def arr(value: Any, shape: tuple[int, ...]) -> NDArray[np.float32]:
        out = np.asarray(value, dtype=np.float32)
        if out.shape != shape:
            raise ValueError(f"expected shape {shape}, got {out.shape}")
        return out

    faces = []
    for f in data["faces"]:
        pose = f["pose"]
        faces.append(
            Face(
                box=tuple(float(v) for v in f["box"]),  # type: ignore[arg-type]
                score=float(f["score"]),
                landmarks=np.asarray(f["landmarks"], dtype=np.float32),
                iris_left=arr(f["iris"]["left"], (2,)),
                iris_right=arr(f["iris"]["right"], (2,)),
                iris_diameter_px=float(f["iris_diameter_px"]),
                head_pose=HeadPose(
                    yaw=float(f["head_pose"]["yaw"]),
                    pitch=float(f["head_pose"]["pitch"]),
                    roll=float(f["head_pose"]["roll"]),
                    rotation=arr(pose["rotation"], (3, 3)),
                    translation=arr(pose["translation"], (3,)),
                    camera_matrix=arr(pose["camera_matrix"], (3, 3)),
                ),
                ipd_mm=float(f["ipd_mm"]),
                mm_per_px=float(f["mm_per_px"]),
                eye_openness=(
                    float(f["eye_openness"]) if f.get("eye_openness") is not None else None
                ),
                glasses=(
                    Glasses(
                        present=bool(f["glasses"]["present"]),
                        score=float(f["glasses"]["score"]),
                        dark=bool(f["glasses"]["dark"]),
                    )
                    if f.get("glasses") is not None
                    else None
                ),
            )
        )
    bodies = [Body(landmarks=np.asarray(b["landmarks"], dtype=np.float32)) for b in data["bodies"]]
    return Analysis(
        width=int(data["width"]),
        height=int(data["height"]),
        faces=faces,
        bodies=bodies,
        timings_ms={k: float(v) for k, v in data.get("timings_ms", {}).items()},
        rejected=[
            Rejection(
                box=tuple(float(v) for v in r["box"]),  # type: ignore[arg-type]
                score=float(r["score"]),
                reason=_face_problem(r["reason"]),
            )
            for r in data.get("rejected", [])
        ],
    )


def _face_problem(value: object) -> FaceProblem:
    if value == "face-too-small":
        return "face-too-small"
    if value == "face-turned-away":
        return "face-turned-away"
    raise ValueError(f"unknown rejection reason {value!r}")


# --- the in-process implementation ----------------------------------------------------------

FACE_CATEGORIES = frozenset({"eyewear", "hat", "earrings"})
RENDERER_CACHE = 64


def perception_needs(category: str) -> dict[str, bool]:
    """What perception a category's renderer uses (pure): eyewear needs no body pose."""
    if category in FACE_CATEGORIES:
        return {"faces": True, "bodies": False, "masks": False}
    if category == "necklace":
        return {"faces": True, "bodies": True, "masks": False}
    return {"faces": True, "bodies": True, "masks": True}


class LocalEngine:
    """The facade in-process: perception (``Perceiver``) and rendering in this process.

    Models load on first use (thread-safe), so building an engine costs nothing; the
    ``Perceiver`` is shared by every caller and every live session (ONNX Runtime sessions are
    thread-safe), while each live session owns its tracker.
    """

    def __init__(self, settings: MLSettings | None = None, *, perceiver: Perceiver | None = None):
        self.settings = settings or MLSettings()
        self._perceiver = perceiver
        self._lock = threading.Lock()
        self._renderers: OrderedDict[str, ProductRenderer] = OrderedDict()
        self.options = RenderOptions()

    @property
    def perceiver(self) -> Perceiver:
        if self._perceiver is None:
            with self._lock:
                if self._perceiver is None:
                    self._perceiver = Perceiver.from_settings(self.settings)
        return self._perceiver

    def warm_up(self) -> None:
        """Load the models now rather than on the first request."""
        self.perceiver.analyze(np.zeros((64, 64, 3), np.uint8), bodies=False)

    def analyze(self, image: BGR) -> Analysis:
        return self.perceiver.analyze(image, masks=False)

    def prepare_asset(
        self,
        image: bytes,
        category: str,
        *,
        anchors: Mapping[str, Sequence[float]] | None = None,
        width_mm: float | None = None,
    ) -> PreparedAsset:
        if category == "eyewear":
            return prepare_asset(image, category, anchors=anchors, frame_width_mm=width_mm)
        return prepare_asset(image, category, anchors=anchors, width_mm=width_mm)

    def render(
        self,
        image: BGR,
        asset: PreparedAsset,
        *,
        analysis: Analysis | None = None,
        size_options: Sequence[SizeOption] = (),
        face: int = 0,
    ) -> Rendered:
        started = time.perf_counter()
        renderer = self._renderer(asset)
        if analysis is None:
            needs = perception_needs(asset.category)
            analysis = self.perceiver.analyze(
                image, faces=needs["faces"], bodies=needs["bodies"], masks=needs["masks"]
            )
        perceived = time.perf_counter()
        result = renderer.render(image, analysis, replace(self.options, face=face))
        timings = {
            "analyze": round((perceived - started) * 1000, 2),
            **{k: float(v) for k, v in result.timings_ms.items()},
        }
        geometry = {"width": int(image.shape[1]), "height": int(image.shape[0]), **result.geometry}
        if asset.category == "eyewear":
            # Face shape and frame advice go back with the picture and nowhere else.
            geometry["face_advice"] = face_advice.advise(analysis)
        advice = (
            recommend_size(analysis, category=asset.category, options=size_options)
            if size_options
            else None
        )
        return Rendered(
            image=result.image, geometry=geometry, timings_ms=timings, size_recommendation=advice
        )

    def recommend_size(
        self, analysis: Analysis, *, category: str, options: Sequence[SizeOption]
    ) -> dict[str, Any] | None:
        return recommend_size(analysis, category=category, options=options)

    def live_session(
        self, asset: PreparedAsset, *, output: LiveOutput, face: int = 0
    ) -> LiveSession:
        # Tracking the chosen face means tracking the larger ones too (the index is by size).
        tracker = self.perceiver.tracker(
            max_faces=min(face, self.settings.max_faces - 1) + 1,
            bodies=perception_needs(asset.category)["bodies"],
        )
        if output == "geometry":
            return _TrackingSession(tracker)
        options = RenderOptions(max_faces=1, face=face)
        return _RenderingSession(VideoRenderer(asset, tracker, options=options))

    def _renderer(self, asset: PreparedAsset) -> ProductRenderer:
        """One renderer per asset, kept: it holds the asset's prepared layers."""
        key = asset.content_hash
        with self._lock:
            renderer = self._renderers.get(key)
            if renderer is not None:
                self._renderers.move_to_end(key)
                return renderer
        renderer = ProductRenderer(asset)
        with self._lock:
            self._renderers[key] = renderer
            while len(self._renderers) > RENDERER_CACHE:
                self._renderers.popitem(last=False)
        return renderer

    def close(self) -> None:
        if self._perceiver is not None:
            self._perceiver.close()
            self._perceiver = None


class _RenderingSession:
    def __init__(self, video: VideoRenderer) -> None:
        self._video = video
        self._started = time.monotonic()

    def process(self, frame: BGR) -> LiveFrame:
        result = self._video.process(frame, time.monotonic() - self._started)
        geometry = {"width": int(frame.shape[1]), "height": int(frame.shape[0]), **result.geometry}
        return LiveFrame(image=result.image, geometry=geometry, timings_ms=dict(result.timings_ms))

    def close(self) -> None:
        self._video.tracker.reset()  # type: ignore[attr-defined]


class _TrackingSession:
    """Live geometry only: the browser draws the product itself."""

    def __init__(self, tracker: FaceTracker) -> None:
        self._tracker = tracker
        self._started = time.monotonic()

    def process(self, frame: BGR) -> LiveFrame:
        started = time.perf_counter()
        analysis = self._tracker.process(frame, time.monotonic() - self._started)
        data = analysis_to_json(analysis, landmarks=False)
        ms = round((time.perf_counter() - started) * 1000, 2)
        geometry = {"width": data["width"], "height": data["height"], "faces": data["faces"]}
        return LiveFrame(image=None, geometry=geometry, timings_ms={"track": ms})

    def close(self) -> None:
        self._tracker.reset()


# --- size advice ------------------------------------------------------------------------------

_SIZE_KEYS = {"eyewear": ("frame_width_mm",), "top": ("shoulder_cm", "chest_cm")}


def recommend_size(
    analysis: Analysis, *, category: str, options: Sequence[SizeOption]
) -> dict[str, Any] | None:
    """``ml_service.fit``'s advice as JSON-ready data; None when the category has no sizes
    we can measure, no option has a size and the measurement, or nothing in the photo fits
    (pure). Options without a size (colours of a one-size product) are never recommended:
    the advice always names a size."""
    keys = _SIZE_KEYS.get(category)
    if keys is None:
        return None
    variants = [
        fit.Variant(
            id=o.variant_id,
            **{k: float(o.measurements[k]) for k in keys if k in o.measurements},
        )
        for o in options
        if o.size and any(k in o.measurements for k in keys)
    ]
    advice = fit.recommend_size(analysis, variants)
    if advice is None:
        return None
    size = next((o.size for o in options if o.variant_id == advice.variant_id), None)
    return {
        "variant_id": advice.variant_id,
        "size": size,
        "confidence": advice.confidence,
        "reason": advice.reason,
        "measurements": {k: round(float(v), 1) for k, v in advice.measurements.items()},
    }
