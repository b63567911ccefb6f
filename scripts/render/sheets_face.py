"""Before/after sheets of every eyewear and hat demo product on the test photos
(``make render-goldens`` runs this after the goldens). Look at every sheet.

One sheet per photo and category: a row per product, the photo and the render side by side,
cropped around the face. astronaut, camera and grace_hopper sheets go to ``docs/images``
(their licences let us commit derived pictures); zidane and bus (ultralytics' wheel, no clear
licence) go to ``build/render-sheets`` only. Until the full-range face detector (issue 17
part 1) is merged, the short-range detector finds no face in the full zidane.jpg and bus.jpg:
their sheets use a crop around one person (``zidane_right``, ``bus_face``), named in the
sheet's file name.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.assets import prepare_asset  # noqa: E402
from ml_service.perception import Perceiver  # noqa: E402
from ml_service.render import render  # noqa: E402
from ml_service.render.errors import CannotRender  # noqa: E402
from testkit.images import load_bgr  # noqa: E402

DEMO = ROOT / "ml_service" / "demo_assets"
COMMITTED = ROOT / "docs" / "images"
LOCAL = ROOT / "build" / "render-sheets"
PHOTOS = {
    "astronaut": ("astronaut", None, COMMITTED),
    "grace_hopper": ("grace_hopper", None, COMMITTED),
    "camera": ("camera", None, COMMITTED),
    "zidane_right": ("zidane", (640, 0, 1280, 720), LOCAL),
    "bus_face": ("bus_face", None, LOCAL),
}
CELL = 260  # pixels per before/after picture


def products() -> dict[str, list[str]]:
    manifest = json.loads((DEMO / "manifest.json").read_text())
    out: dict[str, list[str]] = {"eyewear": [], "hat": []}
    for name, entry in sorted(manifest.items()):
        if entry["category"] in out:
            out[entry["category"]].append(name)
    return out


def photo(name: str) -> NDArray[np.uint8]:
    source, box, _ = PHOTOS[name]
    image = load_bgr(source)
    if box is not None:
        x0, y0, x1, y1 = box
        image = np.ascontiguousarray(image[y0:y1, x0:x1])
    return image


def crop_box(face_box: tuple[float, ...], shape: tuple[int, ...], category: str) -> tuple[int, ...]:
    x0, y0, x1, y1 = face_box
    size = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - (0.45 * size if category == "hat" else 0.1 * size)
    half = size * (1.0 if category == "hat" else 0.75)
    h, w = shape[:2]
    return (
        max(0, int(cx - half)),
        max(0, int(cy - half)),
        min(w, int(cx + half)),
        min(h, int(cy + half)),
    )


def label(image: NDArray[np.uint8], text: str) -> NDArray[np.uint8]:
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    catalogue = products()
    with Perceiver.from_settings() as perceiver:
        for name, (_, _, folder) in PHOTOS.items():
            image = photo(name)
            analysis = perceiver.analyze(image)
            for category, names in catalogue.items():
                rows = []
                for product in names:
                    asset = prepare_asset((DEMO / f"{product}.png").read_bytes(), category)
                    glb = DEMO / f"{product}.glb"
                    if glb.exists():
                        asset = replace(asset, model=glb.read_bytes())
                    try:
                        out = render(image, analysis, asset).image
                    except CannotRender as exc:
                        blank = np.full((CELL, 2 * CELL, 3), 200, np.uint8)
                        rows.append(label(blank, f"{product}: {exc.reason}"))
                        continue
                    face = max(analysis.faces, key=lambda f: f.box[2] - f.box[0])
                    x0, y0, x1, y1 = crop_box(face.box, image.shape, category)
                    before = cv2.resize(
                        image[y0:y1, x0:x1], (CELL, CELL), interpolation=cv2.INTER_AREA
                    )
                    after = cv2.resize(
                        out[y0:y1, x0:x1], (CELL, CELL), interpolation=cv2.INTER_AREA
                    )
                    rows.append(np.hstack([label(before, "before"), label(after, product)]))
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"sheet-{name}-{category}.jpg"
                if not cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85]):
                    raise SystemExit(f"cannot write {path}")
                print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
