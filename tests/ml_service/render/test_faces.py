"""Which face a face product goes on, and the reasons a photo is refused (render.faces)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ml_service.render.errors import CannotRender
from ml_service.render.faces import EYES_CLOSED, MAX_YAW, choose_face, faces_by_size
from ml_service.types import Analysis, Glasses, Rejection
from tests.ml_service.render.synthetic import make_face


def _analysis(faces=(), rejected=()) -> Analysis:
    return Analysis(width=640, height=480, faces=list(faces), rejected=list(rejected))


def _reason(analysis: Analysis, index: int = 0, category: str = "eyewear") -> str:
    with pytest.raises(CannotRender) as refused:
        choose_face(analysis, index, category=category)
    return refused.value.reason


def test_faces_are_indexed_largest_first() -> None:
    small, large = make_face(centre=(160, 240), ipd_px=50), make_face(centre=(480, 240), ipd_px=90)
    analysis = _analysis([small, large])
    assert faces_by_size(analysis) == [large, small]
    assert choose_face(analysis, 0, category="eyewear") is large
    assert choose_face(analysis, 1, category="hat") is small
    assert _reason(analysis, 2) == "face-not-found"


def test_no_face_reasons_tell_the_cases_apart() -> None:
    assert _reason(_analysis()) == "no-face"
    tiny = Rejection(box=(10, 10, 22, 24), score=0.8, reason="face-too-small")
    turned = Rejection(box=(100, 100, 200, 220), score=0.7, reason="face-turned-away")
    assert _reason(_analysis(rejected=[tiny])) == "face-too-small"
    assert _reason(_analysis(rejected=[tiny, turned])) == "face-turned-away"  # the larger one


def test_a_turned_head_is_refused_for_every_face_product() -> None:
    face = make_face(yaw=MAX_YAW + 5)
    for category in ("eyewear", "hat", "earrings"):
        assert _reason(_analysis([face]), category=category) == "face-turned-away"
    assert choose_face(_analysis([make_face(yaw=MAX_YAW - 5)]), 0, category="hat")


def test_closed_or_covered_eyes_refuse_eyewear_only() -> None:
    closed = replace(make_face(), eye_openness=EYES_CLOSED / 2)
    sunglasses = replace(make_face(), glasses=Glasses(present=True, score=0.9, dark=True))
    clear = replace(make_face(), glasses=Glasses(present=True, score=0.9, dark=False))
    for face in (closed, sunglasses):
        assert _reason(_analysis([face])) == "eyes-covered"
        assert choose_face(_analysis([face]), 0, category="hat") is face
    assert choose_face(_analysis([clear]), 0, category="eyewear") is clear
    # Tracking leaves the eyes unmeasured (None): a blink never refuses a live frame.
    assert choose_face(_analysis([make_face()]), 0, category="eyewear")
