"""The face template for head pose: its frame, symmetry and weights; how it is built; and
that the committed file is what the generator makes from the current models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_service.perception import Perceiver, face_template, head_pose
from ml_service.perception.face_template import FaceTemplate
from ml_service.perception.procrustes import MIRROR_X
from ml_service.render.geometry import rotation_from_pose
from scripts.ml.make_face_template import collect, make

# Twins and midline points named in ML.md (MediaPipe's mesh topology).
TWINS = ((33, 263), (133, 362), (127, 356), (234, 454), (61, 291))
MIDLINE = (168, 6, 1, 152)


def test_the_template_is_symmetric_with_the_documented_twins() -> None:
    t = face_template.load()
    assert np.array_equal(t.mirror[t.mirror], np.arange(468))
    for a, b in TWINS:
        assert t.mirror[a] == b
    for i in MIDLINE:
        assert t.mirror[i] == i
        assert t.points[i, 0] == pytest.approx(0.0, abs=1e-3)
    assert np.abs((t.points @ MIRROR_X)[t.mirror] - t.points).max() < 1e-3
    assert np.array_equal(t.weights[t.mirror], t.weights)


def test_the_frame_is_the_canonical_faces() -> None:
    t = face_template.load()
    indices, canonical = face_template.canonical_points()
    residual = np.linalg.norm(t.points[indices] - canonical, axis=1)
    assert residual.mean() < 0.4  # cm: the same face size, place and pitch zero
    assert residual.max() < 0.7  # the chin differs most between faces
    # Head frame: x from the right eye to the left, y down, z into the head.
    assert t.points[263, 0] > t.points[33, 0]
    assert t.points[152, 1] > t.points[1, 1] > t.points[168, 1]
    assert t.points[1, 2] < t.points[168, 2] < t.points[33, 2]


def test_only_the_rigid_part_of_the_face_counts() -> None:
    t = face_template.load()
    assert (t.weights[[33, 263, 133, 362, 168, 6, 1]] > 0).all()
    assert (t.weights[list(face_template.EYELIDS)] == 0).all()
    assert (t.weights[[152, 61, 291]] == 0).all()  # chin, mouth corners
    below_mouth = t.points[:, 1] > t.points[[61, 291], 1].mean()
    assert (t.weights[below_mouth] == 0).all()
    assert 150 < int((t.weights > 0).sum()) < 350
    # The nose and the cheekbones are stiller between people than the face's outline.
    assert t.rigidity[[168, 6]].min() > 2 * t.rigidity[[127, 234, 10]].max()


def test_the_json_round_trip_and_bad_files() -> None:
    t = face_template.load()
    again = FaceTemplate.from_json(t.to_json(about="test"))
    assert np.allclose(again.points, t.points, atol=1e-4)
    assert np.array_equal(again.mirror, t.mirror)
    body = json.loads(t.to_json())
    body["mirror"][0] = 1  # 0 -> 1 but 1 -> 0 no longer
    with pytest.raises(ValueError, match="involution"):
        FaceTemplate.from_json(json.dumps(body))
    body = json.loads(t.to_json())
    body["points"] = body["points"][:-1]
    with pytest.raises(ValueError, match="shapes"):
        FaceTemplate.from_json(json.dumps(body))


def _synthetic_people(rng: np.random.Generator) -> list[np.ndarray]:
    """Meshes as the model gives them (pixels, y down, z away): the template made wider,
    longer or flatter, with noise, turned, some mirrored (labels swapped to their twins)."""
    t = face_template.load()
    meshes = []
    for i in range(10):
        person = t.points * rng.uniform(0.9, 1.1, 3) + rng.normal(0, 0.05, t.points.shape)
        if i % 3 == 2:
            person = (person @ MIRROR_X)[t.mirror]
        turn = rotation_from_pose(*rng.uniform([-25, -15, -25], [25, 15, 25]))
        meshes.append(12.0 * person @ turn.T + [300.0, 200.0, 0.0])
    meshes[0] = 12.0 * t.points + [300.0, 200.0, 0.0]  # the first one faces the camera
    return meshes


def test_building_recovers_twins_frame_and_shape() -> None:
    t = face_template.load()
    built = face_template.build(_synthetic_people(np.random.default_rng(6)))
    assert np.array_equal(built.mirror, t.mirror)
    # Size, place and pitch zero come from the canonical points, as the committed one's.
    assert np.abs(built.points - t.points).max() < 0.5
    assert np.abs(built.points - t.points).mean() < 0.1
    pose = head_pose.angles(head_pose.fit(12.0 * t.points, built)[0])
    assert pose == pytest.approx((0, 0, 0), abs=0.5)


def test_the_committed_template_is_what_the_models_make(perceiver: Perceiver) -> None:
    """`make face-template` again with the current models: the same template (a model
    change that moves it should come with a regenerated file)."""
    fresh = make(collect(perceiver))
    t = face_template.load()
    assert np.array_equal(fresh.mirror, t.mirror)
    assert np.abs(fresh.points - t.points).max() < 0.01
    assert np.abs(fresh.weights - t.weights).max() < 0.01
    # And what it is made of is fitted well: its own meshes within 3 mm (rigid part).
    collected = collect(perceiver)
    residuals = [head_pose.fit(mesh, t)[3] for mesh in collected.meshes[:6]]
    assert max(residuals) < 0.3
