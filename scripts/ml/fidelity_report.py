"""Print our fidelity to MediaPipe 0.10.21 per test image and variant (the docs/ml.md table).

The same comparison as tests/ml_service/test_fidelity.py, with the figures printed instead of
asserted: faces found (MediaPipe / ours / matched), each face's mean landmark error in % of
the inter-ocular distance, the iris centre error (reported, not asserted: MediaPipe's refined
iris comes from another model) and the body's mean / max error in % of the torso. It runs on
the models the settings select (``TRYON_ML_MODELS_DIR``), so builds can be compared.

Usage: python scripts/ml/fidelity_report.py (or `make ml-fidelity`)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.models import store  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from testkit.fidelity import (  # noqa: E402
    compare_body,
    compare_detections,
    compare_faces,
    load_fixture,
    load_full_range_fixture,
)
from testkit.images import NAMES, load_bgr  # noqa: E402
from testkit.variants import IMAGES, VARIANTS, key  # noqa: E402


def pct(values: list[float]) -> str:
    return ", ".join(f"{100 * v:.2f}" for v in values) or "-"


def main() -> None:
    reference = load_fixture()
    settings = MLSettings()
    face_errors: list[float] = []
    body_means: list[float] = []
    print(f"models: {store.models_dir(settings)}\n")
    print(
        "| image | variant | faces (MP/ours/matched) | face % IOD | iris % IOD "
        + "| body mean / max % torso |"
    )
    print("|---|---|---|---|---|---|")
    with Perceiver.from_settings(settings) as perceiver:
        for image in IMAGES:
            photo = load_bgr(image)
            for variant, make in VARIANTS.items():
                ref = reference[key(image, variant)]
                # MediaPipe's FaceMesh runs the short-range detector only: compare like with like.
                analysis = perceiver.analyze(make(photo), masks=False, full_range=False)
                faces = compare_faces(ref, analysis.faces)
                body = compare_body(ref, analysis.bodies)
                face_errors += faces.errors_iod
                body_cell = (
                    "no body" if body is None else f"{100 * body.mean:.1f} / {100 * body.max:.1f}"
                )
                if body is not None:
                    body_means.append(body.mean)
                counts = f"{faces.reference_faces}/{faces.our_faces}/{faces.matched}"
                print(
                    f"| {image} | {variant} | {counts} | {pct(faces.errors_iod)} "
                    f"| {pct(faces.iris_errors_iod)} | {body_cell} |"
                )
        print(
            f"\nface: worst {100 * max(face_errors):.2f}% IOD, "
            f"median {100 * np.median(face_errors):.2f}%"
            f"; body: worst mean {100 * max(body_means):.1f}% torso, "
            f"median {100 * np.median(body_means):.1f}%"
        )
        full_range(perceiver)


def full_range(perceiver: Perceiver) -> None:
    """The full-range detector against MediaPipe's FaceDetection(model_selection=1)."""
    reference = load_full_range_fixture()
    print("\nFull-range face detector against MediaPipe (model_selection=1):\n")
    print(
        "| image | variant | faces (MP/ours/matched) | box corner % width "
        "| keypoint % width | score diff |"
    )
    print("|---|---|---|---|---|---|")
    boxes: list[float] = []
    points: list[float] = []
    for image in NAMES:
        photo = load_bgr(image)
        for variant, make in VARIANTS.items():
            ref = reference[key(image, variant)]
            match = compare_detections(ref, perceiver.detect_faces_full(make(photo), bgr=True))
            boxes += match.box_errors
            points += match.keypoint_errors
            diffs = ", ".join(f"{d:.3f}" for d in match.score_diffs) or "-"
            print(
                f"| {image} | {variant} | {match.reference}/{match.ours}/{match.matched} "
                f"| {pct(match.box_errors)} | {pct(match.keypoint_errors)} | {diffs} |"
            )
    print(
        f"\nfull range: box worst {100 * max(boxes):.2f}% of the width, median "
        f"{100 * np.median(boxes):.2f}%; keypoints worst {100 * max(points):.2f}%, "
        f"median {100 * np.median(points):.2f}%"
    )


if __name__ == "__main__":
    main()
