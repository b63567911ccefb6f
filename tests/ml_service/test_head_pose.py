"""Head pose: signs and values on synthetic faces with a known pose, shape changes that must
not read as a turn, and what real photos and their variants must keep."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from ml_service.perception import Perceiver, face_template, head_pose
from ml_service.render import geometry as render_geometry
from ml_service.render.geometry import rotation_from_pose
from testkit.head_pose_synthetic import synthetic_face, synthetic_landmarks
from testkit.images import load_bgr
from testkit.moving import moving_clip
from testkit.variants import VARIANTS

SIZE = (640, 480)
# The centre and two corners of the frame: faces off the centre are seen obliquely.
POSITIONS = ((320.0, 240.0), (100.0, 80.0), (560.0, 420.0))


def _angles(pose: object) -> np.ndarray:
    return np.array([pose.yaw, pose.pitch, pose.roll])  # type: ignore[attr-defined]


def test_angles_invert_the_documented_rotation() -> None:
    for yaw, pitch, roll in itertools.product((-70, -30, 0, 45), (-40, 0, 25), (-60, 0, 30)):
        got = head_pose.angles(rotation_from_pose(yaw, pitch, roll))
        assert got == pytest.approx((yaw, pitch, roll), abs=1e-9)


def test_frontal_face_has_no_rotation_wherever_it_is() -> None:
    for centre in POSITIONS:
        face = synthetic_face(np.eye(3), centre=centre, size=SIZE)
        pose = head_pose.estimate(face.landmarks, *SIZE)
        assert _angles(pose) == pytest.approx((0, 0, 0), abs=0.2)
        # The camera-axes rotation carries the line of sight: it is not the identity there.
        assert np.abs(pose.rotation - face.rotation).max() < 0.005


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll", "expected"),
    [(25, 0, 0, "yaw"), (0, 15, 0, "pitch"), (0, 0, 20, "roll")],
)
def test_each_angle_is_recovered_with_its_documented_sign(
    yaw: float, pitch: float, roll: float, expected: str
) -> None:
    # Built with the test's own rotations, not the module's: head frame x to the subject's
    # left, y down, z into the head; the camera looks along +z with y down.
    y, p, r = np.radians([yaw, pitch, roll])
    turn_yaw = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    turn_pitch = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    turn_roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    landmarks = synthetic_landmarks(turn_roll @ turn_yaw @ turn_pitch)
    frontal = synthetic_landmarks(np.eye(3))
    pose = head_pose.estimate(landmarks, *SIZE)
    value = {"yaw": pose.yaw, "pitch": pose.pitch, "roll": pose.roll}
    assert max(value, key=lambda name: abs(value[name])) == expected
    assert value[expected] == pytest.approx(
        {"yaw": yaw, "pitch": pitch, "roll": roll}[expected], abs=0.5
    )
    nose, left_eye, right_eye = landmarks[1], landmarks[263], landmarks[33]
    if expected == "yaw":  # the subject turns to their left: the nose goes to image right
        assert nose[0] > frontal[1, 0]
    if expected == "pitch":  # chin up: the nose tip rises in the image
        assert nose[1] < frontal[1, 1]
    if expected == "roll":  # clockwise on screen: the left eye (263) is lower
        assert left_eye[1] > right_eye[1]


def test_poses_over_a_grid_are_recovered_within_two_degrees() -> None:
    errors = []
    for centre in POSITIONS:
        for yaw, pitch, roll in itertools.product(
            range(-40, 41, 20), range(-25, 26, 25), range(-30, 31, 30)
        ):
            landmarks = synthetic_landmarks(
                rotation_from_pose(yaw, pitch, roll), centre=centre, size=SIZE
            )
            errors.append(_angles(head_pose.estimate(landmarks, *SIZE)) - (yaw, pitch, roll))
    assert np.abs(errors).max() < 2.0
    assert np.abs(errors).mean() < 0.3


def test_translation_follows_the_iris_scale_or_the_template_size() -> None:
    face = synthetic_face(rotation_from_pose(20, -10, 5), centre=(150.0, 120.0), size=SIZE)
    own_size = head_pose.estimate(face.landmarks, *SIZE)
    assert own_size.translation == pytest.approx(face.origin_cm, abs=0.5)
    # The iris says the eyes are 20% farther: so is the head, along the same line of sight.
    mm_per_px = 1.2 * face.eyes_mm / face.focal
    farther = head_pose.estimate(face.landmarks, *SIZE, mm_per_px=mm_per_px)
    ratio = np.linalg.norm(farther.translation) / np.linalg.norm(own_size.translation)
    assert ratio == pytest.approx(1.2, abs=0.02)
    direction = farther.translation / np.linalg.norm(farther.translation)
    assert direction == pytest.approx(face.origin_cm / np.linalg.norm(face.origin_cm), abs=0.01)


def _lower_face(points: np.ndarray) -> np.ndarray:
    return np.asarray(points[:, 1] > points[1, 1], bool)  # below the nose tip (y is down)


def test_a_shorter_chin_or_an_open_mouth_is_not_read_as_pitch() -> None:
    """The defect this replaced: a chin nearer the eyes than the canonical face's read as the
    head tilted down by 20 to 30 degrees."""
    shape = face_template.load().points
    tip = shape[1, 1]
    short = shape.copy()
    below = _lower_face(shape)
    short[below, 1] = tip + (shape[below, 1] - tip) * 0.8
    open_mouth = shape.copy()  # everything below the mouth corners drops by 8 to 12 mm
    mouth = shape[[61, 291], 1].mean()
    jaw = shape[:, 1] > mouth
    open_mouth[jaw, 1] += 0.8 + 0.08 * (shape[jaw, 1] - mouth)
    for yaw, pitch in ((0, 0), (30, -15), (-20, 20)):
        for points in (short, open_mouth):
            face = synthetic_face(rotation_from_pose(yaw, pitch, 0), points=points)
            got = _angles(head_pose.estimate(face.landmarks, *SIZE))
            assert got == pytest.approx((yaw, pitch, 0), abs=0.5)


def test_points_the_model_got_wrong_lose_their_influence() -> None:
    rng = np.random.default_rng(4)
    shape = face_template.load().points
    cheek = (shape[:, 0] > 2.5) & (shape[:, 1] < shape[[61, 291], 1].mean())
    cheek &= shape[:, 1] > shape[[33, 263], 1].mean() + 0.5
    errors = {0: [], head_pose.ROBUST_ROUNDS: []}
    for _ in range(10):
        truth = rng.uniform([-30, -20, -20], [30, 20, 20])
        points = shape.copy()
        points[cheek] += rng.normal(0, 3.0, (int(cheek.sum()), 3))  # a hand over the cheek
        face = synthetic_face(rotation_from_pose(*truth), points=points)
        for rounds, found in errors.items():
            rotation = head_pose.fit(
                face.landmarks.astype(np.float64), face_template.load(), rounds=rounds
            )[0]
            found.append(np.abs(np.subtract(head_pose.angles(rotation), truth)).mean())
    assert np.mean(errors[head_pose.ROBUST_ROUNDS]) < 0.5 * np.mean(errors[0])
    assert np.mean(errors[head_pose.ROBUST_ROUNDS]) < 0.5


def test_unusable_points_give_a_defined_pose() -> None:
    bad = synthetic_landmarks(np.eye(3))
    bad[10, 0] = np.nan
    for landmarks in (bad, np.zeros((468, 3), np.float32), np.ones((5, 3), np.float32)):
        pose = head_pose.estimate(landmarks, *SIZE)
        assert np.isfinite(_angles(pose)).all()
        assert np.isfinite(pose.rotation).all()
        assert np.isfinite(pose.translation).all()


# -- real photos ------------------------------------------------------------------------------


def _pose_of(perceiver: Perceiver, image: np.ndarray) -> np.ndarray:
    faces = perceiver.analyze(image, bodies=False).faces
    assert len(faces) == 1
    return _angles(faces[0].head_pose)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_people_looking_into_the_camera_face_it(perceiver: Perceiver, name: str) -> None:
    yaw, pitch, roll = _pose_of(perceiver, load_bgr(name))
    assert abs(pitch) < 10  # it was -29.7 for the astronaut
    assert abs(yaw) < 8
    assert abs(roll) < 8


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_turning_the_picture_only_changes_roll(perceiver: Perceiver, name: str) -> None:
    image = load_bgr(name)
    plain = _pose_of(perceiver, image)
    for variant, turn in (("rot+20", -20.0), ("rot-20", 20.0)):  # OpenCV turns anticlockwise
        turned = _pose_of(perceiver, VARIANTS[variant](image))
        assert turned[2] - plain[2] == pytest.approx(turn, abs=3.0), variant
        assert turned[:2] == pytest.approx(plain[:2], abs=4.0), variant


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "camera", "bus_face"])
def test_mirroring_negates_yaw_and_roll(perceiver: Perceiver, name: str) -> None:
    image = load_bgr(name)
    plain = _pose_of(perceiver, image)
    mirrored = _pose_of(perceiver, VARIANTS["mirror"](image))
    assert mirrored[0] == pytest.approx(-plain[0], abs=3.0)
    # The model does not see a mirrored face quite as the mirror of the face (the
    # cameraman's roll: 1.9 and then 2.1 degrees).
    assert mirrored[2] == pytest.approx(-plain[2], abs=5.0)
    assert mirrored[1] == pytest.approx(plain[1], abs=4.0)


def test_mediapipes_own_landmarks_of_the_astronaut_face_the_camera() -> None:
    """The measurement that found the defect: MediaPipe 0.10.21's landmarks (the fidelity
    fixture) gave yaw 3.1, pitch -29.7 with the 5-point solvePnP."""
    path = Path(__file__).parent / "fixtures" / "mediapipe_reference.json"
    results = json.loads(path.read_text())["results"]
    poses = {}
    for variant in ("original", "rot+20", "rot-20", "mirror"):
        entry = results[f"astronaut__{variant}"]
        landmarks = np.asarray(entry["faces"][0], np.float32)
        poses[variant] = _angles(head_pose.estimate(landmarks, entry["width"], entry["height"]))
    yaw, pitch, _ = poses["original"]
    assert abs(pitch) < 10
    assert abs(yaw) < 8
    assert poses["rot+20"][2] - poses["original"][2] == pytest.approx(-20, abs=3)
    assert poses["rot-20"][2] - poses["original"][2] == pytest.approx(20, abs=3)
    assert poses["mirror"][0] == pytest.approx(-yaw, abs=3)


def test_a_head_turned_away_reads_as_turned(perceiver: Perceiver) -> None:
    # The cameraman looks through his camera, turned to his left and bent over it.
    yaw, pitch, _ = _pose_of(perceiver, load_bgr("camera"))
    assert 35 < yaw < 65
    assert pitch < -8


def test_the_renderers_line_of_sight_is_perceptions() -> None:
    k = head_pose.camera_matrix(*SIZE).astype(np.float64)
    for u, v in ((320.0, 240.0), (10.0, 470.0), (600.0, 30.0)):
        assert np.allclose(
            render_geometry.line_of_sight(u, v, k), head_pose.line_of_sight(np.array([u, v]), k)
        )


def test_head_pose_follows_a_moving_face_smoothly(perceiver: Perceiver) -> None:
    """The moving clip (testkit/moving.py) turns the photo by 12 sin(phase) degrees
    in the image plane while panning and zooming: the tracked roll follows that turn, yaw and
    pitch stay the photo's (the mild keystone aside), with no jumps between frames. (The
    5-point solvePnP drifted by 12 degrees of pitch with the face's place in the frame.)"""
    photo = load_bgr("astronaut")
    still = _pose_of(perceiver, photo)
    clip, _ = moving_clip(photo)
    tracker = perceiver.tracker()
    poses = np.array(
        [_angles(tracker.process(frame, i / 30).faces[0].head_pose) for i, frame in enumerate(clip)]
    )
    turn = -12.0 * np.sin(2 * np.pi * np.arange(len(clip)) / len(clip))  # anticlockwise
    assert np.abs(poses[:, 2] - (still[2] + turn)).max() < 3.0
    assert np.abs(poses[:, :2] - still[:2]).max() < 4.5
    assert np.abs(np.diff(poses, 2, axis=0)).max() < 3.0
