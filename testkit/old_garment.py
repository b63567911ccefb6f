"""How much of the old garment a rendered top leaves visible (the "old garment visible"
measure of issue 18; ``make old-garment`` prints it per photo, before and after).

The old clothes are the person's pixels (their own body's mask, holes closed) below the chin
that are not skin-coloured (a chroma model of the face's own skin) nor the face. After the
render, the old garment still *visible* is the old-clothes pixels the render left unchanged
(no channel moved by more than ``CHANGED``) within ``REACH`` shoulder widths of what it
changed: the clothes around the new garment that nothing covered. Self-contained (only the
public render API), so it measures older revisions the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets import prepare_asset
from ml_service.perception import Perceiver
from ml_service.render import render
from ml_service.render.errors import CannotRender
from ml_service.types import Analysis, Body, Face

CHANGED = 12
REACH = 0.25  # of the shoulder joints' distance
OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
        377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
        109)  # fmt: skip
PHOTOS = ("astronaut", "grace_hopper", "camera", "bus_person", "astronaut_bust", "zidane_pair")


@dataclass(frozen=True)
class Visible:
    photo: str
    product: str
    old_px: int | None  # old-garment pixels left visible (None: the render refused)
    zone_px: int  # old-clothes pixels in the zone around the new garment
    reason: str = ""

    @property
    def share(self) -> float:
        return 0.0 if not self.old_px or not self.zone_px else self.old_px / self.zone_px


def _largest_pair(analysis: Analysis) -> tuple[Face | None, Body | None]:
    faces = sorted(analysis.faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    face = faces[0] if faces else None
    if face is None or not analysis.bodies:
        return face, analysis.bodies[0] if analysis.bodies else None
    nose = face.landmarks[1, :2]
    body = min(analysis.bodies, key=lambda b: float(np.linalg.norm(b.landmarks[0, :2] - nose)))
    return face, body


def old_clothes(image: NDArray[np.uint8], face: Face, body: Body) -> NDArray[np.bool_]:
    """The old clothes in ``image`` (see the module docstring)."""
    assert body.mask is not None
    person = (body.mask > 0.5).astype(np.uint8)
    h, w = person.shape
    flood = np.pad(person, 1)
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 2)
    person = flood[1:-1, 1:-1] != 2
    oval = np.zeros((h, w), np.uint8)
    cv2.fillPoly(oval, [np.round(face.landmarks[list(OVAL), :2]).astype(np.int32)], 1)
    ycrcb = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    inner = cv2.erode(oval, np.ones((9, 9), np.uint8)) > 0
    chroma = ycrcb[..., 1:][inner]
    mean, cov = chroma.mean(axis=0), np.cov(chroma.T) + np.eye(2)
    d = ycrcb[..., 1:] - mean
    distance = np.einsum("hwi,ij,hwj->hw", d, np.linalg.inv(cov), d)
    floor = 0.6 * float(np.median(ycrcb[..., 0][inner]))
    skin = (distance < 4.0) & (ycrcb[..., 0] >= floor)
    chin_y = float(face.landmarks[152, 1])
    below = np.arange(h)[:, None] > chin_y
    out: NDArray[np.bool_] = person & below & ~skin & (oval == 0)
    return out


def measure(perceiver: Perceiver, photo: str, image: NDArray[np.uint8], product: str,
            data: bytes) -> Visible:  # fmt: skip
    """The old garment left visible by ``product`` (a top) on ``image``."""
    analysis = perceiver.analyze(image)
    face, body = _largest_pair(analysis)
    if face is None or body is None or body.mask is None:
        return Visible(photo, product, None, 0, "no face and body")
    try:
        out = render(image, analysis, prepare_asset(data, "top")).image
    except CannotRender as exc:
        return Visible(photo, product, None, 0, exc.reason)
    changed = (np.abs(out.astype(np.int16) - image).max(axis=2) > CHANGED).astype(np.uint8)
    lm = body.landmarks
    r = max(1, round(REACH * float(np.linalg.norm(lm[11, :2] - lm[12, :2]))))
    zone = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    clothes = old_clothes(image, face, body) & (zone > 0)
    return Visible(photo, product, int((clothes & (changed == 0)).sum()), int(clothes.sum()))
