"""``prepare_asset``: a merchant's product image -> a :class:`PreparedAsset`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets import anchors as find
from ml_service.assets.cutout import Cutout, cut_out, enclosed, object_components
from ml_service.assets.decode import decode_image, to_bgra
from ml_service.assets.glb import is_glb
from ml_service.assets.model import (
    CATEGORIES,
    REQUIRED_ANCHORS,
    Category,
    Point,
    PreparedAsset,
    validate_anchors,
)
from ml_service.render.errors import AssetRefused, BadAnchors

DEFAULT_FRAME_WIDTH_MM = 138.0  # a medium adult frame
DEFAULT_EARRING_DROP_MM = 30.0
MIN_IMAGE_SIDE = 32
MIN_OBJECT_SIDE = 40  # pixels; below this the render would be a smudge
MAX_WORK_SIDE = 1600  # larger packshots are reduced first: renders never need more
MODEL_CATEGORIES: tuple[Category, ...] = ("eyewear", "hat")  # what a .glb may be
OTHER_OBJECT_SHARE = 0.2  # a second object this big (vs the largest) means "several objects"


def prepare_asset(
    image: bytes | NDArray[np.uint8],
    category: str,
    *,
    anchors: Mapping[str, Sequence[float]] | None = None,
    frame_width_mm: float | None = None,
    width_mm: float | None = None,
) -> PreparedAsset:
    """Cut out, crop and anchor a product image.

    ``image`` is encoded bytes (PNG/JPEG/WebP, decoded under caps; or a glTF binary for
    eyewear and hats: :func:`prepare_model`) or a uint8 grey/BGR/BGRA array. ``anchors``
    override the automatic ones (asset pixel coordinates of the *input* image).
    ``frame_width_mm`` (eyewear) or ``width_mm`` (earrings: drop length) give the real size.
    Raises ``AssetRefused`` (with ``reason``) or ``BadAnchors``.
    """
    if category not in CATEGORIES:
        raise AssetRefused(
            f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}",
            reason="unknown-category",
        )
    cat: Category = category  # narrowed by the membership test above
    size_mm = frame_width_mm if frame_width_mm is not None else width_mm
    if size_mm is not None and not (5.0 <= float(size_mm) <= 400.0):
        raise AssetRefused(f"width {size_mm} mm is not plausible", reason="bad-width")
    if isinstance(image, bytes | bytearray | memoryview) and is_glb(bytes(image)):
        return prepare_model(bytes(image), cat, anchors=anchors, width_mm=size_mm)
    if isinstance(image, bytes | bytearray | memoryview):
        raw = bytes(image)
        bgra = decode_image(raw)
        source_hash = hashlib.sha256(raw).hexdigest()
    else:
        bgra = to_bgra(np.asarray(image))
        source_hash = hashlib.sha256(np.ascontiguousarray(bgra).tobytes()).hexdigest()
    overrides = (
        validate_anchors(
            {k: list(v) for k, v in anchors.items()}, (bgra.shape[1], bgra.shape[0]), partial=True
        )
        if anchors
        else {}
    )
    h, w = bgra.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE:
        raise AssetRefused(f"the image is {w}x{h}: too small", reason="too-small")
    scale = min(1.0, MAX_WORK_SIDE / max(h, w))
    if scale < 1.0:
        bgra = np.asarray(
            cv2.resize(bgra, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA),
            np.uint8,
        )
        overrides = {k: (x * scale, y * scale) for k, (x, y) in overrides.items()}
    cut = cut_out(bgra)
    keep, (x0, y0, x1, y1) = _select_object(cut, cat)
    crop = _crop(cut, keep, (x0, y0, x1, y1))
    overrides = {k: (x - x0, y - y0) for k, (x, y) in overrides.items()}
    return _build(cat, crop, overrides, size_mm, source_hash)


def prepare_model(
    data: bytes,
    category: Category,
    *,
    anchors: Mapping[str, Sequence[float]] | None = None,
    width_mm: float | None = None,
) -> PreparedAsset:
    """A glTF binary (``.glb``) -> an asset that carries the model: its packshot is
    rendered from the model (front view, on white) and anchored like an uploaded one, at
    the model's real width unless ``width_mm`` says otherwise. Eyewear and hats only.
    Raises ``AssetRefused`` (``model-category``, ``bad-model``)."""
    # Imported here: the renderer's package imports this one (assets -> render -> assets).
    from ml_service.assets.glb import eyewear_from_glb, hat_from_glb  # noqa: PLC0415
    from ml_service.render.packshot import render_packshot  # noqa: PLC0415

    if category not in MODEL_CATEGORIES:
        raise AssetRefused(
            f"3D models are taken for {' and '.join(MODEL_CATEGORIES)}, not {category}",
            reason="model-category",
        )
    if category == "eyewear":
        mesh = eyewear_from_glb(data)
        front = mesh.part != 2  # not the temples: the packshot is the front's
        used = np.unique(mesh.triangles[front].reshape(-1))
        real_width = float(np.ptp(mesh.vertices[used, 0]))
        picture = render_packshot(
            replace(
                mesh,
                triangles=mesh.triangles[front],
                material=mesh.material[front],
                part=mesh.part[front],
            ),
            px_per_mm=8.0,
        )
    else:
        mesh = hat_from_glb(data)
        real_width = None
        picture = render_packshot(mesh, px_per_mm=3.0)
    asset = prepare_asset(picture, category, anchors=anchors, frame_width_mm=width_mm or real_width)
    return replace(asset, model=data, source_hash=hashlib.sha256(data).hexdigest())


def _select_object(
    cut: Cutout, category: Category
) -> tuple[NDArray[np.bool_], tuple[int, int, int, int]]:
    h, w = cut.alpha.shape
    join = max(2, int(0.012 * np.hypot(h, w)))
    labels, order, areas = object_components(cut.alpha, join_px=join)
    if not order or areas[order[0]] < 0.002 * h * w:
        raise AssetRefused("no clear object in the image", reason="no-clear-object")
    big = [i for i in order if areas[i] >= OTHER_OBJECT_SHARE * areas[order[0]]]
    allowed = 2 if category == "earrings" else 1
    if len(big) > allowed:
        raise AssetRefused(
            f"{len(big)} separate objects in the image; show one product alone",
            reason="several-objects",
        )
    if category == "earrings" and len(big) == 2:
        # A pair: keep the one on the image left; the renderer mirrors it for the other ear.
        centres = [float(np.nonzero(labels == i)[1].mean()) for i in big]
        big = [big[int(np.argmin(centres))]]
    keep = np.isin(labels, big)
    # Holes belong to the object that encloses them (lenses inside their rims).
    keep |= enclosed(~(keep & (cut.alpha > 0.5))) & cut.holes
    solid = keep & ((cut.alpha > 0.02) | cut.holes)
    ys, xs = np.nonzero(solid)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    if max(x1 - x0, y1 - y0) < MIN_OBJECT_SIDE:
        raise AssetRefused(
            f"the object is only {x1 - x0}x{y1 - y0} pixels: too small", reason="too-small"
        )
    if (x1 - x0) * (y1 - y0) > 0.98 * h * w and float(cut.alpha.mean()) > 0.95:
        raise AssetRefused("no clear object: it fills the whole image", reason="no-clear-object")
    pad = 2
    box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
    return keep, box


class _Crop:
    def __init__(
        self, cut: Cutout, keep: NDArray[np.bool_], box: tuple[int, int, int, int]
    ) -> None:
        x0, y0, x1, y1 = box
        self.bgr = cut.bgr[y0:y1, x0:x1].copy()
        self.alpha = np.where(keep, cut.alpha, 0.0)[y0:y1, x0:x1].astype(np.float32)
        self.holes = (cut.holes & keep)[y0:y1, x0:x1]
        bg = np.maximum(np.array(cut.background, np.float32), 1.0)
        self.transmission = np.clip(self.bgr.astype(np.float32) / bg, 0.0, 1.0)
        self.solid = self.alpha > 0.5


def _crop(cut: Cutout, keep: NDArray[np.bool_], box: tuple[int, int, int, int]) -> _Crop:
    return _Crop(cut, keep, box)


def _build(
    category: Category,
    crop: _Crop,
    overrides: dict[str, Point],
    size_mm: float | None,
    source_hash: str,
) -> PreparedAsset:
    alpha = crop.alpha.copy()
    bgr = crop.bgr
    lenses: list[list[Point]] = []
    tinted = False
    if category == "eyewear":
        lum = crop.transmission.mean(axis=2)
        parts = find.eyewear(crop.solid, crop.holes, lum)
        auto = parts.anchors
        lenses, tinted = parts.lenses, parts.tinted
        lens_any = np.zeros_like(crop.solid)
        for m in parts.lens_masks:
            lens_any |= m
        # Lens pixels are stored opaque with their transmission colour (their colour on
        # white); the renderer multiplies the photo by it inside the lens polygons.
        bgr = np.where(lens_any[:, :, None], (crop.transmission * 255).astype(np.uint8), bgr)
        alpha = np.where(lens_any, 1.0, alpha)
        size_mm = size_mm or DEFAULT_FRAME_WIDTH_MM
        frame_px = crop.solid & ~lens_any
    elif category == "hat":
        auto = find.hat(crop.solid)
        frame_px = crop.solid
    elif category == "earrings":
        auto = find.earring(crop.solid)
        size_mm = size_mm or DEFAULT_EARRING_DROP_MM
        frame_px = crop.solid
    elif category == "necklace":
        auto = find.necklace(crop.solid)
        frame_px = crop.solid
    else:
        auto = find.top(crop.solid)
        frame_px = crop.solid
    anchors = {**auto, **overrides}
    missing = [n for n in REQUIRED_ANCHORS[category] if n not in anchors]
    if missing:  # pragma: no cover - finders return every required anchor
        raise BadAnchors(f"missing anchors {missing}")
    unknown = sorted(set(overrides) - set(REQUIRED_ANCHORS[category]))
    if unknown:
        raise BadAnchors(f"unknown anchors for {category}: {unknown}")
    colour = _material_colour(bgr, frame_px)
    image = np.dstack([bgr, np.round(alpha * 255).astype(np.uint8)])
    return PreparedAsset(
        category=category,
        image=np.ascontiguousarray(image),
        anchors=anchors,
        width_mm=float(size_mm) if size_mm is not None else None,
        lenses=lenses,
        colour=colour,
        tinted=tinted,
        source_hash=source_hash,
    )


def _material_colour(bgr: NDArray[np.uint8], mask: NDArray[np.bool_]) -> tuple[int, int, int]:
    px = bgr[mask]
    if px.size == 0:
        return (40, 40, 40)
    med = np.median(px, axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))
