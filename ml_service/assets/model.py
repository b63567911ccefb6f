"""The prepared try-on asset: a cut-out RGBA image plus anchors, and its serialised form.

Serialised, an asset is two byte strings, both deterministic for the same content:
``png`` (the BGRA cut-out as an RGBA PNG) and ``meta_json`` (category, anchors, lens polygons,
real-world size, colours). ``content_hash`` is the SHA-256 of both, so identical preparations
of identical images hash the same and a stored asset can be checked on load.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast, get_args

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.errors import AssetUnreadable, BadAnchors

Category = Literal["eyewear", "hat", "earrings", "necklace", "top"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
Point = tuple[float, float]

FORMAT_VERSION = 1

# Anchor names each category must have (pixel coordinates in the asset image).
REQUIRED_ANCHORS: dict[Category, tuple[str, ...]] = {
    "eyewear": ("lens_left", "lens_right", "bridge", "frame_left", "frame_right"),
    "hat": ("brim_left", "brim_right", "crown_left", "crown_right"),
    "earrings": ("hook",),
    "necklace": ("clasp_left", "clasp_right"),
    "top": (
        "collar",
        "shoulder_left",
        "shoulder_right",
        "armpit_left",
        "armpit_right",
        "sleeve_left",
        "sleeve_right",
        "hem_left",
        "hem_right",
    ),
}


@dataclass(frozen=True)
class PreparedAsset:
    """A product image ready to render. ``image`` is BGRA uint8, tightly cropped."""

    category: Category
    image: NDArray[np.uint8]
    anchors: dict[str, Point]
    width_mm: float | None = None  # eyewear: frame width; earrings: drop length
    lenses: list[list[Point]] = field(default_factory=list)  # eyewear lens polygons
    colour: tuple[int, int, int] = (40, 40, 40)  # BGR of the main material (temple arms)
    tinted: bool = False  # eyewear: sunglasses-like lenses
    source_hash: str = ""  # SHA-256 of the merchant's image bytes (or pixels)
    model: bytes | None = None  # eyewear/hat: the merchant's (or demo's) glTF binary

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def meta(self) -> dict[str, Any]:
        """Everything but the pixels, as JSON-ready data."""
        return {
            "format": FORMAT_VERSION,
            "category": self.category,
            "size": list(self.size),
            "anchors": {
                k: [round(v[0], 2), round(v[1], 2)] for k, v in sorted(self.anchors.items())
            },
            "width_mm": self.width_mm,
            "lenses": [[[round(x, 2), round(y, 2)] for x, y in poly] for poly in self.lenses],
            "colour": list(self.colour),
            "tinted": self.tinted,
            "source_hash": self.source_hash,
            **({"model_glb": base64.b64encode(self.model).decode()} if self.model else {}),
        }

    @property
    def png(self) -> bytes:
        """The cut-out as PNG bytes (RGBA, deterministic)."""
        ok, buf = cv2.imencode(".png", self.image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGRA array
            raise RuntimeError("PNG encoding failed")
        return bytes(buf)

    @property
    def meta_json(self) -> bytes:
        """The metadata as compact, key-sorted JSON bytes."""
        return json.dumps(self.meta(), sort_keys=True, separators=(",", ":")).encode()

    @property
    def content_hash(self) -> str:
        """SHA-256 over the serialised pixels and metadata. Computed once per asset (it
        PNG-encodes the pixels): an asset is not changed once prepared (``with_anchors``
        makes a new one), and the engine looks its renderer up by this on every render."""
        cached: str | None = self.__dict__.get("_content_hash")
        if cached is None:
            cached = content_hash(self.png, self.meta_json)
            object.__setattr__(self, "_content_hash", cached)
        return cached

    def with_anchors(self, overrides: dict[str, Point]) -> PreparedAsset:
        """A copy with some anchors replaced by hand-given ones (validated)."""
        merged = dict(self.anchors)
        merged.update(validate_anchors(overrides, self.size, partial=True))
        return replace(self, anchors=merged)


def content_hash(png: bytes, meta_json: bytes) -> str:
    """The content hash of a serialised asset."""
    h = hashlib.sha256()
    h.update(len(png).to_bytes(8, "big"))
    h.update(png)
    h.update(meta_json)
    return h.hexdigest()


def load_asset(png: bytes, meta_json: bytes, *, expected_hash: str | None = None) -> PreparedAsset:
    """Rebuild an asset from its serialised form; checks the hash when one is given."""
    if expected_hash is not None and content_hash(png, meta_json) != expected_hash:
        raise AssetUnreadable(
            "the stored asset does not match its content hash", reason="hash-mismatch"
        )
    try:
        meta = json.loads(meta_json)
        category = meta["category"]
        if category not in CATEGORIES or meta.get("format") != FORMAT_VERSION:
            raise ValueError(category)
        buf = np.frombuffer(png, np.uint8)
        decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
        if decoded is None or decoded.ndim != 3 or decoded.shape[2] != 4:
            raise ValueError("png")
        if decoded.dtype != np.uint8:
            raise ValueError("png depth")  # a 16-bit PNG is not something we wrote
        image = np.asarray(decoded, np.uint8)
        size = (int(image.shape[1]), int(image.shape[0]))
        anchors = validate_anchors(meta["anchors"], size)
        lenses = [[(float(x), float(y)) for x, y in poly] for poly in meta.get("lenses", [])]
        colour = tuple(int(c) for c in meta.get("colour", (40, 40, 40)))
        width_mm = meta.get("width_mm")
        model_b64 = meta.get("model_glb")
        model = base64.b64decode(model_b64, validate=True) if model_b64 is not None else None
    except (KeyError, TypeError, ValueError, json.JSONDecodeError, BadAnchors, binascii.Error):
        raise AssetUnreadable("the stored asset is malformed", reason="malformed-asset") from None
    asset = PreparedAsset(
        category=cast(Category, category),
        image=image,
        anchors=anchors,
        width_mm=float(width_mm) if width_mm is not None else None,
        lenses=lenses,
        colour=cast(tuple[int, int, int], colour[:3]),
        tinted=bool(meta.get("tinted", False)),
        source_hash=str(meta.get("source_hash", "")),
        model=model,
    )
    missing = [n for n in REQUIRED_ANCHORS[asset.category] if n not in asset.anchors]
    if missing:
        raise AssetUnreadable(f"the stored asset lacks anchors {missing}", reason="malformed-asset")
    return asset


def validate_anchors(
    raw: object, size: tuple[int, int], *, partial: bool = False
) -> dict[str, Point]:
    """Anchors as ``{name: (x, y)}`` inside the image (a small margin allowed)."""
    if not isinstance(raw, dict):
        raise BadAnchors("anchors must be an object of name -> [x, y]")
    width, height = size
    margin = 0.25 * max(width, height)  # sleeve ends and clasp ends may lie just outside
    out: dict[str, Point] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name or len(name) > 40:
            raise BadAnchors("anchor names must be short strings")
        if (
            not isinstance(value, list | tuple)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise BadAnchors(f"anchor {name!r} must be [x, y] numbers")
        x, y = float(value[0]), float(value[1])
        if not (np.isfinite(x) and np.isfinite(y)):
            raise BadAnchors(f"anchor {name!r} is not finite")
        if not (-margin <= x <= width + margin and -margin <= y <= height + margin):
            raise BadAnchors(
                f"anchor {name!r} ({x:g}, {y:g}) is outside the {width}x{height} image"
            )
        out[name] = (x, y)
    if not partial and not out:
        raise BadAnchors("no anchors")
    return out
