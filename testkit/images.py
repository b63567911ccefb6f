"""Public test photos, unpacked from PyPI wheels into the cache at test time (never committed).

``test_image(name) -> Path`` and ``load_bgr(name) -> ndarray`` for:

- ``astronaut``: scikit-image's astronaut (512x512, face and upper body)
- ``camera``: scikit-image's cameraman (512x512, grayscale, face in profile-ish view)
- ``bus``: ultralytics' bus.jpg (810x1080, people standing full length, one in sunglasses)
- ``bus_face``: a 256x256 crop of ``bus`` around a face, as a selfie-like close-up
- ``grace_hopper``: matplotlib's sample portrait (512x600, frontal, looking at the camera)
- ``zidane``: ultralytics' zidane.jpg (1280x720, two men, one shouting, faces small in frame)

The wheels are unpacked with uv (``uv pip install --no-deps --target``), which keeps them
in uv's own cache; the photos land under ``$TRYON_CACHE_DIR/test-images``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

WHEELS = {
    "scikit-image": (
        "scikit-image==0.26.0",
        {"astronaut": "skimage/data/astronaut.png", "camera": "skimage/data/camera.png"},
    ),
    "ultralytics": (
        "ultralytics==8.4.190",
        {"bus": "ultralytics/assets/bus.jpg", "zidane": "ultralytics/assets/zidane.jpg"},
    ),
    "matplotlib": (
        "matplotlib==3.11.2",
        {"grace_hopper": "matplotlib/mpl-data/sample_data/grace_hopper.jpg"},
    ),
}
# x0, y0, x1, y1 in bus.jpg: the man on the left, head and shoulders, upscaled to 256.
BUS_FACE_BOX = (40, 370, 220, 550)
NAMES = ("astronaut", "camera", "bus", "bus_face", "grace_hopper", "zidane")


def cache_dir() -> Path:
    root = Path(os.environ.get("TRYON_CACHE_DIR", "~/.cache/tryon")).expanduser()
    return root / "test-images"


def _uv() -> str:
    root = Path(os.environ.get("TRYON_CACHE_DIR", "~/.cache/tryon")).expanduser()
    found = [os.environ.get("UV"), shutil.which("uv")]
    found += [str(p) for p in sorted((root / "tools").glob("uv-*/bin/uv"), reverse=True)]
    for candidate in found:
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("uv not found (run 'make install')")


def _fetch(package: str) -> None:
    requirement, files = WHEELS[package]
    target = cache_dir() / f".{package}"
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--python",
            sys.executable,
            "--target",
            str(target),
            requirement,
        ],
        check=True,
        capture_output=True,
    )
    for name, inner in files.items():
        suffix = Path(inner).suffix
        shutil.copyfile(target / inner, cache_dir() / f"{name}{suffix}")
    shutil.rmtree(target, ignore_errors=True)


def test_image(name: str) -> Path:
    """The path of test photo ``name`` (fetched on first use)."""
    if name not in NAMES:
        raise KeyError(f"unknown test image {name!r}; have {NAMES}")
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if name == "bus_face":
        path = directory / "bus_face.png"
        if not path.is_file():
            x0, y0, x1, y1 = BUS_FACE_BOX
            face = cv2.resize(
                load_bgr("bus")[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_CUBIC
            )
            cv2.imwrite(str(path), face)
        return path
    package = next(p for p, (_, files) in WHEELS.items() if name in files)
    suffix = Path(WHEELS[package][1][name]).suffix
    path = directory / f"{name}{suffix}"
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            _fetch(package)
    return path


def load_bgr(name: str) -> NDArray[np.uint8]:
    """Test photo ``name`` as an H x W x 3 BGR uint8 array."""
    image = cv2.imread(str(test_image(name)), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"cannot decode test image {name}")
    return np.asarray(image, dtype=np.uint8)


test_image.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test to collect
