"""Alpha cut-out of a product image: existing alpha kept, else a uniform background removed.

Pure functions on arrays. The object is what differs from the background colour estimated on
the image border; enclosed background-coloured regions (``holes``: clear lenses, the inside of
a hoop) are reported separately so a category can decide what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.errors import AssetRefused

# Colour distance (max over BGR channels) below which a pixel is background, and above which
# it is fully object; in between the alpha ramps, which keeps anti-aliased edges soft.
BG_LOW = 14.0
BG_HIGH = 40.0
BORDER_UNIFORM_SHARE = 0.92  # share of border pixels that must match the background colour


@dataclass(frozen=True)
class Cutout:
    bgr: NDArray[np.uint8]  # colours, background pixels as they were
    alpha: NDArray[np.float32]  # 0..1 object-ness, holes excluded
    holes: NDArray[np.bool_]  # background-coloured regions enclosed by the object
    background: tuple[float, float, float]  # BGR of the background (white for alpha inputs)


def cut_out(bgra: NDArray[np.uint8]) -> Cutout:
    """Separate the object from its background (see the module docstring)."""
    alpha_in = bgra[:, :, 3].astype(np.float32) / 255.0
    bgr = np.ascontiguousarray(bgra[:, :, :3])
    if float((alpha_in < 0.98).mean()) > 0.01:
        return _from_alpha(bgr, alpha_in)
    return _from_uniform_background(bgr)


def _from_alpha(bgr: NDArray[np.uint8], alpha: NDArray[np.float32]) -> Cutout:
    # Composite over white so that see-through parts (lenses) carry their transmission colour.
    white = np.full_like(bgr, 255)
    on_white = (bgr * alpha[:, :, None] + white * (1.0 - alpha[:, :, None])).astype(np.uint8)
    solid = alpha > 0.5
    holes = enclosed(~solid) & (alpha > 0.02)  # translucent regions inside the object
    alpha_out = np.where(holes, 0.0, alpha).astype(np.float32)
    return Cutout(bgr=on_white, alpha=alpha_out, holes=holes, background=(255.0, 255.0, 255.0))


def _from_uniform_background(bgr: NDArray[np.uint8]) -> Cutout:
    h, w = bgr.shape[:2]
    band = max(1, min(h, w) // 100)
    border = np.concatenate(
        [
            bgr[:band].reshape(-1, 3),
            bgr[-band:].reshape(-1, 3),
            bgr[:, :band].reshape(-1, 3),
            bgr[:, -band:].reshape(-1, 3),
        ]
    ).astype(np.float32)
    background = np.median(border, axis=0)
    border_dist = np.abs(border - background).max(axis=1)
    if float((border_dist < BG_HIGH).mean()) < BORDER_UNIFORM_SHARE:
        raise AssetRefused(
            "no clear object: the background is not uniform; upload a packshot on a plain "
            "background or a PNG with transparency",
            reason="no-clear-object",
        )
    dist = np.abs(bgr.astype(np.float32) - background).max(axis=2)
    # A little blur makes JPEG noise and dithering count as background.
    dist = cv2.GaussianBlur(dist, (0, 0), 0.8)
    alpha = np.clip((dist - BG_LOW) / (BG_HIGH - BG_LOW), 0.0, 1.0).astype(np.float32)
    holes = enclosed(alpha < 0.5)
    alpha = np.where(holes, 0.0, alpha).astype(np.float32)
    bg = (float(background[0]), float(background[1]), float(background[2]))
    return Cutout(bgr=bgr, alpha=alpha, holes=holes, background=bg)


def enclosed(background: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Background pixels not connected to the image border (4-connectivity)."""
    mask = background.astype(np.uint8)
    count, labels = cv2.connectedComponents(mask, connectivity=4)
    if count <= 1:
        return np.zeros(background.shape, bool)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    enclosed = mask.astype(bool) & ~np.isin(labels, edge_labels)
    return enclosed


def object_components(
    alpha: NDArray[np.float32], *, join_px: int
) -> tuple[NDArray[np.int32], list[int], NDArray[np.int64]]:
    """Connected objects after joining parts closer than ``join_px`` (a chain's links).

    Returns the label image, labels sorted by area (largest first), and the areas by label."""
    solid = (alpha > 0.5).astype(np.uint8)
    if join_px > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * join_px + 1, 2 * join_px + 1))
        joined = cv2.dilate(solid, k)
    else:
        joined = solid
    _, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    # Areas of the original pixels in each joined component (dilation inflates thin objects).
    areas = np.bincount(labels[solid.astype(bool)].ravel(), minlength=stats.shape[0]).astype(
        np.int64
    )
    areas[0] = 0
    order = [int(i) for i in np.argsort(-areas) if i != 0 and areas[i] > 0]
    return labels.astype(np.int32), order, areas
