"""Renderers on synthetic faces and bodies of known geometry (see synthetic.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ml_service.assets import prepare_asset
from ml_service.render import ProductRenderer, RenderOptions, render
from ml_service.render.errors import CannotRender
from ml_service.render.eyewear import EyewearRenderer, temple_arms, temple_slopes
from ml_service.render.geometry import head_frame, rotation_from_pose
from ml_service.types import Analysis
from tests.ml_service.render.synthetic import make_body, make_face

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"


@pytest.fixture(scope="module")
def glasses():
    return prepare_asset(
        (DEMO / "glasses-round-black.png").read_bytes(), "eyewear", frame_width_mm=132
    )


def _scene(faces, size=(640, 480), bodies=()):
    img = np.full((size[1], size[0], 3), 150, np.uint8)
    return img, Analysis(width=size[0], height=size[1], faces=list(faces), bodies=list(bodies))


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"), [(0, 0, 0), (0, 0, 20), (0, 0, -20), (25, 0, 0), (-25, 10, 5)]
)
def test_lens_centres_sit_on_the_pupils(glasses, yaw, pitch, roll) -> None:
    face = make_face(yaw=yaw, pitch=pitch, roll=roll, ipd_px=90)
    img, analysis = _scene([face])
    geo = render(img, analysis, glasses).geometry["faces"][0]
    ipd_px = float(np.linalg.norm(face.iris_left - face.iris_right))
    lens = np.array(geo["lens_centres"])
    pupils = np.array([face.iris_right, face.iris_left])  # image-left first
    err = np.linalg.norm(lens - pupils, axis=1).max()
    # The frame's lens centres are wider than the pupils (69 vs 63 mm here) and the lens
    # plane is 12 mm in front of them, so a few millimetres of offset is the true geometry.
    assert err < (0.15 if yaw else 0.1) * ipd_px / np.cos(np.radians(yaw))


def test_frame_width_matches_the_pupil_distance(glasses) -> None:
    for ipd_px in (40, 90, 160):
        face = make_face(ipd_px=ipd_px, image_size=(1280, 960), centre=(640, 480))
        img, analysis = _scene([face], size=(1280, 960))
        geo = render(img, analysis, glasses).geometry["faces"][0]
        ratio = geo["frame_width_px"] / ipd_px
        assert ratio == pytest.approx(132 / 63, rel=0.04)


def test_roll_is_followed(glasses) -> None:
    for roll in (-20, 0, 15):
        face = make_face(roll=roll, ipd_px=90)
        img, analysis = _scene([face])
        (x0, y0), (x1, y1) = render(img, analysis, glasses).geometry["faces"][0]["lens_centres"]
        assert np.degrees(np.arctan2(y1 - y0, x1 - x0)) == pytest.approx(roll, abs=1.0)


def test_far_temple_is_hidden_when_the_head_turns(glasses) -> None:
    img, analysis = _scene([make_face(yaw=40, ipd_px=90)])
    left, right = render(img, analysis, glasses).geometry["faces"][0]["temples_visible"]
    assert left > 0.8
    assert right < 0.5
    img, analysis = _scene([make_face(yaw=-40, ipd_px=90)])
    left, right = render(img, analysis, glasses).geometry["faces"][0]["temples_visible"]
    assert right > 0.8
    assert left < 0.5


def test_lenses_change_the_eyes_only_as_much_as_their_tint(glasses) -> None:
    sun = prepare_asset((DEMO / "sunglasses-square-black.png").read_bytes(), "eyewear")
    face = make_face(ipd_px=90)
    img, analysis = _scene([face])
    x, y = (int(v) for v in face.iris_left)
    clear = render(img, analysis, glasses, RenderOptions(reflections=False, shadow=False)).image
    dark = render(img, analysis, sun, RenderOptions(reflections=False, shadow=False)).image
    assert abs(int(clear[y, x].mean()) - 150) <= 3
    assert 5 < dark[y, x].mean() < 60  # darkened, not painted over


def test_several_faces_tiny_and_huge_images(glasses) -> None:
    faces = [make_face(centre=(160, 240), ipd_px=60), make_face(centre=(480, 240), ipd_px=80)]
    img, analysis = _scene(faces)
    # One person is dressed: the largest by default, another by its index (largest first).
    geo = render(img, analysis, glasses).geometry
    assert len(geo["faces"]) == 1
    assert geo["face"] == 0
    assert geo["faces"][0]["bridge"][0] > 320
    other = render(img, analysis, glasses, RenderOptions(face=1)).geometry
    assert len(other["faces"]) == 1
    assert other["faces"][0]["bridge"][0] < 320
    with pytest.raises(CannotRender) as missing:
        render(img, analysis, glasses, RenderOptions(face=2))
    assert missing.value.reason == "face-not-found"
    tiny = make_face(centre=(16, 16), ipd_px=8, image_size=(32, 32))
    img, analysis = _scene([tiny], size=(32, 32))
    assert render(img, analysis, glasses).image.shape == (32, 32, 3)
    huge = make_face(centre=(2000, 1500), ipd_px=900, image_size=(4000, 3000))
    img, analysis = _scene([huge], size=(4000, 3000))
    out = render(img, analysis, glasses)
    assert out.geometry["faces"][0]["drawn"]
    assert (out.image != 150).any()
    # A face mostly outside the photo still renders what is inside.
    edge = make_face(centre=(-30, 240), ipd_px=80)
    img, analysis = _scene([edge])
    render(img, analysis, glasses)


def test_missing_people_and_mismatched_input_are_refused(glasses) -> None:
    img, analysis = _scene([])
    with pytest.raises(CannotRender) as info:
        render(img, analysis, glasses)
    assert info.value.reason == "no-face"
    top = prepare_asset((DEMO / "tshirt-navy.png").read_bytes(), "top")
    with pytest.raises(CannotRender) as info:
        render(img, analysis, top)
    assert info.value.reason == "no-body"
    _, other = _scene([make_face()], size=(320, 240))
    with pytest.raises(CannotRender):
        render(img, other, glasses)
    hidden = make_body(visibility=0.1, image_size=(640, 480))
    img, analysis = _scene([], bodies=[hidden])
    with pytest.raises(CannotRender) as info:
        render(img, analysis, top)
    assert info.value.reason == "body-not-visible"


@pytest.mark.parametrize("name", ["hat-fedora", "earrings-drop", "necklace-pendant", "tshirt-navy"])
def test_other_categories_draw_where_expected(name: str) -> None:
    category = {"hat": "hat", "earrings": "earrings", "necklace": "necklace", "tshirt": "top"}[
        name.split("-", maxsplit=1)[0]
    ]
    asset = prepare_asset((DEMO / f"{name}.png").read_bytes(), category)
    # A head in proportion to the body: chin above the shoulder line (y 300).
    face = make_face(centre=(320, 175), ipd_px=45, image_size=(640, 720))
    body = make_body(image_size=(640, 720))
    img, analysis = _scene([face], size=(640, 720), bodies=[body])
    result = ProductRenderer(asset).render(img, analysis)
    changed = np.nonzero((result.image != img).any(axis=2))
    ys = changed[0]
    assert ys.size > 200
    pupil_y = float(face.iris_left[1])
    if category == "hat":
        assert np.median(ys) < pupil_y
    elif category == "earrings":
        assert result.geometry["faces"][0]["visible"] == [True, True]
    else:
        assert np.median(ys) > pupil_y + 60


def test_temple_arms_follow_the_temples_not_a_wrong_pitch(glasses) -> None:
    """Perception's pitch can be 20-30 degrees off on a frontal face (docs/render.md); the
    arms must still run to the temples the face mesh shows, not hook up or down."""
    renderer = EyewearRenderer(glasses)
    a = glasses.anchors
    hinges = renderer.to_head(np.array([a["frame_left"], a["frame_right"]]))
    true = make_face(ipd_px=90, pitch=0.0)
    wrong_rotation = rotation_from_pose(0.0, -30.0, 0.0).astype(np.float32)
    wrong = replace(true, head_pose=replace(true.head_pose, pitch=-30.0, rotation=wrong_rotation))
    ends = []
    for face in (true, wrong):
        frame = head_frame(face, image_size=(640, 480))
        arms = temple_arms(frame, hinges, temple_slopes(face, frame, hinges))
        ends.append(np.array([uv[8] for uv, _, _ in arms]))  # ~35 mm behind the hinge
    # Through the temples' observed place: the same image points under either pitch...
    assert np.abs(ends[1] - ends[0]).max() < 3.0
    # ...where arms at a fixed slope swing with the pitch error.
    fixed = [
        np.array([uv[8] for uv, _, _ in temple_arms(f, hinges, (0.1, 0.1))])
        for f in (head_frame(true, image_size=(640, 480)), head_frame(wrong, image_size=(640, 480)))
    ]
    assert np.abs(fixed[1] - fixed[0])[:, 1].min() > 10.0
    # And at the temples' depth (sample 9: 37 mm behind the hinges) they are at the height
    # of the temple landmarks (the synthetic temples sit 7.5 mm above the pupils).
    frame = head_frame(true, image_size=(640, 480))
    arms = temple_arms(frame, hinges, temple_slopes(true, frame, hinges))
    for (uv, _, _), index in zip(arms, (127, 356), strict=True):
        assert uv[9][1] == pytest.approx(float(true.landmarks[index, 1]), abs=2.0)
