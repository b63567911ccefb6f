"""Synthetic faces and bodies with known geometry, for testing renderers without perception.

A small metric head model (millimetres, the renderers' head frame: x to the image right, y
down, z into the head, origin between the pupils) is turned by a known pose and projected with
a pinhole camera. Only the landmark indices the renderers use are placed; the rest sit on the
nose bridge. What this proves is geometric consistency (lens centres land on the projected
pupils, widths scale with distance, roll and yaw are followed), not perception accuracy.
"""

from __future__ import annotations

import numpy as np

from ml_service.render.geometry import FACE_OVAL, default_camera, rotation_from_pose
from ml_service.types import Body, Face, HeadPose

IPD_MM = 63.0


def _model(ipd_mm: float) -> dict[int, tuple[float, float, float]]:
    k = ipd_mm / IPD_MM
    pts: dict[int, tuple[float, float, float]] = {}
    n = len(FACE_OVAL)
    for i, idx in enumerate(FACE_OVAL):
        t = 2 * np.pi * i / n  # 0 at the forehead top, clockwise on screen
        x = 70.0 * np.sin(t)
        y = 25.0 - 95.0 * np.cos(t)
        z = 35.0 - 30.0 * abs(np.cos(t))
        pts[idx] = (x, y, z)
    pts.update(
        {
            33: (-44.0, 2.0, 8.0),
            263: (44.0, 2.0, 8.0),
            133: (-15.0, 2.0, 5.0),
            362: (15.0, 2.0, 5.0),
            168: (0.0, -6.0, -12.0),
            6: (0.0, 8.0, -15.0),
            1: (0.0, 40.0, -30.0),
            9: (0.0, -22.0, -10.0),
        }
    )
    return {i: (x * k, y * k, z * k) for i, (x, y, z) in pts.items()}


def make_face(
    *,
    centre: tuple[float, float] = (320.0, 240.0),
    ipd_px: float = 80.0,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    image_size: tuple[int, int] = (640, 480),
    ipd_mm: float = IPD_MM,
) -> Face:
    """A face whose pupils midpoint is at ``centre`` with ``ipd_px`` between frontal pupils."""
    camera = default_camera(*image_size)
    f = camera[0, 0]
    mm_per_px = ipd_mm / ipd_px
    z = f * mm_per_px
    origin = np.array([(centre[0] - camera[0, 2]) * z / f, (centre[1] - camera[1, 2]) * z / f, z])
    rot = rotation_from_pose(yaw, pitch, roll)

    def project(p: np.ndarray) -> np.ndarray:
        """Image x, y and the depth relative to the eyes in pixels at the face's scale (the
        face mesh's z convention: larger is farther)."""
        cam = p @ rot.T + origin
        return np.column_stack(
            [
                f * cam[:, 0] / cam[:, 2] + camera[0, 2],
                f * cam[:, 1] / cam[:, 2] + camera[1, 2],
                (cam[:, 2] - origin[2]) / mm_per_px,
            ]
        )

    model = _model(ipd_mm)
    pupils = np.array([[-ipd_mm / 2, 0.0, 0.0], [ipd_mm / 2, 0.0, 0.0]])
    iris = project(pupils)
    landmarks = np.zeros((468, 3), np.float32)
    idx = sorted(model)
    uv = project(np.array([model[i] for i in idx]))
    landmarks[:] = uv[idx.index(168)]
    for j, i in enumerate(idx):
        landmarks[i] = uv[j]
    oval = landmarks[list(FACE_OVAL), :2]
    box = (
        float(oval[:, 0].min()),
        float(oval[:, 1].min()),
        float(oval[:, 0].max()),
        float(oval[:, 1].max()),
    )
    pose = HeadPose(
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        rotation=rot.astype(np.float32),
        translation=(origin / 10).astype(np.float32),
        camera_matrix=camera.astype(np.float32),
    )
    return Face(
        box=box,
        score=0.99,
        landmarks=landmarks,
        iris_left=iris[1, :2].astype(np.float32),
        iris_right=iris[0, :2].astype(np.float32),
        iris_diameter_px=11.7 / mm_per_px,
        head_pose=pose,
        ipd_mm=ipd_mm,
        mm_per_px=mm_per_px,
    )


def make_body(
    *,
    shoulders: tuple[tuple[float, float], tuple[float, float]] = ((220.0, 300.0), (420.0, 300.0)),
    hips: tuple[tuple[float, float], tuple[float, float]] = ((250.0, 560.0), (390.0, 560.0)),
    elbows: tuple[tuple[float, float], tuple[float, float]] | None = None,
    wrists: tuple[tuple[float, float], tuple[float, float]] | None = None,
    image_size: tuple[int, int] = (640, 720),
    visibility: float = 0.95,
    with_mask: bool = True,
) -> Body:
    """A body with the given image-left/right shoulders and hips; arms hang down by default."""
    lm = np.zeros((33, 4), np.float32)
    (slx, sly), (srx, sry) = shoulders
    (hlx, hly), (hrx, hry) = hips
    if elbows is None:
        elbows = ((slx - 15, sly + 0.45 * (hly - sly)), (srx + 15, sry + 0.45 * (hry - sry)))
    if wrists is None:
        wrists = ((slx - 10, sly + 0.9 * (hly - sly)), (srx + 10, sry + 0.9 * (hry - sry)))
    # Image-left points are the subject's right side: BlazePose's odd indices are "left".
    lm[12, :2], lm[11, :2] = shoulders[0], shoulders[1]
    lm[24, :2], lm[23, :2] = hips[0], hips[1]
    lm[14, :2], lm[13, :2] = elbows[0], elbows[1]
    lm[16, :2], lm[15, :2] = wrists[0], wrists[1]
    lm[0, :2] = ((slx + srx) / 2, sly - 0.55 * (srx - slx))
    # The head points around the nose (image-left first: the subject's right eye is 5).
    span = srx - slx
    for index, (dx, dy) in {5: (-0.09, -0.06), 2: (0.09, -0.06), 10: (-0.06, 0.1),
                            9: (0.06, 0.1), 8: (-0.2, -0.02), 7: (0.2, -0.02)}.items():  # fmt: skip
        lm[index, :2] = lm[0, :2] + np.array([dx, dy]) * span
    lm[:, 3] = visibility
    lm[[0, 2, 5, 7, 8, 9, 10], 3] = 0.95  # the head is seen (it pairs the body with its face)
    mask = None
    if with_mask:
        w, h = image_size
        m = np.zeros((h, w), np.uint8)
        import cv2

        torso = np.array(
            [[slx - 10, sly - 5], [srx + 10, sry - 5], [hrx + 15, hry + 40], [hlx - 15, hly + 40]],
            np.int32,
        )
        cv2.fillPoly(m, [torso], 255)
        for a, b in (
            (shoulders[0], elbows[0]),
            (elbows[0], wrists[0]),
            (shoulders[1], elbows[1]),
            (elbows[1], wrists[1]),
        ):
            cv2.line(m, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, 34)
        head_c = (int((slx + srx) / 2), int(sly - 0.55 * (srx - slx)))
        cv2.ellipse(
            m, head_c, (int(0.25 * (srx - slx)), int(0.33 * (srx - slx))), 0, 0, 360, 255, -1
        )
        cv2.line(m, head_c, (int((slx + srx) / 2), int(sly)), 255, int(0.3 * (srx - slx)))
        mask = m.astype(np.float32) / 255.0
    return Body(landmarks=lm, mask=mask)
