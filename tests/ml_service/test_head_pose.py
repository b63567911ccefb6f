"""Head pose signs and values on synthetic projections of the canonical face."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from ml_service.perception import head_pose


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _landmarks(rotation: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    k = head_pose.camera_matrix(width, height).astype(np.float64)
    rvec, _ = cv2.Rodrigues(rotation)
    pts, _ = cv2.projectPoints(head_pose.OBJECT_POINTS, rvec, np.array([0.0, 0.0, 60.0]), k, None)
    landmarks = np.zeros((468, 3), np.float32)
    for index, point in zip(head_pose.INDICES, pts.reshape(-1, 2), strict=True):
        landmarks[index, :2] = point
    return landmarks


def test_frontal_face_has_no_rotation() -> None:
    pose = head_pose.estimate(_landmarks(np.eye(3)), 640, 480)
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx((0, 0, 0), abs=0.5)
    assert pose.translation[2] == pytest.approx(60.0, rel=0.02)


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (_rotation(25, 0, 0), "yaw"),
        (_rotation(0, 15, 0), "pitch"),
        (_rotation(0, 0, 20), "roll"),
    ],
)
def test_each_angle_is_recovered_with_its_documented_sign(
    rotation: np.ndarray, expected: str
) -> None:
    landmarks = _landmarks(rotation)
    pose = head_pose.estimate(landmarks, 640, 480)
    value = {"yaw": pose.yaw, "pitch": pose.pitch, "roll": pose.roll}
    big = max(value, key=lambda name: abs(value[name]))
    assert big == expected
    assert abs(value[expected]) > 10
    if expected == "yaw":  # subject turns to their left: the nose goes to image right
        assert (landmarks[1, 0] > 320) == (pose.yaw > 0)
    if expected == "pitch":  # chin up: the nose tip rises in the image
        frontal = _landmarks(np.eye(3))
        assert (landmarks[1, 1] < frontal[1, 1]) == (pose.pitch > 0)
    if expected == "roll":  # clockwise on screen: the left eye (263) is lower
        assert (landmarks[263, 1] > landmarks[33, 1]) == (pose.roll > 0)


def test_angles_are_consistent_with_a_rotation_matrix() -> None:
    yaw, pitch, roll = head_pose.angles(_rotation(0, 0, 30))
    assert roll == pytest.approx(30, abs=0.1)
    assert yaw == pytest.approx(0, abs=0.1)
    assert pitch == pytest.approx(0, abs=0.1)
