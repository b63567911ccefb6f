"""The rendering entry points: :func:`render` for photos and :class:`ProductRenderer`, which
keeps one asset's prepared layers between frames."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.accessories import EarringRenderer
from ml_service.render.errors import CannotRender
from ml_service.render.eyewear import EyewearRenderer
from ml_service.render.faces import choose_face
from ml_service.render.hair import Hair
from ml_service.render.hats import HatRenderer
from ml_service.render.necklace import NecklaceRenderer
from ml_service.render.options import RenderOptions, RenderResult
from ml_service.render.people import people, person
from ml_service.render.tops import TopRenderer
from ml_service.types import Analysis, Body, Face

FACE_CATEGORIES = frozenset({"eyewear", "hat", "earrings"})
BODY_CATEGORIES = frozenset({"necklace", "top"})


class ProductRenderer:
    """Renders one prepared asset on photos or frames (reuse it for a video stream)."""

    def __init__(self, asset: PreparedAsset) -> None:
        self.asset = asset
        self.category = asset.category
        self._eyewear = EyewearRenderer(asset) if asset.category == "eyewear" else None
        self._hat = HatRenderer(asset) if asset.category == "hat" else None
        self._earrings = EarringRenderer(asset) if asset.category == "earrings" else None
        self._necklace = NecklaceRenderer(asset) if asset.category == "necklace" else None
        self._top = TopRenderer(asset) if asset.category == "top" else None

    @property
    def needs_bodies(self) -> bool:
        """Whether perception must run the body model for this product."""
        return self.category in BODY_CATEGORIES

    @property
    def uses_bodies(self) -> bool:
        """Whether the body model improves this product (face products: its person mask
        finds the hair in front of temple arms and earrings). Worth it for photos; live
        video keeps to :attr:`needs_bodies` for its frame budget."""
        return True

    def render(
        self,
        image_bgr: NDArray[np.uint8],
        analysis: Analysis,
        options: RenderOptions | None = None,
        *,
        timestamp_s: float | None = None,
    ) -> RenderResult:
        """Draw the product on the person ``options.face`` picks (faces largest first): face
        products on that face, body products on the body paired with it by geometry.
        ``timestamp_s`` is a video frame's time (earrings swing between frames).

        Raises CannotRender (with the reason, ``render.faces``) when nobody in the photo
        can wear it."""
        options = options or RenderOptions()
        started = time.perf_counter()
        image = _check(image_bgr, analysis)
        out = image.copy()
        geometry: dict[str, Any] = {"category": self.category}
        if self.category in FACE_CATEGORIES:
            face = choose_face(analysis, options.face, category=self.category)
            bodies = {id(f): b for f, b in people([face], analysis.bodies, 1) if f is not None}
            geometry["faces"] = [
                self._draw_face(
                    out, face, _hair(image, bodies.get(id(face)), options), options, timestamp_s
                )
            ]
            geometry["face"] = options.face
            # The shopper's own glasses (photo mode): the widget suggests taking them off.
            geometry["own_glasses"] = bool(face.glasses is not None and face.glasses.present)
        else:
            # The body goes with the chosen face (paired by geometry), whoever is larger.
            chosen = person(analysis.faces, analysis.bodies, options.face)
            geometry["bodies"] = self._draw_people(out, [chosen], options, photo=image)
        ms = (time.perf_counter() - started) * 1000.0
        return RenderResult(image=out, geometry=geometry, timings_ms={"render": round(ms, 2)})

    def _draw_face(
        self,
        out: NDArray[np.uint8],
        face: Face,
        hair: Hair | None,
        options: RenderOptions,
        timestamp_s: float | None = None,
    ) -> dict[str, Any]:
        if self._eyewear is not None:
            return self._eyewear.draw(out, face, options, hair=hair)
        if self._hat is not None:
            return self._hat.draw(out, face, options, hair=hair)
        assert self._earrings is not None
        return self._earrings.draw(out, face, options, hair=hair, timestamp_s=timestamp_s)

    def _draw_people(
        self,
        out: NDArray[np.uint8],
        people: list[tuple[Face | None, Body | None]],
        options: RenderOptions,
        *,
        photo: NDArray[np.uint8],
    ) -> list[dict[str, Any]]:
        drawn: list[dict[str, Any]] = []
        refusals: list[CannotRender] = []
        for face, body in people:
            try:
                if self._necklace is not None:
                    hair = _hair(photo, body, options) if face is not None else None
                    drawn.append(
                        self._necklace.draw(out, face, body, options, hair=hair, photo=photo)
                    )
                else:
                    assert self._top is not None
                    if body is None:
                        raise CannotRender(
                            "the body is not visible below the face", reason="no-body"
                        )
                    drawn.append(self._top.draw(out, body, face, options))
            except CannotRender as exc:
                refusals.append(exc)
        if not drawn:
            raise refusals[0]
        return drawn


def render(
    image_bgr: NDArray[np.uint8],
    analysis: Analysis,
    asset: PreparedAsset,
    options: RenderOptions | None = None,
) -> RenderResult:
    """Render ``asset`` on a photo described by ``analysis`` (see :class:`ProductRenderer`)."""
    return ProductRenderer(asset).render(image_bgr, analysis, options)


def _hair(photo: NDArray[np.uint8], body: Body | None, options: RenderOptions) -> Hair | None:
    if not options.occlusion or body is None or body.mask is None:
        return None
    return Hair(photo=photo, person=body.mask)


def _check(image: NDArray[np.uint8], analysis: Analysis) -> NDArray[np.uint8]:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise CannotRender("expected a BGR uint8 image", reason="bad-image")
    if (arr.shape[1], arr.shape[0]) != (analysis.width, analysis.height):
        raise CannotRender(
            "the analysis is for an image of another size", reason="analysis-mismatch"
        )
    return arr


def _face_area(face: Face) -> float:
    x0, y0, x1, y1 = face.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)
