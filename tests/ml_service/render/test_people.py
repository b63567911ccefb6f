"""The right person: bodies paired with faces by geometry (not size), the chosen face's body
dressed, in photos (synthetic and zidane.jpg) and live (the tracker keeps the tracked face's
body)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml_service.assets import prepare_asset
from ml_service.perception import Perceiver
from ml_service.render import RenderOptions, VideoRenderer, render
from ml_service.render.errors import CannotRender
from ml_service.render.people import face_area, pair, person
from ml_service.types import Analysis
from testkit import images
from tests.ml_service.render.synthetic import make_body, make_face

DEMO = Path(__file__).resolve().parents[3] / "ml_service" / "demo_assets"
# zidane.jpg's right half: Carlo Ancelotti (the larger face, image right) and Zinedine
# Zidane (image left, shouting); the short-range face detector finds both here.
ZIDANE_CROP = (480, 0, 1120, 480)


def _two_people() -> Analysis:
    """A small face with its body on the left, a large face with its body on the right; the
    larger body belongs to the smaller face."""
    small = make_face(centre=(170, 150), ipd_px=40, image_size=(800, 720))
    large = make_face(centre=(560, 180), ipd_px=70, image_size=(800, 720))
    big_body = make_body(shoulders=((60.0, 300.0), (290.0, 300.0)),
                         hips=((90.0, 600.0), (260.0, 600.0)), image_size=(800, 720))  # fmt: skip
    body = make_body(shoulders=((470.0, 330.0), (650.0, 330.0)),
                     hips=((490.0, 600.0), (630.0, 600.0)), image_size=(800, 720))  # fmt: skip
    # Move each body's head points onto its own face (the synthetic heads sit elsewhere).
    for b, f in ((big_body, small), (body, large)):
        shift = f.landmarks[1, :2] - b.landmarks[0, :2]
        b.landmarks[[0, 2, 5, 7, 8, 9, 10], :2] += shift
    return Analysis(width=800, height=720, faces=[small, large], bodies=[body, big_body])


def test_bodies_pair_with_faces_by_their_head_not_by_size() -> None:
    analysis = _two_people()
    small, large = analysis.faces
    body, big_body = analysis.bodies
    pairs = pair([large, small], analysis.bodies)
    assert pairs[0][0] is large
    assert pairs[0][1] is body
    assert pairs[1][0] is small
    assert pairs[1][1] is big_body


def test_the_chosen_face_picks_the_body() -> None:
    analysis = _two_people()
    small, large = analysis.faces
    assert person(analysis.faces, analysis.bodies, 0) == (large, analysis.bodies[0])
    assert person(analysis.faces, analysis.bodies, 1) == (small, analysis.bodies[1])
    with pytest.raises(CannotRender) as err:
        person(analysis.faces, analysis.bodies, 2)
    assert err.value.reason == "no-face"


def test_a_face_without_its_body_gets_none_not_someone_elses() -> None:
    analysis = _two_people()
    _, large = analysis.faces
    face, body = person(analysis.faces, [analysis.bodies[1]], 0)
    assert face is large
    assert body is None


def test_a_top_goes_on_the_chosen_persons_body() -> None:
    analysis = _two_people()
    asset = prepare_asset((DEMO / "tshirt-navy.png").read_bytes(), "top")
    image = np.full((720, 800, 3), 128, np.uint8)
    for index, x_range in ((0, (470, 650)), (1, (60, 290))):
        result = render(image, analysis, asset, RenderOptions(face=index))
        collar = result.geometry["bodies"][0]["anchors"]["collar"]
        assert x_range[0] < collar[0] < x_range[1]


@pytest.fixture(scope="module")
def zidane() -> np.ndarray:
    x0, y0, x1, y1 = ZIDANE_CROP
    return np.ascontiguousarray(images.load_bgr("zidane")[y0:y1, x0:x1])


def _face_centres(analysis: Analysis) -> list[float]:
    return [float(np.mean(f.box[::2])) for f in sorted(analysis.faces, key=face_area, reverse=True)]


def test_zidane_photo_each_face_gets_its_own_body(perceiver: Perceiver, zidane: np.ndarray) -> None:
    analysis = perceiver.analyze(zidane)
    assert len(analysis.faces) == 2
    # The person detector finds at most one of them; the other's body is seeded from its face.
    assert len(analysis.bodies) == 2
    asset = prepare_asset((DEMO / "tshirt-striped.png").read_bytes(), "top")
    centres = _face_centres(analysis)
    for index, centre in enumerate(centres):
        result = render(zidane, analysis, asset, RenderOptions(face=index))
        collar = result.geometry["bodies"][0]["anchors"]["collar"]
        # The collar under this face, not under the other one.
        assert abs(collar[0] - centre) < abs(collar[0] - centres[1 - index])


class _Recording:
    """The tracker, remembering its last analysis (to compare the render with)."""

    def __init__(self, tracker: object) -> None:
        self.tracker = tracker
        self.last: Analysis | None = None

    def process(self, frame: np.ndarray, timestamp_s: float | None = None) -> Analysis:
        self.last = self.tracker.process(frame, timestamp_s)  # type: ignore[attr-defined]
        return self.last


def test_zidane_live_keeps_the_tracked_faces_body(perceiver: Perceiver, zidane: np.ndarray) -> None:
    asset = prepare_asset((DEMO / "tshirt-navy.png").read_bytes(), "top")
    tracker = _Recording(perceiver.tracker(max_faces=1, bodies=True))
    live = VideoRenderer(asset, tracker)
    for i in range(5):
        result = live.process(np.roll(zidane, 3 * i, axis=1), i / 30)
        assert "skipped" not in result.geometry
        assert tracker.last is not None
        face = tracker.last.faces[0]
        collar = result.geometry["bodies"][0]["anchors"]["collar"]
        # Under the tracked face (within half a face width), not the other man's.
        assert abs(collar[0] - float(np.mean(face.box[::2]))) < 0.5 * (face.box[2] - face.box[0])
