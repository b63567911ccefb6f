"""Figures for docs/ml.md (Head pose): docs/images/head-pose-*.png. Run with
`make head-pose-figures` and look at them before committing.

- head-pose-template.png: the face template from the front and the side, each point coloured
  by its fit weight (grey: not fitted), ML.md's canonical points as crosses;
- head-pose-before-after.png: photos with licences that allow it (astronaut: NASA, public
  domain; camera: CC0; grace_hopper: US Navy, public domain) with the head's axes as the
  5-point solvePnP (before) and the template fit (after) report them;
- head-pose-synthetic-eyewear.png: the template itself, shaded, turned to known poses, its
  pose estimated from its points and glasses rendered with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import Delaunay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.assets import prepare_asset  # noqa: E402
from ml_service.perception import Perceiver, face_template, iris  # noqa: E402
from ml_service.perception.perceiver import build_face  # noqa: E402
from ml_service.render import render  # noqa: E402
from ml_service.render.geometry import rotation_from_pose  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from ml_service.types import Analysis  # noqa: E402
from scripts.ml.head_pose_report import before  # noqa: E402
from testkit.head_pose_synthetic import synthetic_face  # noqa: E402
from testkit.images import load_bgr  # noqa: E402

DOCS = ROOT / "docs" / "images"
WHITE, GREY, INK = (255, 255, 255), (190, 190, 190), (40, 40, 40)


def _weight_colour(w: float) -> tuple[int, int, int]:
    """Blue (low) to red (high), BGR."""
    return (int(255 * (1 - w)), int(60 + 60 * w), int(255 * w))


def template_figure() -> np.ndarray:
    t = face_template.load()
    indices, canonical = face_template.canonical_points()
    panels = []
    for axes, title in (((0, 1), "front (x, y)"), ((2, 1), "side (z, y)")):
        size = 420
        img = np.full((size, size, 3), WHITE, np.uint8)
        scale = 0.8 * size / 20.0  # cm: the template spans about 17 cm
        centre = np.array([size / 2, size / 2]) - scale * np.array([0.0, 0.5])

        def to_px(p: np.ndarray, ax: tuple[int, int] = axes) -> np.ndarray:
            return centre + scale * p[..., list(ax)]  # noqa: B023

        order = np.argsort(t.weights)
        for i in order:
            w = float(t.weights[i])
            colour = GREY if w == 0 else _weight_colour(w / float(t.weights.max()))
            x, y = np.round(to_px(t.points[i])).astype(int)
            cv2.circle(img, (int(x), int(y)), 3 if w else 2, colour, -1, cv2.LINE_AA)
        for index, point in zip(indices, canonical, strict=True):
            x, y = np.round(to_px(point)).astype(int)
            cv2.drawMarker(img, (int(x), int(y)), INK, cv2.MARKER_CROSS, 12, 2)
            if axes == (0, 1) or index in (168, 1, 152):
                cv2.putText(img, str(index), (int(x) + 6, int(y) - 6), 0, 0.4, INK, 1, cv2.LINE_AA)
        cv2.putText(img, title, (10, 20), 0, 0.55, INK, 1, cv2.LINE_AA)
        panels.append(img)
    legend = np.full((40, 840, 3), WHITE, np.uint8)
    for k in range(200):
        cv2.line(legend, (20 + k, 12), (20 + k, 26), _weight_colour(k / 199), 1)
    cv2.putText(legend, "fit weight, low to high", (230, 24), 0, 0.45, INK, 1, cv2.LINE_AA)
    cv2.putText(legend, "grey: not fitted (eyelids, below the nose)", (420, 24), 0, 0.45, INK, 1)
    cv2.putText(legend, "+ ML.md canonical", (700, 24), 0, 0.45, INK, 1, cv2.LINE_AA)
    return np.vstack([np.hstack(panels), legend])


def _axes(
    img: np.ndarray, origin: np.ndarray, angles: tuple[float, float, float], length: float
) -> None:
    """The head's axes as the angles claim them (seen along the line of sight): x red (to the
    subject's left), y green (down), forward blue (out of the face)."""
    r = rotation_from_pose(*angles)
    for axis, colour in (
        ((1, 0, 0), (0, 0, 230)),
        ((0, 1, 0), (0, 170, 0)),
        ((0, 0, -1), (230, 90, 0)),
    ):
        d = r @ np.array(axis, np.float64)
        end = origin + length * d[:2]
        cv2.arrowedLine(
            img,
            tuple(np.round(origin).astype(int)),
            tuple(np.round(end).astype(int)),
            colour,
            2,
            cv2.LINE_AA,
            tipLength=0.15,
        )


def before_after_figure(perceiver: Perceiver) -> np.ndarray:
    rows = []
    for name in ("astronaut", "grace_hopper", "camera"):
        image = load_bgr(name)
        face = perceiver.analyze(image, bodies=False).faces[0]
        lm = face.landmarks
        old = before(lm, image.shape[1], image.shape[0])
        new = (face.head_pose.yaw, face.head_pose.pitch, face.head_pose.roll)
        x0, y0, x1, y1 = face.box
        side = 1.5 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        box = [int(max(0, cx - side / 2)), int(max(0, cy - side / 2))]
        box += [int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side / 2))]
        scale = 260 / (box[3] - box[1])
        panels = []
        for label, angles in (("before", old), ("after", new)):
            crop = cv2.resize(
                image[box[1] : box[3], box[0] : box[2]], None, fx=scale, fy=scale
            ).copy()
            origin = (lm[168, :2] - [box[0], box[1]]) * scale
            _axes(crop, origin, angles, 0.45 * crop.shape[0])
            text = f"{label}: yaw {angles[0]:.0f} pitch {angles[1]:.0f} roll {angles[2]:.0f}"
            cv2.rectangle(crop, (0, 0), (crop.shape[1], 22), (0, 0, 0), -1)
            cv2.putText(crop, text, (5, 16), 0, 0.45, WHITE, 1, cv2.LINE_AA)
            panels.append(crop)
        rows.append(np.hstack(panels))
    width = max(r.shape[1] for r in rows)
    rows = [
        cv2.copyMakeBorder(r, 0, 6, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=WHITE)
        for r in rows
    ]
    return np.vstack(rows)


def synthetic_eyewear_figure() -> np.ndarray:
    t = face_template.load()
    triangles = Delaunay(t.points[:, :2]).simplices
    width, height = 640, 480
    data = (ROOT / "ml_service" / "demo_assets" / "glasses-round-black.png").read_bytes()
    asset = prepare_asset(data, "eyewear")
    tiles = []
    for yaw, pitch in ((-30, 0), (0, 0), (30, 0), (0, -15), (0, 15), (30, 10)):
        face3d = synthetic_face(
            rotation_from_pose(yaw, pitch, 0), size=(width, height), distance_cm=35.0
        )
        lm = face3d.landmarks
        img = np.full((height, width, 3), 70, np.uint8)
        cam = t.points @ face3d.rotation.T + face3d.origin_cm
        for tri in triangles[np.argsort(-cam[triangles].mean(axis=1)[:, 2])]:
            a, b, c = cam[tri]
            normal = np.cross(c - a, b - a)
            normal /= np.linalg.norm(normal) + 1e-12
            view = -(a + b + c) / 3
            view /= np.linalg.norm(view)
            light = float(normal @ view)
            if light <= 0:
                continue
            shade = 70 + 160 * light
            colour = (0.78 * shade, 0.88 * shade, shade)
            cv2.fillConvexPoly(img, np.round(lm[tri, :2]).astype(np.int32), colour, cv2.LINE_AA)
        iris_px = 1.17 * face3d.focal / float(face3d.origin_cm[2])
        right = lm[[33, 133], :2].mean(axis=0)
        left = lm[[362, 263], :2].mean(axis=0)
        for centre in (right, left):
            c = (round(float(centre[0])), round(float(centre[1])))
            cv2.circle(img, c, int(iris_px / 2), (60, 45, 30), -1, cv2.LINE_AA)
        irises = (
            iris.Iris(right.astype(np.float32), iris_px),
            iris.Iris(left.astype(np.float32), iris_px),
        )
        face = build_face(lm, 0.99, irises, width=width, height=height)
        out = render(img, Analysis(width=width, height=height, faces=[face]), asset).image
        tile = out[100:380, 180:460].copy()
        p = face.head_pose
        text = f"true {yaw}/{pitch}  found {round(p.yaw)}/{round(p.pitch)} (yaw/pitch)"
        cv2.putText(tile, text, (6, 16), 0, 0.42, WHITE, 1, cv2.LINE_AA)
        tiles.append(tile)
    return np.vstack([np.hstack(tiles[:3]), np.hstack(tiles[3:])])


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    outputs = {"head-pose-template.png": template_figure()}
    with Perceiver.from_settings(MLSettings()) as perceiver:
        outputs["head-pose-before-after.png"] = before_after_figure(perceiver)
    outputs["head-pose-synthetic-eyewear.png"] = synthetic_eyewear_figure()
    for name, image in outputs.items():
        path = DOCS / name
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise SystemExit(f"cannot write {path}")
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
