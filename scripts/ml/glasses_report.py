"""How often the own-glasses detector is right on the labelled test faces (docs/ml.md).

Usage: python scripts/ml/glasses_report.py (or `make ml-glasses`). Prints each case and the
confusion table: glasses present or not, and tinted (dark) or not.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.perception import Perceiver  # noqa: E402
from testkit.glasses import cases, evaluate  # noqa: E402
from testkit.images import load_bgr  # noqa: E402


def main() -> None:
    with Perceiver.from_settings() as perceiver:

        def mesh_of(image: np.ndarray, x: float, y: float) -> np.ndarray:
            faces = perceiver.analyze(image, bodies=False).faces
            centres = [((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in faces]
            best = int(np.argmin([np.hypot(cx - x, cy - y) for cx, cy in centres]))
            return faces[best].landmarks

        outcomes = evaluate(
            lambda image: list(perceiver.analyze(image, bodies=False).faces),
            cases(load_bgr, mesh_of),
        )
    print("| case | label | ours |\n|---|---|---|")
    for o in outcomes:
        print(f"| {o.case} | {o.label} | {o.predicted or 'not judged'} |")
    judged = [o for o in outcomes if o.predicted is not None]
    present = Counter((o.label != "none", o.predicted != "none") for o in judged)
    right = sum(v for (truth, guess), v in present.items() if truth == guess)
    dark_right = sum((o.label == "dark") == (o.predicted == "dark") for o in judged)
    print(
        f"\n{len(outcomes)} labelled faces, {len(judged)} judged "
        f"({len(outcomes) - len(judged)} not: head turned over 35 degrees or face not found)"
    )
    print(
        f"glasses present: {right}/{len(judged)} right "
        f"(true positives {present[(True, True)]}, true negatives {present[(False, False)]}, "
        f"false positives {present[(False, True)]}, false negatives {present[(True, False)]})"
    )
    print(f"tinted or not: {dark_right}/{len(judged)} right")


if __name__ == "__main__":
    main()
