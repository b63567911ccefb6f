"""The face-shape classifier against hand-made labels (``make face-shape-report``).

For each person of the test photos (the face template's seven, ``make_face_template.py``'s
crops) and each variant of ``testkit.variants`` (turned +-20 degrees, mirrored, half size,
JPEG 35): the shape, its confidence, or why there is none; then the agreement with the labels
in ``tests/ml_service/fixtures/face_shapes.json`` on the originals and on every variant, and
how often a variant keeps its original's shape.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service import advice  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from ml_service.types import Analysis  # noqa: E402
from testkit.images import load_bgr  # noqa: E402
from testkit.variants import VARIANTS  # noqa: E402

LABELS = ROOT / "tests" / "ml_service" / "fixtures" / "face_shapes.json"
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


def main() -> int:
    labels: dict[str, str] = json.loads(LABELS.read_text())["labels"]
    rows: list[tuple[str, str, str | None, float, str]] = []
    with Perceiver.from_settings(MLSettings()) as perceiver:
        for person, name, box in PEOPLE:
            image = photo(name, box)
            for variant, make in VARIANTS.items():
                analysis = perceiver.analyze(make(image), bodies=False, masks=False)
                if not analysis.faces:
                    rows.append((person, variant, None, 0.0, "no face found"))
                    continue
                face = max(
                    analysis.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])
                )
                one = Analysis(analysis.width, analysis.height, [face])
                decision = advice.decide(one)
                if decision.advice is None:
                    rows.append((person, variant, None, 0.0, decision.reason))
                else:
                    s = decision.advice.shape
                    rows.append((person, variant, s.shape, s.confidence, ""))
    print("| person | label | " + " | ".join(VARIANTS) + " |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for person, *_ in PEOPLE:
        cells = []
        for _, _variant, shape, confidence, _reason in (r for r in rows if r[0] == person):
            cells.append(f"{shape} {confidence:.2f}" if shape else "-")
        print(f"| {person} | {labels.get(person, '?')} | " + " | ".join(cells) + " |")
    originals = [r for r in rows if r[1] == "original" and r[2]]
    measured = [r for r in rows if r[2]]
    agree_o = sum(r[2] == labels.get(r[0]) for r in originals)
    agree_all = sum(r[2] == labels.get(r[0]) for r in measured)
    first = {r[0]: r[2] for r in originals}
    variants = [r for r in measured if r[1] != "original" and r[0] in first]
    stable = sum(r[2] == first[r[0]] for r in variants)
    print()
    print(f"agreement with the labels, originals: {agree_o}/{len(originals)}")
    print(f"agreement with the labels, all measured variants: {agree_all}/{len(measured)}")
    print(f"variants keeping their original's shape: {stable}/{len(variants)}")
    refused = [r for r in rows if not r[2]]
    print(f"not measured: {len(refused)} of {len(rows)} ({sorted({r[4] for r in refused})})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
