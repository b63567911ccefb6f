"""Size recommendation (ml_service/fit.py) on synthetic faces and bodies of known size."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ml_service.fit import Variant, decide_size, face_width_mm, recommend_size
from ml_service.types import Analysis
from tests.ml_service.render.synthetic import make_body, make_face

FRAMES = [Variant("S", frame_width_mm=120), Variant("M", frame_width_mm=135),
          Variant("L", frame_width_mm=150)]  # fmt: skip


def _face_only(**kwargs) -> Analysis:
    face = make_face(**kwargs)
    return Analysis(width=640, height=480, faces=[face])


def test_eyewear_size_follows_the_face_width_not_its_distance() -> None:
    near = decide_size(_face_only(ipd_px=120), FRAMES)
    far = decide_size(_face_only(ipd_px=50), FRAMES)
    assert near.recommendation is not None
    assert far.recommendation is not None
    a, b = near.recommendation.measurements, far.recommendation.measurements
    # The iris gives millimetres per pixel and the depth of the temples behind the eyes
    # undoes the perspective: the same head measures the same at any distance (4.6 % apart
    # at these two distances without the correction).
    assert a["face_width_mm"] == pytest.approx(b["face_width_mm"], rel=0.015)
    assert a["ipd_mm"] == pytest.approx(63.0, abs=0.1)
    assert near.recommendation.variant_id == far.recommendation.variant_id


@pytest.mark.parametrize(("ipd_mm", "expected"), [(56.0, "S"), (65.0, "M"), (71.0, "L")])
def test_eyewear_size_grows_with_the_head(ipd_mm: float, expected: str) -> None:
    # The synthetic head scales with its pupil distance: temples 132 mm apart at 63 mm.
    analysis = _face_only(ipd_px=90, ipd_mm=ipd_mm)
    decision = decide_size(analysis, FRAMES)
    assert decision.recommendation is not None, decision.reason
    ideal = decision.recommendation.measurements["ideal"]
    assert ideal == pytest.approx(131.6 * ipd_mm / 63.0, rel=0.025)
    assert decision.recommendation.variant_id == expected
    assert "frame width" in decision.reason


def test_eyewear_confidence_reflects_the_gap_between_sizes() -> None:
    analysis = _face_only(ipd_px=90)
    ideal = decide_size(analysis, FRAMES).recommendation.measurements["ideal"]
    exact_far = [Variant("a", frame_width_mm=ideal), Variant("b", frame_width_mm=ideal + 20)]
    close_pair = [Variant("a", frame_width_mm=ideal - 1), Variant("b", frame_width_mm=ideal + 1)]
    sure = recommend_size(analysis, exact_far)
    unsure = recommend_size(analysis, close_pair)
    assert sure is not None
    assert unsure is not None
    assert sure.variant_id == "a"
    assert sure.confidence > 0.9
    assert unsure.confidence < 0.6


@pytest.mark.parametrize(
    ("analysis", "variants", "reason"),
    [
        (Analysis(width=640, height=480), FRAMES, "no face"),
        (_face_only(ipd_px=90, yaw=35), FRAMES, "turned too far"),
        (_face_only(ipd_px=90), [Variant("XS", frame_width_mm=90)], "no size is close"),
        (_face_only(ipd_px=90), [], "no sizes"),
        (
            _face_only(ipd_px=90),
            [Variant("x", frame_width_mm=130), Variant("y")],
            "no measurements",
        ),
        (_face_only(ipd_px=90), [Variant("x", frame_width_mm=math.nan)], "invalid frame_width_mm"),
        (_face_only(ipd_px=90), [Variant("x", frame_width_mm=-3)], "invalid frame_width_mm"),
    ],
)
def test_eyewear_without_a_recommendation_says_why(analysis, variants, reason: str) -> None:
    decision = decide_size(analysis, variants)
    assert decision.recommendation is None
    assert reason in decision.reason
    assert recommend_size(analysis, variants) is None


def test_implausible_iris_scale_falls_back_to_the_average_pupil_distance() -> None:
    # A blurred iris can claim 30 mm between the pupils; the frame must not follow it.
    good = _face_only(ipd_px=90)
    broken = replace(good, faces=[replace(good.faces[0], ipd_mm=30.0, mm_per_px=30.0 / 90)])
    a = decide_size(good, FRAMES).recommendation
    b = decide_size(broken, FRAMES).recommendation
    assert a is not None
    assert b is not None
    assert b.measurements["ipd_mm"] == pytest.approx(63.0)
    assert b.measurements["face_width_mm"] == pytest.approx(
        a.measurements["face_width_mm"], rel=0.02
    )


def test_face_width_is_measured_in_3d_so_yaw_does_not_change_it() -> None:
    frontal = _face_only(ipd_px=90)
    width = face_width_mm(frontal.faces[0], (640, 480))
    # The synthetic temples are 131.6 mm apart (70 mm x sin of their angle on the outline);
    # the depth reference (the eye corners, 5 to 8 mm behind the pupils here) costs ~2 %.
    assert width == pytest.approx(131.6, rel=0.025)
    for yaw in (-20, 12, 20):
        turned = _face_only(ipd_px=90, yaw=yaw)
        assert face_width_mm(turned.faces[0], (640, 480)) == pytest.approx(width, rel=0.01)


# Tops: a face gives the scale; shoulders 200 px apart.
def _person(*, mm_per_px: float, visibility: float = 0.95) -> Analysis:
    face = make_face(centre=(320, 180), ipd_px=63.0 / mm_per_px, image_size=(640, 720))
    body = make_body(image_size=(640, 720), visibility=visibility)
    return Analysis(width=640, height=720, faces=[face], bodies=[body])


def _shoulder_cm(mm_per_px: float) -> float:
    return 200 * mm_per_px * 1.12 / 10  # joint centres -> shoulder breadth


SHOULDERS = [Variant("S", shoulder_cm=40), Variant("M", shoulder_cm=45),
             Variant("L", shoulder_cm=50)]  # fmt: skip
CHESTS = [Variant("S", chest_cm=92), Variant("M", chest_cm=104), Variant("L", chest_cm=116)]


@pytest.mark.parametrize(("mm_per_px", "expected"), [(1.8, "S"), (2.0, "M"), (2.25, "L")])
def test_top_size_from_the_shoulders(mm_per_px: float, expected: str) -> None:
    decision = decide_size(_person(mm_per_px=mm_per_px), SHOULDERS)
    assert decision.recommendation is not None, decision.reason
    assert decision.recommendation.variant_id == expected
    measured = decision.recommendation.measurements["shoulder_cm"]
    assert measured == pytest.approx(_shoulder_cm(mm_per_px), abs=0.1)


def test_top_size_from_the_chest_when_only_chests_are_given() -> None:
    decision = decide_size(_person(mm_per_px=2.0), CHESTS)  # 44.8 cm shoulders -> 105 cm chest
    assert decision.recommendation is not None, decision.reason
    assert decision.recommendation.variant_id == "M"
    assert decision.recommendation.measurements["chest_cm_estimate"] == pytest.approx(
        105.3, abs=0.2
    )
    mixed = [Variant("S", chest_cm=92), Variant("M", shoulder_cm=45), Variant("L", chest_cm=116)]
    assert recommend_size(_person(mm_per_px=2.0), mixed).variant_id == "M"


def test_top_size_uses_the_body_that_belongs_to_the_face() -> None:
    person = _person(mm_per_px=2.0)
    # A second, bigger face elsewhere (another person, nearer the camera) gives no scale to
    # this body: the scale comes from the face on the body's own head.
    other = make_face(centre=(600, 60), ipd_px=150, image_size=(640, 720))
    crowd = Analysis(width=640, height=720, faces=[other, *person.faces], bodies=person.bodies)
    assert decide_size(crowd, SHOULDERS).recommendation.variant_id == "M"


@pytest.mark.parametrize(
    ("analysis", "reason"),
    [
        (Analysis(width=640, height=720, faces=_person(mm_per_px=2).faces), "no body"),
        (Analysis(width=640, height=720, bodies=_person(mm_per_px=2).bodies), "no face"),
        (_person(mm_per_px=2.0, visibility=0.2), "shoulders are not both visible"),
        (_person(mm_per_px=0.5), "implausible"),  # 11 cm shoulders: a wrong scale
        (_person(mm_per_px=4.0), "implausible"),
        (_person(mm_per_px=1.2), "no size is close"),  # 27 cm: a child's size, none offered
    ],
)
def test_top_without_a_recommendation_says_why(analysis, reason: str) -> None:
    decision = decide_size(analysis, SHOULDERS)
    assert decision.recommendation is None
    assert reason in decision.reason


def test_a_body_far_from_the_only_face_has_no_scale() -> None:
    person = _person(mm_per_px=2.0)
    elsewhere = make_face(centre=(600, 650), ipd_px=30, image_size=(640, 720))
    analysis = Analysis(width=640, height=720, faces=[elsewhere], bodies=person.bodies)
    decision = decide_size(analysis, SHOULDERS)
    assert decision.recommendation is None
    assert "no body has a face" in decision.reason
