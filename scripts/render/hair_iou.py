"""The hair mask against the hand-labelled crops (testkit/hair_labels.py): IoU per crop and
the mean; ``--grid PHOTO x0,y0,x1,y1 [ZOOM]`` writes the zoomed, gridded view used to label a
head (var/hair-grid.png); ``--show`` writes each crop's label and mask side by side
(var/hair-iou/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.perception import Perceiver  # noqa: E402
from testkit.hair_labels import measure  # noqa: E402
from testkit.render_photos import load_photo  # noqa: E402


def grid(photo: str, box: str, zoom: float) -> None:
    x0, y0, x1, y1 = (int(v) for v in box.split(","))
    big = cv2.resize(load_photo(photo)[y0:y1, x0:x1], None, fx=zoom, fy=zoom,
                     interpolation=cv2.INTER_CUBIC)  # fmt: skip
    for x in range((x0 // 10 + 1) * 10, x1, 10):
        c = (0, 255, 255) if x % 50 == 0 else (200, 200, 200)
        cv2.line(big, (int((x - x0) * zoom), 0), (int((x - x0) * zoom), big.shape[0]), c, 1)
    for y in range((y0 // 10 + 1) * 10, y1, 10):
        c = (0, 255, 255) if y % 50 == 0 else (200, 200, 200)
        cv2.line(big, (0, int((y - y0) * zoom)), (big.shape[1], int((y - y0) * zoom)), c, 1)
    out = ROOT / "var" / "hair-grid.png"
    out.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(out), big)
    print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", nargs="+", metavar="ARG")
    args = parser.parse_args()
    if args.grid:
        grid(args.grid[0], args.grid[1], float(args.grid[2]) if len(args.grid) > 2 else 3.0)
        return
    with Perceiver.from_settings() as perceiver:
        results = measure(perceiver)
    for r in results:
        iou = "  -  " if r.iou is None else f"{r.iou:5.3f}"
        print(f"  {r.photo:16s} {r.head:13s} IoU {iou}  false hair {100 * r.false_hair:5.2f} %  "
              f"labelled {r.labelled_px:6d} px  found {r.found_px:6d} px")  # fmt: skip
    ious = [r.iou for r in results if r.iou is not None]
    print(f"mean IoU over {len(ious)} crops with hair: {np.mean(ious):.3f} "
          f"(min {min(ious):.3f}); crops: {len(results)}")  # fmt: skip


if __name__ == "__main__":
    main()
