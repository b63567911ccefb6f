"""Draw the project's own demo product set (no third-party photos).

Run ``python -m ml_service.demo_assets.generate [OUT_DIR]``; it rewrites the PNGs beside this
file by default. Everything is vector drawing with OpenCV at twice the size, reduced with area
averaging for clean anti-aliased edges, on a white packshot background, from a fixed seed so
the output is reproducible (a test regenerates and compares).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.demo_assets import models3d

Image = NDArray[np.uint8]
SS = 2  # supersampling factor
HERE = Path(__file__).resolve().parent

# name -> (category, real width in mm or None, drawing function)
Catalogue = dict[str, tuple[str, float | None, Callable[[], Image]]]


def _canvas(w: int, h: int, colour: tuple[int, int, int] = (255, 255, 255)) -> Image:
    img = np.empty((h * SS, w * SS, 3), np.uint8)
    img[:] = colour
    return img


def _finish(img: Image) -> Image:
    h, w = img.shape[:2]
    return np.asarray(cv2.resize(img, (w // SS, h // SS), interpolation=cv2.INTER_AREA), np.uint8)


def _shade(colour: tuple[int, int, int], f: Callable[[int], float]) -> tuple[int, int, int]:
    """``colour`` with ``f`` applied to each channel."""
    b, g, r = colour
    return int(f(b)), int(f(g)), int(f(r))


def _pts(points: NDArray[np.float64]) -> NDArray[np.int32]:
    return np.round(points * SS * 16).astype(np.int32).reshape(-1, 1, 2)


def _poly(img: Image, pts: NDArray[np.float64], colour: tuple[int, int, int]) -> None:
    cv2.fillPoly(img, [_pts(pts)], colour, cv2.LINE_AA, shift=4)


def _line(
    img: Image,
    pts: NDArray[np.float64],
    colour: tuple[int, int, int],
    width: float,
    closed: bool = False,
) -> None:
    cv2.polylines(img, [_pts(pts)], closed, colour, max(1, round(width * SS)), cv2.LINE_AA, shift=4)


def _superellipse(
    centre: tuple[float, float], a: float, b: float, *, n: float, k: int = 180
) -> NDArray[np.float64]:
    cx, cy = centre
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = a * np.sign(c) * np.abs(c) ** (2 / n)
    y = b * np.sign(s) * np.abs(s) ** (2 / n)
    return np.stack([cx + x, cy + y], axis=1)


def _lens_shape(
    style: str, centre: tuple[float, float], a: float, b: float, *, outer: int
) -> NDArray[np.float64]:
    """Lens outline; ``outer`` is -1 for the image-left lens (its outer side is to the left)."""
    cx, cy = centre
    if style == "round":
        return _superellipse((cx, cy), a, a * 0.94, n=2.0)
    if style == "rect":
        return _superellipse((cx, cy), a, b, n=4.5)
    pts = _superellipse((0.0, 0.0), a, b, n=2.6)
    x, y = pts[:, 0], pts[:, 1]
    u = outer * x / a  # 1 at the outer edge
    if style == "cateye":
        y = y - np.clip(u, 0, 1) ** 2 * np.clip(-y / b, 0, 1) * b * 0.45
        y = y + np.clip(-u, 0, 1) * np.clip(y / b, 0, 1) * b * 0.1
    elif style == "aviator":
        down = np.clip(y / b, 0, 1)
        y = y + down * b * 0.35 * (0.6 + 0.4 * np.clip(-u, -1, 1))
        y = y - np.clip(-y / b, 0, 1) * b * 0.1
    return np.stack([cx + x, cy + y], axis=1)


def _glasses(
    style: str,
    frame: tuple[int, int, int],
    *,
    lens: tuple[int, int, int] | None = None,
    lens_bottom: tuple[int, int, int] | None = None,
    rim: float = 18.0,
    tortoise: bool = False,
    seed: int = 0,
) -> Image:
    w, h = 1200, 480
    img = _canvas(w, h)
    cy, a, b = 225.0, 225.0, 165.0 if style != "round" else 200.0
    if style == "round":
        a = 205.0
    centres = (600 - 285.0, 600 + 285.0)
    shapes = [
        _lens_shape(style, (cx, cy), a, b, outer=-1 if i == 0 else 1)
        for i, cx in enumerate(centres)
    ]
    if lens is not None:
        bottom = lens_bottom or lens
        for shape in shapes:
            layer = _canvas(w, h, (0, 0, 0))
            _poly(layer, shape, (255, 255, 255))
            ys = np.linspace(0, 1, h * SS)[:, None, None]
            grad = (np.array(lens) * (1 - ys) + np.array(bottom) * ys).astype(np.float32)
            grad = np.broadcast_to(grad, img.shape)
            m = layer.astype(np.float32) / 255
            img[:] = (img * (1 - m) + grad * m).astype(np.uint8)
    # Bridge: a gentle arc between the lenses' inner top edges.
    inner_l = shapes[0][np.argmax(shapes[0][:, 0])]
    bx = np.linspace(centres[0] + a * 0.82, centres[1] - a * 0.82, 30)
    by = cy - b * 0.45 - 26 * np.sin(np.linspace(0, np.pi, 30))
    _line(img, np.stack([bx, by], 1), frame, rim * 0.95)
    del inner_l
    # End pieces (hinges) beyond the outer edges, at the upper third of the lens.
    for i, shape in enumerate(shapes):
        side = -1 if i == 0 else 1
        ex = shape[np.argmax(side * shape[:, 0])][0]
        y0 = cy - b * 0.45
        piece = np.array(
            [
                [ex - side * 10, y0 - rim * 0.8],
                [ex + side * 52, y0 - rim * 0.6],
                [ex + side * 52, y0 + rim * 0.9],
                [ex - side * 10, y0 + rim * 1.2],
            ]
        )
        _poly(img, piece, frame)
        _line(img, shape, frame, rim, closed=True)
    if tortoise:
        rng = np.random.default_rng(seed)
        noise = rng.random((h * SS // 24, w * SS // 24)).astype(np.float32)
        noise = np.asarray(
            cv2.resize(noise, (w * SS, h * SS), interpolation=cv2.INTER_CUBIC), np.float32
        )
        spots = cv2.GaussianBlur(noise, (0, 0), 6)
        mask = np.all(np.abs(img.astype(np.int16) - np.array(frame)) < 3, axis=2)
        dark = np.array([20, 35, 70], np.float32)
        light = np.array([50, 110, 190], np.float32)
        t = np.clip((spots - 0.35) * 3.0, 0, 1)[..., None]
        shell = (dark * (1 - t) + light * t).astype(np.uint8)
        img[mask] = shell[mask]
    # A soft highlight along the top of the rims (acetate and metal both shine there).
    for shape in shapes:
        top = shape[shape[:, 1] < cy - b * 0.55]
        top = top[np.argsort(top[:, 0])]
        if len(top) > 2:
            hl = _shade(frame, lambda c: min(255, c + 70))
            _line(img, top + np.array([0.0, -rim * 0.2]), hl, max(2.0, rim * 0.22))
    return _finish(img)


def _hat() -> Image:
    w, h = 1000, 620
    img = _canvas(w, h)
    felt = (40, 70, 105)
    # Crown: a rounded trapezoid with a pinched top.
    t = np.linspace(0, 1, 60)
    left = np.stack([265 + 60 * t, 470 - 330 * t], 1)
    top_pts = np.stack(
        [325 + 350 * t, 140 + 30 * np.sin(np.pi * t) - 40 * np.sin(np.pi * t) ** 6], 1
    )
    right = np.stack([675 + 60 * t, 140 + 330 * t], 1)
    crown = np.concatenate([left, top_pts, right])
    _poly(img, crown, felt)
    # Vertical shading on the crown: darker at the sides.
    xs = np.arange(w * SS) / SS
    shade = 0.75 + 0.35 * np.clip(1 - np.abs(xs - 500) / 260, 0, 1)
    mask = np.all(img == np.array(felt, np.uint8), axis=2)
    shaded = (
        (np.array(felt, np.float32)[None, None] * shade[None, :, None])
        .clip(0, 255)
        .astype(np.uint8)
    )
    shaded = np.broadcast_to(shaded, img.shape)
    img[mask] = shaded[mask]
    # Pinch dent lines.
    _line(img, np.array([[470, 190], [450, 300]]), (30, 55, 85), 5)
    _line(img, np.array([[530, 190], [550, 300]]), (30, 55, 85), 5)
    # Band.
    band = np.array([[270, 405], [730, 405], [735, 470], [265, 470]], np.float64)
    _poly(img, band, (25, 25, 30))
    _line(img, np.array([[640, 410], [640, 466]]), (60, 60, 70), 4)
    # Brim: a wide flat ellipse, the front edge curving down a little.
    brim = _superellipse((500, 478), 455, 52, n=2.0)
    brim_colour = (35, 62, 95)
    _poly(img, brim, brim_colour)
    _line(img, brim[(brim[:, 1] > 478)], (25, 45, 70), 6)
    _poly(img, band, (25, 25, 30))
    return _finish(img)


def _earrings() -> Image:
    w, h = 640, 560
    img = _canvas(w, h)
    gold = (60, 170, 215)
    for cx in (170.0, 470.0):
        hook = np.stack(
            [
                cx + 28 * np.sin(np.linspace(-0.6, np.pi, 40)),
                90 - 40 * np.cos(np.linspace(-0.6, np.pi, 40)),
            ],
            1,
        )
        _line(img, hook, gold, 7)
        cv2.circle(img, (int(cx * SS), int(132 * SS)), 11 * SS, gold, 6 * SS, cv2.LINE_AA)
        for k in range(3):
            y = 165 + 34 * k
            cv2.ellipse(
                img,
                (int(cx * SS), int(y * SS)),
                (8 * SS, 15 * SS),
                0,
                0,
                360,
                gold,
                5 * SS,
                cv2.LINE_AA,
            )
        drop = np.stack(
            [
                cx
                + 62
                * np.sin(np.linspace(0, 2 * np.pi, 90))
                * np.sin(np.linspace(0, np.pi, 90) / 2),
                265 + 200 * (1 - np.cos(np.linspace(0, 2 * np.pi, 90))) / 2,
            ],
            1,
        )
        _poly(img, drop, (150, 80, 20))
        _line(img, drop, gold, 6, closed=True)
        hl = np.stack(
            [cx - 20 + 10 * np.sin(np.linspace(0, np.pi, 20)), np.linspace(330, 420, 20)], 1
        )
        _line(img, hl, (230, 190, 150), 8)
    return _finish(img)


def _necklace() -> Image:
    w, h = 900, 760
    img = _canvas(w, h)
    gold = (55, 165, 212)
    t = np.linspace(-1, 1, 400)
    x = 450 + 370 * np.sin(t * np.pi / 2 * 0.98)
    y = 60 + 420 * (1 - np.cos(t * np.pi / 2)) ** 0.8 * 1.0 + 20 * (1 - t**2)
    y = 60 + (560 - 60) * (1 - np.abs(t) ** 1.6)
    chain = np.stack([x, y], 1)
    _line(img, chain, (40, 130, 180), 9)
    _line(img, chain, gold, 5)
    # Links: small ellipses along the chain.
    for i in range(0, 400, 9):
        cv2.ellipse(
            img,
            (int(x[i] * SS), int(y[i] * SS)),
            (7 * SS, 4 * SS),
            0,
            0,
            360,
            gold,
            2 * SS,
            cv2.LINE_AA,
        )
    # Clasp rings at the ends.
    for i in (0, -1):
        cv2.circle(img, (int(x[i] * SS), int(y[i] * SS)), 12 * SS, gold, 5 * SS, cv2.LINE_AA)
    # Pendant: a disc with a stone.
    cv2.circle(img, (450 * SS, 620 * SS), 58 * SS, gold, -1, cv2.LINE_AA)
    cv2.circle(img, (450 * SS, 620 * SS), 58 * SS, (30, 120, 170), 4 * SS, cv2.LINE_AA)
    cv2.circle(img, (450 * SS, 620 * SS), 30 * SS, (60, 30, 160), -1, cv2.LINE_AA)
    cv2.circle(img, (440 * SS, 608 * SS), 9 * SS, (200, 190, 255), -1, cv2.LINE_AA)
    _line(img, np.array([[450, 560], [450, 575]]), gold, 10)
    return _finish(img)


def _tshirt(
    body: tuple[int, int, int], rib: tuple[int, int, int], *, stripes: bool = False
) -> Image:
    w, h = 1000, 1100
    img = _canvas(w, h)
    outline = np.array(
        [
            [390, 80],
            [445, 120],
            [500, 130],
            [555, 120],
            [610, 80],  # neckline
            [760, 120],
            [950, 330],
            [835, 430],
            [760, 360],  # right shoulder, sleeve, armpit
            [765, 1020],
            [235, 1020],  # right side, hem, left side
            [240, 360],
            [165, 430],
            [50, 330],
            [240, 120],  # left armpit, sleeve, shoulder
        ],
        np.float64,
    )
    _poly(img, outline, body)
    # Inside of the back neck, seen through the neck opening.
    back = _superellipse((500, 82), 112, 20, n=2.0)
    back = back[back[:, 1] >= 82]
    inner = np.concatenate([[[388, 80]], back[np.argsort(back[:, 0])], [[612, 80]]])
    _poly(
        img,
        np.concatenate([inner, [[555, 118], [500, 128], [445, 118]]]),
        _shade(body, lambda c: c * 0.6),
    )
    # Neck rib.
    t = np.linspace(0, np.pi, 60)
    neck = np.stack([500 - 112 * np.cos(t), 80 + 50 * np.sin(t)], 1)
    _line(img, neck, rib, 18)
    # Sleeve hems and the bottom hem as stitch lines.
    _line(img, np.array([[62, 318], [173, 418]]), rib, 6)
    _line(img, np.array([[938, 318], [827, 418]]), rib, 6)
    _line(img, np.array([[237, 995], [763, 995]]), rib, 4)
    if stripes:
        for y in range(260, 990, 90):
            band = np.array([[243, y], [757, y], [757, y + 34], [243, y + 34]], np.float64)
            _poly(img, band, rib)
    # Fabric shading: soft vertical folds.
    xs = np.arange(w * SS) / SS
    fold = 1.0 + 0.06 * np.sin(xs / 45.0) - 0.12 * (np.abs(xs - 500) / 500) ** 2
    mask = np.any(img != 255, axis=2)
    shaded = (img.astype(np.float32) * fold[None, :, None]).clip(0, 255).astype(np.uint8)
    img[mask] = shaded[mask]
    return _finish(img)


CATALOGUE: Catalogue = {
    "glasses-round-black": ("eyewear", 132.0, lambda: _glasses("round", (30, 30, 32), rim=14)),
    "glasses-rect-tortoise": (
        "eyewear",
        140.0,
        lambda: _glasses("rect", (40, 80, 140), rim=22, tortoise=True, seed=7),
    ),
    "glasses-cateye-red": ("eyewear", 136.0, lambda: _glasses("cateye", (40, 30, 170), rim=20)),
    "glasses-round-gold": ("eyewear", 134.0, lambda: _glasses("round", (70, 165, 205), rim=8)),
    "sunglasses-aviator": (
        "eyewear",
        142.0,
        lambda: _glasses(
            "aviator", (70, 160, 200), lens=(55, 70, 45), lens_bottom=(120, 140, 110), rim=8
        ),
    ),
    "sunglasses-square-black": (
        "eyewear",
        145.0,
        lambda: _glasses("rect", (25, 25, 25), lens=(30, 32, 28), rim=26),
    ),
    "hat-fedora": ("hat", None, _hat),
    "earrings-drop": ("earrings", 38.0, _earrings),
    "necklace-pendant": ("necklace", None, _necklace),
    "tshirt-navy": ("top", None, lambda: _tshirt((95, 50, 25), (70, 35, 15))),
    "tshirt-striped": ("top", None, lambda: _tshirt((70, 180, 235), (200, 228, 242), stripes=True)),
}


def generate(out_dir: Path = HERE) -> dict[str, dict[str, object]]:
    """Draw every demo product into ``out_dir`` (frames and hats as ``.glb`` models and
    pictures rendered from them); returns the manifest written beside them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, object]] = {}
    for name, (category, width_mm, draw) in CATALOGUE.items():
        picture = draw()
        entry: dict[str, object] = {
            "file": f"{name}.png",
            "category": category,
            "width_mm": width_mm,
        }
        if category in ("eyewear", "hat"):
            # Frames and hats are 3D models; their pictures are rendered from them.
            model = models3d.model_for(name, category, width_mm, picture)
            (out_dir / f"{name}.glb").write_bytes(model)
            picture = models3d.packshot(model, category)
            entry["model"] = f"{name}.glb"
        cv2.imwrite(str(out_dir / f"{name}.png"), picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        manifest[name] = entry
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
