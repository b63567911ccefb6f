"""Write the demo store's two brand model photos and print their paths, one per line.

They are public test photos unpacked from PyPI packages, as the tests' are
(testkit/images.py): scikit-image's astronaut (Eileen Collins, NASA, public domain) and
matplotlib's Grace Hopper. The file name is the model's name in the widget.

    .venv/bin/python scripts/demo_model_photos.py var/demo-models
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit.images import load_bgr

MODELS = {"Eileen": "astronaut", "Grace": "grace_hopper"}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: demo_model_photos.py OUT_DIR")
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, image in MODELS.items():
        path = out / f"{name}.jpg"
        if not path.exists():
            cv2.imwrite(str(path), load_bgr(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
