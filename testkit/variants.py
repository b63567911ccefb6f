"""Deterministic variants of the test photos for the fidelity checks.

``VARIANTS`` maps a name to a function of a BGR image. The same code makes the images the
MediaPipe reference ran on (scripts/ml/make_fidelity_fixture.py) and the ones the tests run on.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]


def rotate(image: Image, degrees: float) -> Image:
    """Rotate about the centre on a canvas big enough for the whole picture (black fill)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    out_w, out_h = round(h * sin + w * cos), round(h * cos + w * sin)
    matrix[0, 2] += out_w / 2 - w / 2
    matrix[1, 2] += out_h / 2 - h / 2
    return np.asarray(cv2.warpAffine(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR))


def jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR))


VARIANTS: dict[str, Callable[[Image], Image]] = {
    "original": lambda im: im,
    "rot+20": lambda im: rotate(im, 20.0),
    "rot-20": lambda im: rotate(im, -20.0),
    "mirror": lambda im: np.ascontiguousarray(im[:, ::-1]),
    "half": lambda im: np.asarray(
        cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA)
    ),
    "jpeg35": lambda im: jpeg(im, 35),
}
IMAGES = ("astronaut", "camera", "bus", "bus_face")


def key(image: str, variant: str) -> str:
    return f"{image}__{variant}"
