"""Before/after sheets of every top, necklace and earring product on the test photos
(issue 18's evidence): one picture per product, a row per photo, the photo and the render
side by side (the refusal's reason written where a product cannot be worn).

Committed to docs/images (``sheet-<product>.jpg``) only for photos whose licence allows it
(testkit/render_goldens.py); the bus photo's rows go to var/sheets/ for looking at, never
into the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.assets import prepare_asset  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.render import ProductRenderer  # noqa: E402
from ml_service.render.errors import CannotRender  # noqa: E402
from testkit.render_goldens import category_of  # noqa: E402
from testkit.render_photos import load_photo  # noqa: E402

PRODUCTS = ("tshirt-navy", "tshirt-striped", "necklace-pendant", "earrings-drop")
COMMITTED = ("astronaut", "grace_hopper", "camera", "astronaut_bust")
LOCAL = ("bus_person", "zidane_pair")
ROW_HEIGHT = 360


def main() -> None:
    photos = {name: load_photo(name) for name in COMMITTED + LOCAL}
    local = ROOT / "var" / "sheets"
    local.mkdir(parents=True, exist_ok=True)
    with Perceiver.from_settings() as perceiver:
        analyses = {name: perceiver.analyze(image) for name, image in photos.items()}
        for product in PRODUCTS:
            data = (ROOT / "ml_service/demo_assets" / f"{product}.png").read_bytes()
            renderer = ProductRenderer(prepare_asset(data, category_of(product)))
            rows = {name: _row(renderer, photos[name], analyses[name]) for name in photos}
            _write(ROOT / "docs/images" / f"sheet-{product}.jpg", [rows[n] for n in COMMITTED])
            _write(local / f"sheet-{product}-local.jpg", [rows[n] for n in LOCAL])
            print(f"sheet-{product}.jpg ({len(COMMITTED)} photos), var/sheets: {len(LOCAL)}")


def _row(renderer: ProductRenderer, image: np.ndarray, analysis: object) -> np.ndarray:
    try:
        out = renderer.render(image, analysis).image  # type: ignore[arg-type]
    except CannotRender as exc:
        out = image.copy()
        cv2.putText(out, f"refused: {exc.reason}", (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (0, 0, 255), 2, cv2.LINE_AA)  # fmt: skip
    pair = np.hstack([image, np.full((image.shape[0], 6, 3), 255, np.uint8), out])
    scale = ROW_HEIGHT / pair.shape[0]
    return np.asarray(cv2.resize(pair, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def _write(path: Path, rows: list[np.ndarray]) -> None:
    width = max(r.shape[1] for r in rows)
    padded = [
        np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    if not cv2.imwrite(str(path), np.vstack(padded), [cv2.IMWRITE_JPEG_QUALITY, 82]):
        raise SystemExit(f"cannot write {path}")


if __name__ == "__main__":
    main()
