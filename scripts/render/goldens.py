"""Regenerate the golden renders of tests/ml_service/render/test_render_real.py (look at them
before committing) and the before/after pictures in docs/images/."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from ml_service.assets import prepare_asset
from ml_service.perception import Perceiver
from ml_service.render import render
from tests.support import images

ROOT = Path(__file__).resolve().parents[2]
CATEGORY = {
    "glasses": "eyewear",
    "sunglasses": "eyewear",
    "hat": "hat",
    "earrings": "earrings",
    "necklace": "necklace",
    "tshirt": "top",
}
GOLDENS = [
    ("astronaut", "glasses-round-black"),
    ("astronaut", "sunglasses-aviator"),
    ("bus_face", "sunglasses-square-black"),
    ("camera", "glasses-cateye-red"),
    ("astronaut", "hat-fedora"),
    ("astronaut", "earrings-drop"),
    ("astronaut", "necklace-pendant"),
]


def main() -> None:
    with Perceiver.from_settings() as perceiver:
        for photo, product in GOLDENS:
            image = images.load_bgr(photo)
            asset = prepare_asset(
                (ROOT / "ml_service/demo_assets" / f"{product}.png").read_bytes(),
                CATEGORY[product.split("-")[0]],
            )
            out = render(image, perceiver.analyze(image), asset).image
            cv2.imwrite(
                str(ROOT / "tests/ml_service/render/golden" / f"{photo}--{product}.png"), out
            )
            before_after = np.hstack([image, out])
            cv2.imwrite(
                str(ROOT / "docs/images" / f"render-{photo}-{product}.jpg"),
                before_after,
                [cv2.IMWRITE_JPEG_QUALITY, 88],
            )
            print(photo, product)


if __name__ == "__main__":
    sys.exit(main())
