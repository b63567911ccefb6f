"""Necklaces: a chain that is a 3D curve resting on the neck, with a pendant hanging from it.

The neck is an elliptic cylinder standing on the base of the neck (from the shoulders, or
the chin and jaw without a body). The chain leaves the neck's back, comes round its sides
and, in front, falls with gravity onto the chest: at angle ``t`` around the neck (0 in
front) it sags by ``drop * cos(t) ** SAG_POWER`` and moves forward and outwards as it lies
on the collarbones. Each point is seen in perspective from a camera a few neck widths away
and a little above; the half behind the neck is hidden. Drawn as a link-textured line in
the packshot's chain colour; the pendant (cut out of the packshot: what survives an erosion
thicker than the chain) hangs straight down from the lowest point and catches the light.

Hidden in front of it: the chin (face oval), hair, forearms and hands (pose), and, near the
neck, whatever is not skin there (a collar, a tie knot, a spacesuit's neck ring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.assets.model import PreparedAsset
from ml_service.render.composite import (
    F32,
    PyramidCache,
    Roi,
    gaussian,
    polygon_mask,
    roi_around,
    warp_affine_into,
)
from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    CHIN,
    ELBOW_LEFT,
    ELBOW_RIGHT,
    F64,
    GLABELLA,
    JAW_EAR_LEFT,
    JAW_EAR_RIGHT,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    WRIST_LEFT,
    WRIST_RIGHT,
    face_oval,
    landmark,
)
from ml_service.render.hair import Hair
from ml_service.render.options import RenderOptions, rounded
from ml_service.render.skin import skin_model
from ml_service.types import Body, Face

MIN_VISIBILITY = 0.5
NECKLACE_DROP = 1.25  # the lowest point below the neck's base, in neck widths
SAG_POWER = 1.6  # how the sag grows from the neck's sides to the front
SPREAD = 0.8  # the chain widens by this much (of the neck's half width) on the collarbones
LEAN = 0.4  # forward per unit of sag: the chest slopes out below the neck
NECK_DEPTH = 0.8  # the neck's depth over its width
CAMERA_DISTANCE = 6.0  # neck widths: perspective
VIEW_FROM_ABOVE = 0.25  # how much nearer points project lower (the camera is above the neck)
SAMPLES = 161  # odd: the middle sample is the front
CHAIN_WIDTH = 0.035  # of the neck width
COLLAR_BAND = 0.45  # of the drop: below the neck base, non-skin hides the chain (a collar)
PENDANT_SIZE = 1.3  # the pendant's size against the packshot's proportion
FOREARM_WIDTH = 0.2  # in shoulder-joint distances


@dataclass(frozen=True)
class Chain:
    """The chain as seen: image points (N x 2), whether each is in front of the neck, the
    neck width (pixels) and the lowest point (where the pendant hangs)."""

    points: F64
    visible: NDArray[np.bool_]
    neck_width: float
    lowest: F64


def chain_curve(ends: F64) -> Chain:
    """The chain's 3D curve on a neck whose sides are ``ends`` (image-left first), projected
    (pure)."""
    spread = float(np.linalg.norm(ends[1] - ends[0]))
    across = (ends[1] - ends[0]) / max(spread, 1e-9)
    up = np.array([across[1], -across[0]])
    centre = (ends[0] + ends[1]) / 2
    rx, rz = spread / 2, NECK_DEPTH * spread / 2
    drop = NECKLACE_DROP * spread
    t = np.linspace(-np.pi, np.pi, SAMPLES)
    front = np.clip(np.cos(t), 0.0, None)
    sag = drop * front**SAG_POWER
    x = rx * np.sin(t) * (1.0 + SPREAD * front)
    z = rz * np.cos(t) + LEAN * sag
    k = CAMERA_DISTANCE * spread / (CAMERA_DISTANCE * spread - z)
    gravity = np.array([0.0, 1.0])
    offsets = np.outer(x, across) + np.outer(sag + VIEW_FROM_ABOVE * z, gravity)
    # Without sag the ellipse lies in the base plane (tilted with the shoulders).
    offsets += np.outer(-VIEW_FROM_ABOVE * z * 0.0, up)
    points = centre + offsets * k[:, None]
    visible = np.cos(t) > -0.05
    return Chain(points=points, visible=visible, neck_width=spread, lowest=points[SAMPLES // 2])


@dataclass(frozen=True)
class _Pendant:
    layer: PyramidCache
    size: tuple[int, int]
    hang: F64  # where it hangs from (its top centre), layer pixels
    scale: float  # layer pixels per neck width, as the packshot has it


class NecklaceRenderer:
    def __init__(self, asset: PreparedAsset) -> None:
        if asset.category != "necklace":
            raise CannotRender(f"not a necklace asset: {asset.category}", reason="wrong-category")
        self.asset = asset
        image = asset.image
        a = asset.anchors
        clasps = float(np.linalg.norm(np.subtract(a["clasp_right"], a["clasp_left"])))
        solid = (image[:, :, 3] > 127).astype(np.uint8)
        # The chain is thin: an erosion a few chain widths thick leaves only the pendant.
        k = max(3, round(0.02 * image.shape[1]) | 1)
        core = cv2.erode(solid, np.ones((k, k), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(core)
        self._pendant: _Pendant | None = None
        chain_mask = solid > 0
        if count > 1:
            best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            grown = cv2.dilate((labels == best).astype(np.uint8), np.ones((k + 4, k + 4), np.uint8))
            pendant = (grown > 0) & (solid > 0)
            ys, xs = np.nonzero(pendant)
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, max(0, ys.min() - k), ys.max() + 1
            layer = image[y0:y1, x0:x1].copy()
            layer[:, :, 3] = layer[:, :, 3] * pendant[y0:y1, x0:x1]
            self._pendant = _Pendant(
                layer=PyramidCache(np.ascontiguousarray(layer)),
                size=(int(x1 - x0), int(y1 - y0)),
                hang=np.array([(x1 - x0) / 2, 0.0]),
                # The packshot's clasps lie about a neck width and a half apart worn.
                scale=clasps / 1.5,
            )
            chain_mask &= ~pendant
        colours = image[:, :, :3][chain_mask]
        self._colour = (
            np.median(colours, axis=0).astype(np.float32)
            if len(colours)
            else np.array([60, 170, 215], np.float32)
        )

    def draw(
        self,
        image: NDArray[np.uint8],
        face: Face | None,
        body: Body | None,
        options: RenderOptions,
        *,
        hair: Hair | None = None,
        photo: NDArray[np.uint8] | None = None,
    ) -> dict[str, Any]:
        """Render on ``image`` (in place); ``photo`` is the untouched photo (for the skin and
        light), ``image`` itself when not given."""
        photo = image if photo is None else photo
        ends, source = neck_points(face, body)
        h, w = image.shape[:2]
        if not (0 <= ends[:, 0].mean() < w and 0 <= ends[:, 1].mean() < h):
            raise CannotRender("the neck is outside the photo", reason="neck-not-visible")
        chain = chain_curve(ends)
        width = chain.neck_width
        pendant_box = self._pendant_box(chain)
        points = chain.points[chain.visible]
        extra = [pendant_box] if pendant_box is not None else []
        roi = roi_around(np.vstack([points, *extra]), (w, h), pad=int(4 + 0.1 * width))
        if roi.empty:
            return {"clasp_ends": rounded(ends), "from": source, "drawn": False}
        colour, alpha = self._chain_layer(chain, roi)
        if self._pendant is not None:
            self._add_pendant(colour, alpha, chain, roi, photo)
        if options.occlusion:
            alpha *= 1.0 - _in_front(photo, face=face, body=body, hair=hair, roi=roi, chain=chain)
        drawn = float(alpha.max(initial=0.0)) > 0.02
        base = roi.of(image).astype(np.float32)
        if options.shadow and drawn:
            shift = np.array([[1, 0, 0.02 * width], [0, 1, 0.04 * width]], np.float32)
            soft = gaussian(alpha, max(0.8, 0.03 * width))
            shadow = np.asarray(cv2.warpAffine(soft, shift, (alpha.shape[1], alpha.shape[0])))
            base *= (1.0 - 0.35 * shadow)[:, :, None]
        a = alpha[:, :, None]
        roi.of(image)[:] = np.clip(base * (1.0 - a) + colour * a, 0, 255).astype(np.uint8)
        return {
            "clasp_ends": rounded(ends),
            "from": source,
            "lowest": rounded(chain.lowest[None])[0],
            "drawn": drawn,
        }

    def _pendant_box(self, chain: Chain) -> F64 | None:
        if self._pendant is None:
            return None
        s = PENDANT_SIZE * chain.neck_width / self._pendant.scale
        pw, ph = self._pendant.size
        top = chain.lowest - self._pendant.hang * s
        return np.array([top, top + np.array([pw, ph]) * s])

    def _chain_layer(self, chain: Chain, roi: Roi) -> tuple[F32, F32]:
        """The chain's colour (links: bright and dark in turn, a darker rim) and coverage."""
        h, w = roi.shape
        alpha = np.zeros((h, w), np.uint8)
        shade = np.zeros((h, w), np.uint8)
        thick = max(1, round(CHAIN_WIDTH * chain.neck_width))
        shift = np.array([roi.x0, roi.y0], np.float64)
        pts = np.round((chain.points - shift) * 16).astype(np.int32)
        link = max(2.0, 2.5 * thick)
        travelled = np.concatenate(
            [[0.0], np.cumsum(np.linalg.norm(np.diff(chain.points, axis=0), axis=1))]
        )
        for i in range(len(pts) - 1):
            if not (chain.visible[i] and chain.visible[i + 1]):
                continue
            a, b = (int(pts[i, 0]), int(pts[i, 1])), (int(pts[i + 1, 0]), int(pts[i + 1, 1]))
            cv2.line(alpha, a, b, 255, thick + 1, cv2.LINE_AA, shift=4)
            bright = 255 if int(travelled[i] / link) % 2 == 0 else 150
            cv2.line(shade, a, b, bright, max(1, thick), cv2.LINE_AA, shift=4)
        gain = 0.55 + 0.75 * shade.astype(np.float32) / 255.0
        colour = np.clip(gain[:, :, None] * self._colour[None, None, :], 0, 255)
        return colour.astype(np.float32), alpha.astype(np.float32) / 255.0

    def _add_pendant(
        self, colour: F32, alpha: F32, chain: Chain, roi: Roi, photo: NDArray[np.uint8]
    ) -> None:
        """The pendant over the chain, hanging straight down, lit like the neck around it
        (its level) with a specular glint (catching the light)."""
        assert self._pendant is not None
        p = self._pendant
        s = PENDANT_SIZE * chain.neck_width / p.scale
        t = chain.lowest - p.hang * s
        pw, ph = p.size
        box = roi_around(np.array([t, t + np.array([pw, ph]) * s]), (roi.x1, roi.y1), pad=1)
        box = Roi(max(box.x0, roi.x0), max(box.y0, roi.y0), box.x1, box.y1)
        if box.empty:
            return
        matrix = np.array([[s, 0.0, t[0]], [0.0, s, t[1]]])
        layer, to_level = p.layer.for_scale(s)
        full = np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_level)
        warped = warp_affine_into(layer, full[:2], box).astype(np.float32)
        a = warped[:, :, 3] / 255.0
        around = box.of(photo).astype(np.float32).mean() / 255.0
        level = float(np.clip((around / 0.45) ** 0.3, 0.75, 1.2))
        lit = warped[:, :, :3] * level
        # A glint up and to the left of the pendant's centre.
        centre = t + np.array([0.35 * pw, 0.45 * ph]) * s - [box.x0, box.y0]
        ys, xs = np.ogrid[0 : a.shape[0], 0 : a.shape[1]]
        r2 = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2
        glint = np.exp(-r2 / max(1.0, (0.08 * pw * s) ** 2)).astype(np.float32) * 0.8 * a
        lit = lit + glint[:, :, None] * (255.0 - lit)
        inner = Roi(box.x0 - roi.x0, box.y0 - roi.y0, box.x1 - roi.x0, box.y1 - roi.y0)
        c, al = inner.of(colour), inner.of(alpha)
        c[:] = c * (1.0 - a[:, :, None]) + lit * a[:, :, None]
        al[:] = al + a * (1.0 - al)


def _in_front(
    photo: NDArray[np.uint8],
    *,
    face: Face | None,
    body: Body | None,
    hair: Hair | None,
    roi: Roi,
    chain: Chain,
) -> F32:
    """What hides the chain: the chin, hair, forearms and hands, and near the neck whatever
    is not the wearer's skin (collars, ties, a neck ring)."""
    h, w = roi.shape
    hide = np.zeros((h, w), np.float32)
    if face is not None:
        hide = np.maximum(hide, polygon_mask(face_oval(face), roi, feather=1.0))
        skin = skin_model(photo, face)
        if hair is not None:
            hair = Hair(photo=hair.photo, person=hair.person, skin=skin)
            hide = np.maximum(hide, hair.in_roi(face, roi))
        if skin is not None:
            # Not limited to the person mask: it often has a notch at a collar's opening.
            covered = ~skin.likely(np.ascontiguousarray(roi.of(photo)))
            ys = np.arange(h, dtype=np.float32) + roi.y0
            base_y = float(chain.points[chain.visible][:, 1].min())
            drop = float(chain.lowest[1]) - base_y
            band = (ys < base_y + COLLAR_BAND * drop)[:, None]
            collar = (covered & band).astype(np.float32)
            hide = np.maximum(hide, gaussian(collar, 0.8))
    if body is not None:
        lm = np.asarray(body.landmarks, np.float64)
        joints = float(np.linalg.norm(lm[SHOULDER_LEFT, :2] - lm[SHOULDER_RIGHT, :2]))
        arms = np.zeros((h, w), np.uint8)
        thick = max(2, round(FOREARM_WIDTH * joints))
        shift = np.array([roi.x0, roi.y0], np.float64)
        for e, wr in ((ELBOW_LEFT, WRIST_LEFT), (ELBOW_RIGHT, WRIST_RIGHT)):
            if min(lm[e, 3], lm[wr, 3]) < MIN_VISIBILITY:
                continue
            p, q = lm[e, :2] - shift, lm[wr, :2] - shift
            end = q + 0.45 * (q - p)  # past the wrist: the hand
            cv2.line(arms, (round(p[0]), round(p[1])), (round(end[0]), round(end[1])), 1, thick)
        if body.mask is not None:
            arms &= (roi.of(body.mask) > 0.5).astype(np.uint8)
        hide = np.maximum(hide, arms.astype(np.float32))
    return hide


def neck_points(face: Face | None, body: Body | None) -> tuple[F64, str]:
    """Where the chain's ends sit on the sides of the neck (image-left first), from the body's
    shoulders when they are visible, else from the face (chin and jaw)."""
    if body is not None:
        lm = np.asarray(body.landmarks, np.float64)
        vis = lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3]
        if (vis >= MIN_VISIBILITY).all():
            left, right = lm[SHOULDER_RIGHT, :2], lm[SHOULDER_LEFT, :2]  # image-left first
            span = float(np.linalg.norm(right - left))
            across = (right - left) / max(span, 1e-9)
            up = np.array([across[1], -across[0]])
            base = (left + right) / 2 + up * 0.2 * span
            if face is not None:
                # Not above the chin: a bowed head brings the face down, not the neck up.
                chin = landmark(face, CHIN)
                base = base if float((base - chin) @ up) < 0 else chin - up * 0.05 * span
            return np.array([base - across * 0.17 * span, base + across * 0.17 * span]), "body"
    if face is not None:
        chin, brow = landmark(face, CHIN), landmark(face, GLABELLA)
        down = (chin - brow) / max(float(np.linalg.norm(chin - brow)), 1e-9)
        jaw = float(np.linalg.norm(landmark(face, JAW_EAR_LEFT) - landmark(face, JAW_EAR_RIGHT)))
        across = np.array([-down[1], down[0]]) * (1 if down[1] >= 0 else -1)
        across = across if across[0] >= 0 else -across
        base = chin + down * 0.45 * jaw
        return np.array([base - across * 0.36 * jaw, base + across * 0.36 * jaw]), "face"
    raise CannotRender("no face or shoulders found for a necklace", reason="no-neck")
