"""Fidelity to MediaPipe 0.10.21 itself, on the test photos and their variants.

The reference is tests/ml_service/fixtures/mediapipe_reference.json, written by
scripts/ml/make_fidelity_fixture.py from MediaPipe's own Python solutions (its own venv).
Per image and variant: the same faces are found; each face's mean landmark distance is under
2% of its inter-ocular distance (3D, from the reference); the visible (>= 0.5) body landmarks
are on average within 5% of the torso size. Faces whose reference detection score is within
0.05 of the 0.5 threshold are marginal: whether and where the detector fires there turns on
rounding, so they must be found but get 3%.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ml_service.perception import Perceiver
from testkit.fidelity import compare_body, compare_faces, load_fixture
from testkit.images import load_bgr
from testkit.variants import IMAGES, VARIANTS, key

REFERENCE = load_fixture()
CASES = [(image, variant) for image in IMAGES for variant in VARIANTS]
FACE_LIMIT, MARGINAL_FACE_LIMIT, BODY_MEAN_LIMIT = 0.02, 0.03, 0.05


def _marginal(reference: dict[str, Any]) -> bool:
    return any(abs(d["score"] - 0.5) < 0.05 for d in reference["detections"])


@pytest.fixture(scope="module")
def photos() -> dict[str, Any]:
    return {image: load_bgr(image) for image in IMAGES}


@pytest.mark.parametrize(("image", "variant"), CASES, ids=[key(*c) for c in CASES])
def test_matches_mediapipe(
    perceiver: Perceiver, photos: dict[str, Any], image: str, variant: str
) -> None:
    reference = REFERENCE[key(image, variant)]
    pixels = VARIANTS[variant](photos[image])
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == reference["sha256"], (
        "the variant differs from the one MediaPipe saw: run `make ml-fixture`"
    )
    # MediaPipe's FaceMesh runs the short-range detector only: compare like with like (the
    # full-range detector is checked against MediaPipe's in test_full_range_fidelity.py).
    analysis = perceiver.analyze(pixels, masks=False, full_range=False, face_seeded_bodies=False)
    faces = compare_faces(reference, analysis.faces)
    assert faces.our_faces == faces.reference_faces == faces.matched
    limit = MARGINAL_FACE_LIMIT if _marginal(reference) else FACE_LIMIT
    assert all(error < limit for error in faces.errors_iod), faces.errors_iod
    body = compare_body(reference, analysis.bodies)
    if reference["body"] is None:
        assert analysis.bodies == []
    else:
        assert body is not None
        assert body.mean < BODY_MEAN_LIMIT, body
