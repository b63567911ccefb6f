"""Hair from the person mask and the face: found on a synthetic head, then in front of temple
arms and earrings, and under a hat; and on the test photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ml_service.assets import prepare_asset
from ml_service.perception import Perceiver
from ml_service.render import RenderOptions, render
from ml_service.render.composite import Roi
from ml_service.render.geometry import FACE_OVAL
from ml_service.render.hair import hair_mask
from ml_service.types import Analysis, Body
from testkit import images
from testkit.hair_labels import measure
from tests.ml_service.render.synthetic import make_face

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
SKIN, HAIR, BACKGROUND = (120, 150, 200), (30, 45, 70), (170, 170, 170)
SIZE = (640, 480)


def _head(
    *, ear: bool = False, yaw: float = 0.0
) -> tuple[np.ndarray, Analysis, dict[str, np.ndarray]]:
    """A photo of a face (skin, frontal unless ``yaw``) in a mass of hair that falls to the
    jaw, wider than the head; with ``ear``, a skin-coloured ear shows through the hair on
    the image-left."""
    w, h = SIZE
    face = make_face(centre=(320, 220), ipd_px=70, image_size=SIZE, yaw=yaw)
    oval = np.round(face.landmarks[list(FACE_OVAL), :2]).astype(np.int32)
    x0, y0 = oval.min(axis=0)
    x1, y1 = oval.max(axis=0)
    img = np.full((h, w, 3), BACKGROUND, np.uint8)
    regions = {"hair": np.zeros((h, w), np.uint8), "face": np.zeros((h, w), np.uint8)}
    centre = (int((x0 + x1) / 2), int(y0 + 0.45 * (y1 - y0)))
    axes = (int(0.85 * (x1 - x0)), int(0.7 * (y1 - y0)))
    cv2.ellipse(regions["hair"], centre, axes, 0, 0, 360, 255, -1)
    regions["hair"][int(y1) :] = 0  # down to the jaw
    cv2.fillPoly(regions["face"], [oval], 255)
    img[regions["hair"] > 0] = HAIR
    if ear:
        regions["ear"] = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            regions["ear"], (int(x0) - 6, int(0.5 * (y0 + y1))), (9, 18), 0, 0, 360, 255, -1
        )
        img[regions["ear"] > 0] = SKIN
    img[regions["face"] > 0] = SKIN
    person = np.maximum(regions["hair"], regions["face"]).astype(np.float32) / 255.0
    person[int(y1) :, int(x0) : int(x1)] = 1.0  # neck and shoulders
    body = Body(landmarks=np.zeros((33, 4), np.float32), mask=person)
    # The body's "nose" (landmark 0) on the face pairs it with the face.
    body.landmarks[0, :2] = face.landmarks[1, :2]
    body.landmarks[0, 3] = 1.0
    return img, Analysis(width=w, height=h, faces=[face], bodies=[body]), regions


def test_hair_is_the_person_around_the_face_that_is_not_skin() -> None:
    img, analysis, regions = _head(ear=True)
    face, person = analysis.faces[0], analysis.bodies[0].mask
    found = hair_mask(img, face, person, Roi(0, 0, *SIZE)) > 0.5
    hair_only = (regions["hair"] > 0) & (regions["face"] == 0) & (regions["ear"] == 0)
    core = cv2.erode(hair_only.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert found[core].mean() > 0.97
    assert not found[cv2.erode(regions["face"], np.ones((7, 7), np.uint8)) > 0].any()
    assert found[cv2.erode(regions["ear"], np.ones((5, 5), np.uint8)) > 0].mean() < 0.05
    assert not found[person < 0.5].any()  # the background is nobody's hair


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b).max(axis=2) > 8


def test_hair_hides_the_temple_arms_behind_the_hinges() -> None:
    # Turned a little: seen from the front, 3D arms run straight back behind the hinges.
    img, analysis, regions = _head(yaw=30.0)
    bald = Analysis(width=analysis.width, height=analysis.height, faces=analysis.faces)
    glasses = prepare_asset((DEMO / "glasses-rect-tortoise.png").read_bytes(), "eyewear")
    no_arms = render(img, bald, glasses, RenderOptions(temples=False)).image
    arms = _changed(render(img, bald, glasses).image, no_arms)
    with_hair = _changed(render(img, analysis, glasses).image, no_arms)
    front = cv2.dilate(_changed(no_arms, img).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    in_hair = arms & (regions["hair"] > 0) & (regions["face"] == 0) & ~front
    assert in_hair.sum() > 40  # the arms run over the hair at the sides of the head...
    assert with_hair[in_hair].mean() < 0.35  # ...and behind it once the hair is known


def test_hair_over_the_ears_hides_the_earrings_tops() -> None:
    img, analysis, _ = _head()
    earrings = prepare_asset((DEMO / "earrings-drop.png").read_bytes(), "earrings")
    bald = Analysis(width=analysis.width, height=analysis.height, faces=analysis.faces)
    flat = RenderOptions(shadow=False)
    plain = render(img, bald, earrings, flat)
    hidden = render(img, analysis, earrings, flat)
    drawn = _changed(plain.image, img)
    hair = hair_mask(img, analysis.faces[0], analysis.bodies[0].mask, Roi(0, 0, *SIZE))
    # The hooks hang at the jaw's outline, partly over the hair falling beside it.
    under_hair = drawn & (hair > 0.9)
    assert under_hair.sum() > 10
    assert _changed(hidden.image, img)[under_hair].mean() < 0.2
    clear = drawn & (hair < 0.1)
    # The rest still shows (with the ear wire the drop hangs 4 mm lower: here it may lie
    # wholly over the hair falling to the jaw).
    if clear.sum() > 10:
        assert _changed(hidden.image, img)[clear].mean() > 0.9


def test_a_hat_grows_to_sit_on_wide_hair() -> None:
    img, analysis, _ = _head()
    hat = prepare_asset((DEMO / "hat-fedora.png").read_bytes(), "hat")
    bald = Analysis(width=analysis.width, height=analysis.height, faces=analysis.faces)
    plain = render(img, bald, hat).geometry["faces"][0]["head_width_px"]
    on_hair = render(img, analysis, hat).geometry["faces"][0]["head_width_px"]
    assert plain * 1.1 < on_hair <= plain * 1.3 + 0.5


def test_hair_on_the_astronaut(perceiver) -> None:
    """Her hair frames the face: found above and beside it, not on the face or the suit."""
    image = images.load_bgr("astronaut")
    analysis = perceiver.analyze(image)
    face, body = analysis.faces[0], analysis.bodies[0]
    found = hair_mask(image, face, body.mask, Roi(0, 0, 512, 512)) > 0.5
    assert found[20:60, 180:270].mean() > 0.8  # the crown of her head
    assert found[95:118, 160:178].mean() > 0.7  # beside the temple (image-left)
    oval = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(oval, [np.round(face.landmarks[list(FACE_OVAL), :2]).astype(np.int32)], 255)
    assert found[cv2.erode(oval, np.ones((9, 9), np.uint8)) > 0].mean() < 0.01
    assert not found[200:].any()  # nothing below the chin


def test_hair_mask_agrees_with_the_hand_labels(perceiver: Perceiver) -> None:
    """IoU against eleven hand-labelled crops (testkit/hair_labels.py; `make hair-iou` prints
    them). Floors a little under what was measured (mean 0.556): a regression fails, and the
    known failure (Grace Hopper's cap taken for hair, IoU 0.13) stays visible here."""
    results = measure(perceiver)
    ious = {(r.photo, r.head): r.iou for r in results if r.iou is not None}
    assert len(ious) >= 10
    assert np.mean(list(ious.values())) >= 0.53
    for key in (("astronaut", "astronaut"), ("zidane_pair", "ancelotti"), ("camera", "camera")):
        assert ious[key] >= 0.55, key
    bald = next(r for r in results if r.head == "zidane")
    assert bald.false_hair < 0.25
