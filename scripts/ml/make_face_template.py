"""Write ml_service/perception/face_template.json: the 3D face template for head pose.

Runs our own face landmark model (the built models, in-process) on public photos from
registry wheels (testkit/images.py) and their variants (testkit/variants.py:
turned +-20 degrees, mirrored, half size, JPEG 35), and derives the template from the 3D
meshes it outputs (ml_service/perception/face_template.py: Procrustes mean with rigidity
weights, mirror twins, symmetric frame, pitch zero / unit / origin from ML.md's canonical
points). Every person counts once, whatever the number of their variants that give a face.
Prints what it found and a few checks. Run with `make face-template`.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.perception import Perceiver, face_mesh, face_template, head_pose  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from testkit.images import load_bgr  # noqa: E402
from testkit.variants import VARIANTS  # noqa: E402

OUT = ROOT / "ml_service" / "perception" / face_template.TEMPLATE_FILE
# (person, test photo, crop x0 y0 x1 y1 or None): one face each, crops upscaled to 256 px
# where the face is small in the frame (the short-range detector wants selfie-sized faces).
PEOPLE = (
    ("astronaut", "astronaut", None),
    ("cameraman", "camera", None),
    ("bus_left", "bus_face", None),
    ("bus_right", "bus", (200, 355, 370, 525)),
    ("grace_hopper", "grace_hopper", None),
    ("zidane", "zidane", (380, 170, 740, 530)),
    ("ancelotti", "zidane", (820, 20, 1180, 380)),
)


def photo(name: str, box: tuple[int, int, int, int] | None) -> np.ndarray:
    image = load_bgr(name)
    if box is None:
        return image
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    if crop.shape[0] < 256:
        crop = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(crop)


def _mesh(perceiver: Perceiver, image: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The one face's landmarks and mean iris diameter (the perceiver's steps: ``analyze``
    would solve the head pose, which needs the template being made)."""
    detections = perceiver.detect_faces(image, bgr=True)
    if len(detections) != 1:
        return None
    meshes = perceiver.face_landmarks(
        image, [face_mesh.roi_from_detection(detections[0])], bgr=True
    )
    landmarks, presence = meshes[0]
    if presence < perceiver.settings.face_presence_threshold:
        return None
    right, left = perceiver.irises(image, [landmarks], bgr=True)[0]
    return landmarks.astype(np.float64), (right.diameter_px + left.diameter_px) / 2


@dataclass
class Collected:
    meshes: list[np.ndarray] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)  # the person of each mesh
    iris_px: list[float] = field(default_factory=list)  # mean iris diameter of each mesh
    sources: list[dict[str, object]] = field(default_factory=list)


def collect(perceiver: Perceiver) -> Collected:
    """Every person's meshes over the variants that show exactly one face."""
    out = Collected()
    for person, name, box in PEOPLE:
        base = photo(name, box)
        found = []
        for variant, make in VARIANTS.items():
            mesh = _mesh(perceiver, make(base))
            if mesh is None:
                continue
            out.meshes.append(mesh[0])
            out.iris_px.append(mesh[1])
            out.owners.append(person)
            found.append(variant)
        out.sources.append({"person": person, "image": name, "crop": box, "variants": found})
    return out


def make(collected: Collected) -> face_template.FaceTemplate:
    """The template; every person counts once. The first mesh (the astronaut's original
    photo, frontal) orients the Procrustes mean."""
    counts = Counter(collected.owners)
    shape_weights = np.array([1.0 / counts[p] for p in collected.owners])
    return face_template.build(collected.meshes, shape_weights=shape_weights)


def main() -> None:
    with Perceiver.from_settings(MLSettings()) as perceiver:
        collected = collect(perceiver)
    for source in collected.sources:
        variants = source["variants"]
        assert isinstance(variants, list)
        print(f"{source['person']!s:13s} {len(variants)} variants: {', '.join(variants)}")
    template = make(collected)
    checks = _checks(template, collected)
    for key, value in checks.items():
        print(f"{key}: {value}")
    about = (
        "3D face template for head pose (ml_service/perception/face_template.py), derived by "
        "scripts/ml/make_face_template.py from our face landmark model's own 3D output on "
        "public photos and their variants; head frame (x to the subject's left, y down, "
        "z into the head), centimetres, ML.md's canonical origin."
    )
    OUT.write_text(template.to_json(about=about, sources=collected.sources, checks=checks))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {len(collected.meshes)} meshes)")


def _checks(template: face_template.FaceTemplate, collected: Collected) -> dict[str, float | int]:
    indices, canonical = face_template.canonical_points()
    residual = np.linalg.norm(template.points[indices] - canonical, axis=1)
    # The iris size the template's scale implies (11.7 mm if the template's centimetres are
    # the iris's): the fit's pixels per cm against each face's iris diameter in pixels.
    implied = [
        10.0 * diameter / head_pose.fit(mesh, template)[1]
        for mesh, diameter in zip(collected.meshes, collected.iris_px, strict=True)
    ]
    eyes = float(np.linalg.norm(template.points[33] - template.points[263]))
    chin = float(template.points[152, 1] - template.points[[33, 263], 1].mean())
    return {
        "meshes": len(collected.meshes),
        "midline_points": int((template.mirror == np.arange(len(template.mirror))).sum()),
        "fit_points": int((template.weights > 0).sum()),
        "canonical_residual_cm": round(float(residual.mean()), 3),
        "canonical_residual_chin_cm": round(float(residual[indices.index(152)]), 3),
        "chin_below_eyes_per_eye_width": round(chin / eyes, 3),
        "implied_iris_mm_median": round(float(np.median(implied)), 2),
    }


if __name__ == "__main__":
    main()
