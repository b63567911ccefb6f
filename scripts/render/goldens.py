"""Regenerate the render goldens (tests/ml_service/render/golden) and the before/after
pictures in docs/images. Look at them before committing.

A golden is the rendered product region only (what the SSIM test compares): the box of the
pixels the render changed, padded, stored as PNG, with the boxes in ``boxes.json``. The docs
pictures are the photo and the render side by side, cropped around the product.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.assets import prepare_asset  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.render import render  # noqa: E402
from testkit.render_goldens import (  # noqa: E402
    BOXES,
    CASES,
    GOLDEN_DIR,
    category_of,
    product_box,
)
from testkit.render_photos import load_photo  # noqa: E402

DOCS = ROOT / "docs" / "images"
DOCS_MARGIN = 0.5  # of the product box's size, around it, in the docs pictures


def main() -> None:
    boxes: dict[str, list[int]] = {}
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    with Perceiver.from_settings() as perceiver:
        for photo, product in CASES:
            image = load_photo(photo)
            data = (ROOT / "ml_service/demo_assets" / f"{product}.png").read_bytes()
            asset = prepare_asset(data, category_of(product))
            out = render(image, perceiver.analyze(image), asset).image
            x0, y0, x1, y1 = product_box(image, out)
            name = f"{photo}--{product}"
            boxes[name] = [x0, y0, x1, y1]
            _write(GOLDEN_DIR / f"{name}.png", out[y0:y1, x0:x1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
            mx, my = int(DOCS_MARGIN * (x1 - x0)), int(DOCS_MARGIN * (y1 - y0))
            h, w = image.shape[:2]
            dx0, dy0 = max(0, x0 - mx), max(0, y0 - my)
            dx1, dy1 = min(w, x1 + mx), min(h, y1 + my)
            pair = np.hstack([image[dy0:dy1, dx0:dx1], out[dy0:dy1, dx0:dx1]])
            _write(DOCS / f"render-{photo}-{product}.jpg", pair, [cv2.IMWRITE_JPEG_QUALITY, 85])
            print(f"{name}: box {boxes[name]}")
    BOXES.write_text(json.dumps(boxes, indent=1, sort_keys=True) + "\n")


def _write(path: Path, image: np.ndarray, params: list[int]) -> None:
    if not cv2.imwrite(str(path), image, params):
        raise SystemExit(f"cannot write {path}")


if __name__ == "__main__":
    main()
