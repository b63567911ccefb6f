"""Results on a reduced decode mapped back to the full image's pixels. Pure functions.

``ml_service.image_io.decode_image_reduced`` decodes a large JPEG at 1/k of its size; pixel
``j`` there is the block of full-size pixels ``k*j .. k*j + k - 1``, centred on
``k*j + (k - 1) / 2``, and with MediaPipe's convention (a pixel's index is its position) a
point maps the same way. Depth scales like x. Head pose is solved again against the full
image's camera (same rotation, the intrinsics of the full size); pupil distance in
millimetres does not change, the millimetres per pixel do.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.perception import head_pose
from ml_service.types import Analysis, Body, Face


def to_full(points: NDArray[np.float32], scale: int) -> NDArray[np.float32]:
    """N x 2+ reduced-image points (x, y[, z, ...]) -> full-image pixels; z scales with x."""
    out = points.astype(np.float32, copy=True)
    out[..., :2] = points[..., :2] * scale + (scale - 1) / 2
    if points.shape[-1] > 2:
        out[..., 2] = points[..., 2] * scale
    return out


def _face(face: Face, scale: int, width: int, height: int) -> Face:
    landmarks = to_full(face.landmarks, scale)
    mm_per_px = face.mm_per_px / scale
    x0, y0, x1, y1 = face.box
    corners = to_full(np.array([[x0, y0], [x1, y1]], dtype=np.float32), scale)
    return dataclasses.replace(
        face,
        box=(
            float(corners[0, 0]),
            float(corners[0, 1]),
            float(corners[1, 0]),
            float(corners[1, 1]),
        ),
        landmarks=landmarks,
        iris_left=to_full(face.iris_left, scale),
        iris_right=to_full(face.iris_right, scale),
        iris_diameter_px=face.iris_diameter_px * scale,
        head_pose=head_pose.estimate(landmarks, width, height, mm_per_px=mm_per_px or None),
        mm_per_px=mm_per_px,
    )


def _body(body: Body, scale: int, width: int, height: int) -> Body:
    mask = None
    if body.mask is not None:
        # cv2.resize samples at (x + 0.5) / k - 0.5: the same block centres as the points.
        resized = cv2.resize(body.mask, (width, height), interpolation=cv2.INTER_LINEAR)
        mask = np.asarray(resized, dtype=np.float32)
    return Body(landmarks=to_full(body.landmarks, scale), mask=mask)


def to_full_image(analysis: Analysis, *, scale: int, width: int, height: int) -> Analysis:
    """An analysis of a 1/``scale`` decode, in pixels of the full ``width`` x ``height``."""
    if scale == 1:
        return analysis
    return Analysis(
        width=width,
        height=height,
        faces=[_face(f, scale, width, height) for f in analysis.faces],
        bodies=[_body(b, scale, width, height) for b in analysis.bodies],
        timings_ms=analysis.timings_ms,
        rejected=[
            dataclasses.replace(r, box=_box(r.box, scale), score=r.score) for r in analysis.rejected
        ],
    )


def _box(box: tuple[float, float, float, float], scale: int) -> tuple[float, float, float, float]:
    corners = to_full(np.array([box[:2], box[2:]], dtype=np.float32), scale)
    return (
        float(corners[0, 0]),
        float(corners[0, 1]),
        float(corners[1, 0]),
        float(corners[1, 1]),
    )
