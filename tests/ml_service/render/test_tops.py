"""Tops: the body fit (shoulder seams on the outline), the garment's parts, the placement, and
renders on synthetic bodies and the test photos (goldens in test_render_real.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from ml_service.assets import prepare_asset
from ml_service.render import render
from ml_service.render.body_fit import BodyFit, fit_body
from ml_service.render.errors import CannotRender
from ml_service.render.garment import SLEEVE_LEFT, SLEEVE_RIGHT, TORSO, prepare_garment
from ml_service.render.geometry import CHIN, FACE_OVAL
from ml_service.render.tops import SLEEVE_TURN_DEG, place
from ml_service.types import Analysis
from testkit.render_photos import load_photo
from tests.ml_service.render.synthetic import make_body, make_face

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
SHIRTS = ("tshirt-navy", "tshirt-striped")


@pytest.fixture(scope="module", params=SHIRTS)
def shirt(request):
    return prepare_asset((DEMO / f"{request.param}.png").read_bytes(), "top")


def _mask_top(mask: np.ndarray, x: float, below: float) -> float:
    """The first row on the person in column ``x`` below row ``below``."""
    column = mask[int(below) :, round(x)] > 0.5
    return float(np.argmax(column) + int(below))


def _scene(size=(640, 720)):
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    # A textured background, so that any change shows.
    img = np.dstack([(xx * 0.3 + 40) % 255, (yy * 0.2 + 90) % 255, ((xx + yy) * 0.1 + 60) % 255])
    return img.astype(np.uint8)


def test_seams_rest_on_the_outline_when_the_pose_is_pulled_up() -> None:
    """Perception puts the shoulder joints of a head-and-shoulders photo ~50 px too high
    (docs/render.md): the seams must still rest on the silhouette's shoulders."""
    face = make_face(centre=(320, 175), ipd_px=45, image_size=(640, 720))
    body = make_body(image_size=(640, 720))
    lifted = body.landmarks.copy()
    lifted[:, 1] -= 50
    wrong = replace(body, landmarks=lifted)
    chin_y = float(face.landmarks[CHIN, 1])
    for candidate in (body, wrong):
        fit = fit_body(candidate, face)
        for seam in fit.seams:
            assert seam[1] == pytest.approx(_mask_top(body.mask, seam[0], chin_y + 5), abs=6)
            assert seam[1] > 270  # not up at the lifted joints (y 250)
        # Out at the shoulders' outline (the arms start at x 203 and 437), not at the joints.
        assert 195 < fit.seams[0][0] < 225
        assert 415 < fit.seams[1][0] < 445
    # Without a mask, the seams come from the chin and body proportions, not the joints.
    blind = fit_body(replace(wrong, mask=None), face)
    for seam in blind.seams:
        assert 285 < seam[1] < 335


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"visibility": 0.2}, "body-not-visible"),
        ({"shoulders": ((310.0, 300.0), (330.0, 300.0))}, "body-too-small"),
        (
            {
                "shoulders": ((290.0, 300.0), (350.0, 300.0)),
                "hips": ((300.0, 560.0), (340.0, 560.0)),
            },
            "body-sideways",
        ),
    ],
)
def test_bodies_a_top_cannot_go_on_are_refused(change: dict, reason: str) -> None:
    body = make_body(image_size=(640, 720), **change)
    with pytest.raises(CannotRender) as info:
        fit_body(body, None)
    assert info.value.reason == reason


def test_a_head_below_the_shoulder_line_is_refused() -> None:
    face = make_face(centre=(320, 330), ipd_px=45, image_size=(640, 720))  # chin at y 416
    with pytest.raises(CannotRender) as info:
        fit_body(make_body(image_size=(640, 720)), face)
    assert info.value.reason == "body-not-visible"


@pytest.mark.parametrize("name", SHIRTS)
def test_the_garment_opens_its_neck_and_splits_its_sleeves(name: str) -> None:
    asset = prepare_asset((DEMO / f"{name}.png").read_bytes(), "top")
    garment = prepare_garment(asset)
    p = garment.points
    collar, neckline = p["collar"], p["neckline"]
    depth = float(neckline[1] - collar[1])
    assert 0.08 * garment.breadth < depth < 0.3 * garment.breadth
    alpha = garment.image[:, :, 3]
    x = int(collar[0])
    assert alpha[int(collar[1] + depth / 2), x] == 0  # the inside of the back: open
    assert alpha[int(neckline[1] + 0.03 * garment.breadth), x] == 255  # the front rib: kept
    assert asset.image[int(collar[1] + depth / 2), x, 3] == 255  # the packshot itself: intact
    chest = (int(collar[1] + 0.6 * garment.breadth), x)
    assert garment.parts[chest] == TORSO
    for side, label in (("left", SLEEVE_LEFT), ("right", SLEEVE_RIGHT)):
        end = p[f"sleeve_{side}"] * 0.9 + p[f"armpit_{side}"] * 0.1
        assert garment.parts[int(end[1]), int(end[0])] == label
        inside = p[f"hem_{side}"] + np.array([10.0 if side == "left" else -10.0, -10.0])
        assert garment.parts[int(inside[1]), int(inside[0])] == TORSO


def _fit(arms_deg: tuple[float, float]) -> BodyFit:
    across, down = np.array([1.0, 0.0]), np.array([0.0, 1.0])

    def arm(sign: float, deg: float) -> np.ndarray:
        a = np.radians(deg)
        return down * np.cos(a) + across * sign * np.sin(a)

    return BodyFit(
        origin=np.array([320.0, 300.0]),
        across=across,
        down=down,
        seams=(np.array([210.0, 295.0]), np.array([430.0, 295.0])),
        chin=np.array([320.0, 250.0]),
        arms=(arm(-1.0, arms_deg[0]), arm(1.0, arms_deg[1])),
        outline=None,
    )


def _angle_between(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def test_placement_hangs_the_garment_on_the_seams_and_turns_the_sleeves(shirt) -> None:
    garment = prepare_garment(shirt)
    fit = _fit((10.0, 30.0))
    placed = place(garment, fit)
    np.testing.assert_allclose(placed.point(garment, "shoulder_left"), fit.seams[0], atol=1e-6)
    np.testing.assert_allclose(placed.point(garment, "shoulder_right"), fit.seams[1], atol=1e-6)
    collar, hem = placed.point(garment, "collar"), placed.point(garment, "hem_left")
    assert collar[1] < fit.seams[0][1] + 0.1 * fit.breadth
    assert hem[1] > fit.seams[0][1] + 1.2 * fit.breadth
    for i, side in enumerate(("left", "right")):
        # The sleeve's outer edge runs along the arm, from the seam.
        edge = placed.point(garment, f"sleeve_{side}") - fit.seams[i]
        assert _angle_between(edge, fit.arms[i]) < 1.0
    # The torso is narrowed to a body's width, never widened past the flat garment.
    for depth, factor in placed.squeeze:
        assert 0.6 <= factor <= 1.0, depth
    # A sleeve asked to turn past its limit stops there.
    raised = place(garment, _fit((10.0, 170.0)))
    edge = raised.point(garment, "sleeve_right") - fit.seams[1]
    flat = garment.points["sleeve_right"] - garment.points["shoulder_right"]
    lifted = float(np.degrees(np.arctan2(flat[1], flat[0]) - np.arctan2(edge[1], edge[0])))
    assert lifted == pytest.approx(SLEEVE_TURN_DEG[1], abs=0.5)


def test_render_keeps_face_forearm_and_background(shirt) -> None:
    face = make_face(centre=(320, 175), ipd_px=45, image_size=(640, 720))
    # The image-left forearm crosses the chest (hand on the other side).
    body = make_body(
        image_size=(640, 720), elbows=((205.0, 420.0), (435.0, 420.0)),
        wrists=((400.0, 380.0), (445.0, 520.0)),
    )  # fmt: skip
    img = _scene()
    analysis = Analysis(width=640, height=720, faces=[face], bodies=[body])
    result = render(img, analysis, shirt)
    changed = np.abs(result.image.astype(int) - img).max(axis=2) > 3
    geometry = result.geometry["bodies"][0]
    assert geometry["drawn"]
    assert set(geometry["anchors"]) >= {"collar", "shoulder_left", "sleeve_right", "hem_left"}
    # On the chest, above and below the forearm.
    assert changed[330:360, 300:340].mean() > 0.95
    assert changed[470:520, 280:360].mean() > 0.95
    # The forearm's middle stays in front of the garment: bare (its old sleeve painted as
    # skin, ml_service/render/cover.py), never the garment's colour.
    garment = result.image[330:360, 300:340].reshape(-1, 3).mean(axis=0)
    for t in np.linspace(0.35, 0.85, 6):
        x, y = np.array([205.0, 420.0]) * (1 - t) + np.array([400.0, 380.0]) * t
        patch = result.image[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4].reshape(-1, 3)
        assert np.abs(patch.mean(axis=0) - garment).max() > 40, t
    # Nothing on the face, nothing above the chin.
    chin = float(face.landmarks[CHIN, 1])
    assert not changed[: int(chin) - 2].any()
    oval = np.zeros((720, 640), np.uint8)
    cv2.fillPoly(oval, [np.round(face.landmarks[list(FACE_OVAL), :2]).astype(np.int32)], 255)
    assert not changed[cv2.erode(oval, np.ones((5, 5), np.uint8)) > 0].any()
    # Nothing far from the person (the garment keeps to the outline).
    person = (body.mask > 0.5).astype(np.uint8)
    near = cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (61, 61)))
    assert not changed[near == 0].any()


@pytest.mark.parametrize("photo", ["astronaut", "bus_person"])
def test_tops_on_photos_sit_on_the_silhouette(perceiver, shirt, photo: str) -> None:
    image = load_photo(photo)
    analysis = perceiver.analyze(image)
    result = render(image, analysis, shirt)
    body = analysis.bodies[0]
    mask = body.mask
    geometry = result.geometry["bodies"][0]
    anchors = {k: np.array(v) for k, v in geometry["anchors"].items()}
    breadth = geometry["shoulder_breadth_px"]
    chin_y = (
        float(analysis.faces[0].landmarks[CHIN, 1])
        if analysis.faces
        else float(body.landmarks[0, 1])
    )
    for side in ("left", "right"):
        seam = anchors[f"shoulder_{side}"]
        # On the silhouette's top edge at its column (the shoulder), not above or inside it.
        assert seam[1] == pytest.approx(_mask_top(mask, seam[0], chin_y + 5), abs=0.06 * breadth)
    assert anchors["collar"][1] > chin_y
    changed = np.abs(result.image.astype(int) - image).max(axis=2) > 6
    person = (mask > 0.5).astype(np.uint8)
    r = int(0.1 * breadth) + 4
    near = cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    assert changed[near == 0].mean() < 0.002
    # The chest, between the seams and below the collar, is covered.
    left, right = anchors["shoulder_left"], anchors["shoulder_right"]
    x0, x1 = int(left[0] + 0.3 * breadth), int(right[0] - 0.3 * breadth)
    y0 = int(max(left[1], right[1]) + 0.3 * breadth)
    assert changed[y0 : y0 + int(0.3 * breadth), x0:x1].mean() > 0.8
