"""Shading of 3D products and matching them to the photo.

Shading (:func:`shade`) works per covered pixel in camera space: one key light from above
left on the camera's side, an ambient term, and a procedural environment (bright sky above,
a window to the upper right, darker ground) seen by reflection, so a reflection moves with
the head. Materials:

- acetate: diffuse texture colour, a soft sheen, 12 % translucent (the photo shows through);
- metal: little diffuse light, the texture colour tinting strong highlights and the
  environment;
- lens: multiplies the photo by its transmission colour, denser towards the top for tinted
  lenses (a gradient), plus the environment's reflection (Fresnel-weighted);
- fabric: matte diffuse with a faint sheen.

Photo matching (:class:`PhotoLook`): a product rendered clean looks pasted on a photo that
is soft, noisy, tinted or black-and-white. The photo's own blur (edge-width estimate), noise
(Immerkaer's estimator), colour balance (grey-world, softened) and lack of colour are
measured around the face and applied to the product layer. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.mesh import Material

F32 = NDArray[np.float32]

LIGHT = np.array([-0.35, -0.75, -0.55], np.float32) / np.linalg.norm([-0.35, -0.75, -0.55])
WINDOW = np.array([0.55, -0.45, -0.70], np.float32) / np.linalg.norm([0.55, -0.45, -0.70])
ACETATE_OPACITY = 0.88
GREY_SPREAD = 2.5  # mean channel spread (levels) under which a photo is black-and-white


@dataclass(frozen=True)
class Layers:
    """Per covered pixel: colour over the photo (K x 3, BGR 0..1) with opacity (K), and for
    lenses the photo's multiplier (K x 3) and an added reflection (K x 3)."""

    colour: F32
    alpha: F32
    multiply: F32
    add: F32


def environment(direction: F32) -> F32:
    """Radiance (K x 3, BGR) of the procedural environment in camera-space directions."""
    up = np.clip(-direction[:, 1], -1.0, 1.0)
    sky = 0.35 + 0.55 * np.clip(up, 0.0, 1.0) ** 0.7
    ground = 0.18 + 0.1 * np.clip(up + 1.0, 0.0, 1.0)
    level = np.where(up > 0, sky, ground)
    window = np.exp(-(1.0 - direction @ WINDOW) / 0.015)
    colour = np.array([1.0, 0.97, 0.92], np.float32)  # slightly cool (BGR: blue first)
    out: F32 = (level[:, None] * colour + 1.6 * window[:, None]).astype(np.float32)
    return out


def shade(
    material: NDArray[np.uint8],
    base: F32,
    base_alpha: F32,
    *,
    normal: F32,
    position: F32,
    shade_value: F32,
    tinted: bool,
    reflections: bool = True,
) -> Layers:
    """Shade K fragments. ``base`` (K x 3) and ``base_alpha`` (K) from the texture,
    ``normal`` (K x 3, camera space, unit), ``position`` (K x 3, camera mm). Without
    ``reflections`` lenses only filter the light."""
    k = len(material)
    view = -position / np.maximum(np.linalg.norm(position, axis=1, keepdims=True), 1e-6)
    n = normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
    # Seen from behind (thin parts, lenses at a grazing angle): turn the normal round.
    facing = (n * view).sum(axis=1)
    n = np.where(facing[:, None] < 0, -n, n)
    ndv = np.abs(facing)
    diffuse = np.clip(n @ LIGHT, 0.0, 1.0)
    half = LIGHT[None, :] + view
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-6)
    ndh = np.clip((n * half).sum(axis=1), 0.0, 1.0)
    reflect = -view + 2.0 * (n * view).sum(axis=1, keepdims=True) * n
    env = environment(reflect.astype(np.float32))
    fresnel = 0.04 + 0.96 * (1.0 - ndv) ** 5
    colour = np.zeros((k, 3), np.float32)
    alpha = np.zeros(k, np.float32)
    multiply = np.ones((k, 3), np.float32)
    add = np.zeros((k, 3), np.float32)

    m = material == Material.ACETATE
    if m.any():
        light = 0.55 + 0.55 * diffuse[m]
        sheen = 0.12 * ndh[m] ** 48 + 0.06 * fresnel[m] * env[m].mean(axis=1)
        colour[m] = base[m] * light[:, None] + sheen[:, None]
        alpha[m] = ACETATE_OPACITY * base_alpha[m] + (1 - ACETATE_OPACITY) * base_alpha[m] ** 4
    m = material == Material.METAL
    if m.any():
        tint = 0.06 + 0.94 * base[m]  # metal reflects in its own colour
        spec = 1.1 * ndh[m] ** 60
        colour[m] = base[m] * (0.3 + 0.35 * diffuse[m])[:, None] + tint * (
            0.5 * env[m] + spec[:, None]
        )
        alpha[m] = base_alpha[m]
    m = material == Material.FABRIC
    if m.any():
        light = 0.62 + 0.48 * diffuse[m]
        colour[m] = base[m] * light[:, None] + (0.05 * ndh[m] ** 8)[:, None]
        alpha[m] = base_alpha[m]
    m = material == Material.LENS
    if m.any():
        transmission = np.clip(base[m], 0.0, 1.0)
        if tinted:
            # Denser at the top: the absorbance scaled from 1.25x (top) to 0.55x (bottom).
            absorb = -np.log(np.clip(transmission, 0.02, 1.0))
            density = 1.25 - 0.7 * np.clip(shade_value[m], 0.0, 1.0)
            transmission = np.exp(-absorb * density[:, None])
            strength = 0.10 + 0.5 * fresnel[m]
        else:
            transmission = 0.5 + 0.5 * transmission  # clear lenses barely change the photo
            strength = 0.05 + 0.4 * fresnel[m]
        if not reflections:
            strength = np.zeros_like(strength)
        multiply[m] = transmission * (1.0 - strength[:, None])
        add[m] = env[m] * strength[:, None]
    return Layers(colour=np.clip(colour, 0.0, 1.5), alpha=alpha, multiply=multiply, add=add)


@dataclass(frozen=True)
class PhotoLook:
    """How the photo looks around the face: per-channel gains (BGR), black-and-white, blur
    (Gaussian sigma, pixels) and noise (sigma, 0..1)."""

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    grey: bool = False
    blur: float = 0.0
    noise: float = 0.0

    def apply_colour(self, colour: F32) -> F32:
        """Colour balance and black-and-white on a product's colours (... x 3)."""
        out = colour * np.asarray(self.gains, np.float32)
        if self.grey:
            luma = out @ np.array([0.114, 0.587, 0.299], np.float32)
            out = np.repeat(luma[..., None], 3, axis=-1)
        return np.asarray(out, np.float32)

    def apply_image(self, layer: F32, alpha: F32, *, seed: int = 0) -> tuple[F32, F32]:
        """Blur and grain on a product layer (H x W x 3 premultiplied colour, H x W alpha)."""
        if self.blur > 0.3:
            layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), self.blur), np.float32)
            alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), self.blur), np.float32)
        if self.noise > 0.002:
            rng = np.random.default_rng(seed)
            grain = rng.standard_normal(alpha.shape).astype(np.float32) * np.float32(self.noise)
            layer = layer + (grain * alpha)[:, :, None]
        return layer, alpha


def photo_look(photo: NDArray[np.uint8], box: tuple[int, int, int, int]) -> PhotoLook:
    """Measure the photo in ``box`` (x0, y0, x1, y1 image pixels)."""
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = box
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    region = np.asarray(photo[y0:y1, x0:x1], np.float32)
    if region.shape[0] < 8 or region.shape[1] < 8:
        return PhotoLook()
    spread = float(
        (np.abs(region[..., 0] - region[..., 1]) + np.abs(region[..., 1] - region[..., 2])).mean()
    )
    grey = spread < GREY_SPREAD
    means = region.reshape(-1, 3).mean(axis=0) + 1.0
    gains = np.clip((means.mean() / means) ** 0.35, 0.85, 1.18)
    if grey:
        gains = np.ones(3)
    luma = region @ np.array([0.114, 0.587, 0.299], np.float32)
    return PhotoLook(
        gains=(float(gains[0]), float(gains[1]), float(gains[2])),
        grey=grey,
        blur=_blur_sigma(luma),
        noise=_noise_sigma(luma) / 255.0,
    )


def _noise_sigma(luma: F32) -> float:
    """Immerkaer's fast noise estimate (the Laplacian-difference mask), on flat areas."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(luma, -1, kernel))[1:-1, 1:-1]
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0)[1:-1, 1:-1]
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1)[1:-1, 1:-1]
    flat = np.hypot(gx, gy) < np.percentile(np.hypot(gx, gy), 50)
    if flat.sum() < 64:
        return 0.0
    sigma = float(np.sqrt(np.pi / 2) * response[flat].mean() / 6.0)
    return float(np.clip(sigma, 0.0, 12.0))


def _blur_sigma(luma: F32) -> float:
    """The photo's blur as a Gaussian sigma: a blurred edge's peak gradient falls little
    when blurred again by 1 px (ratio r = s / sqrt(s^2 + 1))."""
    g0 = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    again = cv2.GaussianBlur(luma, (0, 0), 1.0)
    g1 = np.hypot(cv2.Sobel(again, cv2.CV_32F, 1, 0), cv2.Sobel(again, cv2.CV_32F, 0, 1))
    top0 = float(np.percentile(g0, 99.5))
    if top0 < 8.0:
        return 0.0
    r = float(np.clip(np.percentile(g1, 99.5) / top0, 0.0, 0.97))
    sigma = r / np.sqrt(1.0 - r * r)
    # Our own anti-aliased render already has the sharpness of a ~0.7 px blur.
    return float(np.clip(np.sqrt(max(sigma**2 - 0.7**2, 0.0)), 0.0, 3.0))
