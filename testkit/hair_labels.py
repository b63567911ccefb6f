"""Hand-labelled hair on the test photos, and the hair mask's agreement with it.

The labels (``tests/ml_service/render/fixtures/hair_labels.json``) are polygons drawn by
hand on zoomed views of each head, in the source photo's pixels; each *crop* is a window of
a test photo (``testkit.render_photos``) around one labelled head. The measure runs the
photo pipeline (perception, then ``render.hair.hair_mask`` for the face on that head with
its own body's person mask) and compares inside the window: IoU for heads with hair, and
for a bald head the share of the window wrongly called hair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.perception import Perceiver
from ml_service.render.composite import Roi
from ml_service.render.hair import hair_mask
from ml_service.render.people import pair
from testkit.render_photos import from_source, load_photo

LABELS = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "ml_service"
    / "render"
    / "fixtures"
    / "hair_labels.json"
)


@dataclass(frozen=True)
class Agreement:
    photo: str
    head: str
    iou: float | None  # None for a head without hair
    false_hair: float  # share of the window called hair that is not
    labelled_px: int
    found_px: int


def label_mask(photo: str, head: dict[str, object], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """The labelled hair of ``head`` in ``photo``'s pixels."""
    mask = np.zeros(shape, np.uint8)
    for polygon in head["hair"]:  # type: ignore[attr-defined]
        points = from_source(photo, np.asarray(polygon, np.float64))
        cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return mask > 0


def measure(perceiver: Perceiver) -> list[Agreement]:
    """The hair mask against every labelled crop."""
    data = json.loads(LABELS.read_text())
    out: list[Agreement] = []
    analyses: dict[str, object] = {}
    for crop in data["crops"]:
        photo = crop["photo"]
        image = load_photo(photo)
        if photo not in analyses:
            analyses[photo] = perceiver.analyze(image)
        analysis = analyses[photo]
        x0, y0, x1, y1 = crop["window"]
        window = Roi(x0, y0, x1, y1)
        head = data["heads"][crop["head"]]
        truth = window.of(label_mask(photo, head, image.shape[:2]))
        found = np.zeros_like(truth)
        for face, body in pair(analysis.faces, analysis.bodies):  # type: ignore[attr-defined]
            if face is None or body is None or body.mask is None:
                continue
            fx0, fy0, fx1, fy1 = face.box
            cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
            if x0 <= cx < x1 and y0 <= cy < y1:  # the face of the labelled head
                found |= hair_mask(image, face, body.mask, window) > 0.5
        union = int((truth | found).sum())
        iou = int((truth & found).sum()) / union if truth.any() else None
        out.append(
            Agreement(
                photo=photo,
                head=crop["head"],
                iou=None if iou is None else round(iou, 3),
                false_hair=round(float((found & ~truth).mean()), 4),
                labelled_px=int(truth.sum()),
                found_px=int(found.sum()),
            )
        )
    return out
