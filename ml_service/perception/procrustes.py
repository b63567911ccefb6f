"""Weighted Procrustes in 3D: one shape onto another, a mean of many, mirror twins. Pure numpy.

``fit_similarity`` is Umeyama's closed form (1991) with weights: the rotation, scale and shift
that best map one point set onto another in the weighted least-squares sense, never a
reflection. ``procrustes_mean`` is generalised Procrustes analysis: every shape aligned to a
running mean until the mean stops changing. ``mirror_pairs`` finds, for each point of a
roughly symmetric shape, its twin on the other side of the face (itself on the midline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


@dataclass(frozen=True, slots=True)
class Similarity3:
    """x -> scale * rotation @ x + shift."""

    rotation: F64  # 3 x 3, det +1
    scale: float
    shift: F64  # 3

    def apply(self, points: F64) -> F64:
        out: F64 = self.scale * np.asarray(points, np.float64) @ self.rotation.T + self.shift
        return out


def fit_similarity(
    source: F64, target: F64, weights: F64 | None = None, *, scale: bool = True
) -> Similarity3:
    """The weighted least-squares similarity (or rigid motion with ``scale=False``) mapping
    ``source`` onto ``target`` (N x 3 each). Weights need not sum to one; zeros drop points.
    (Few numpy calls: head pose runs it twice per face and frame.)"""
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / max(float(w.sum()), 1e-300)
    mu_s, mu_t = w @ src, w @ dst
    a = src - mu_s
    wa = a * w[:, None]
    u, d, vt = np.linalg.svd((dst - mu_t).T @ wa)
    rotation = u @ vt
    last = d[2]
    if _det3(rotation) < 0:  # the best orthogonal map is a reflection: flip the weakest axis
        u[:, 2] = -u[:, 2]
        rotation = u @ vt
        last = -last
    spread = float((wa * a).sum())
    factor = float(d[0] + d[1] + last) / max(spread, 1e-300) if scale else 1.0
    return Similarity3(rotation=rotation, scale=factor, shift=mu_t - factor * rotation @ mu_s)


def _det3(m: F64) -> float:
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    return float(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g))


def normalise(shape: F64, weights: F64 | None = None) -> F64:
    """Centred on its weighted centroid, weighted RMS distance from it 1."""
    x = np.asarray(shape, np.float64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    centred = x - w @ x
    out: F64 = centred / np.sqrt(float(w @ (centred * centred).sum(axis=1)))
    return out


def procrustes_mean(
    shapes: Sequence[F64],
    weights: F64 | None = None,
    *,
    reference: F64 | None = None,
    shape_weights: F64 | None = None,
    iterations: int = 50,
    tolerance: float = 1e-10,
) -> tuple[F64, list[F64]]:
    """Generalised Procrustes analysis: (mean shape, every shape aligned to it).

    The mean is normalised (see ``normalise``) and keeps the orientation of ``reference``
    (the first shape by default): a Procrustes mean is only defined up to a rotation.
    ``shape_weights`` weigh the shapes in the mean (e.g. so that every person counts once
    whatever their number of pictures)."""
    if not shapes:
        raise ValueError("no shapes")
    anchor = normalise(shapes[0] if reference is None else reference, weights)
    mean = anchor
    aligned: list[F64] = []
    for _ in range(iterations):
        aligned = [fit_similarity(s, mean, weights).apply(s) for s in shapes]
        new = normalise(np.average(aligned, axis=0, weights=shape_weights), weights)
        new = normalise(fit_similarity(new, anchor, weights, scale=False).apply(new), weights)
        done = float(np.abs(new - mean).max()) < tolerance
        mean = new
        if done:
            break
    return mean, aligned


def mirror_pairs(shape: F64, *, iterations: int = 20) -> NDArray[np.int64]:
    """``pairs[i]`` is the point that mirrors point ``i`` across the shape's symmetry plane.

    ``shape`` must be roughly symmetric about the plane x = 0 through its centroid (a face
    aligned to a frontal frame). Its mirror image is matched to it one to one (least total
    distance), moved by the rigid motion that best overlays it given that matching, and matched
    again until the matching stops changing; the result is made an involution (i <-> j)."""
    x = np.asarray(shape, np.float64)
    x = x - x.mean(axis=0)
    flipped = x @ MIRROR_X
    moved = flipped
    pairs = np.arange(len(x))
    for _ in range(iterations):
        new = _match(x, moved)
        if np.array_equal(new, pairs):
            break
        pairs = new
        moved = fit_similarity(flipped[pairs], x, scale=False).apply(flipped)
    return _involution(pairs)


def _match(a: F64, b: F64) -> NDArray[np.int64]:
    """One-to-one matching of ``a``'s points to ``b``'s with the least total squared
    distance."""
    return assignment(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


def assignment(cost: F64) -> NDArray[np.int64]:
    """The column for each row of a square cost matrix that minimises the total cost (the
    Hungarian method with shortest augmenting paths and dual potentials, O(n^3); each row
    scan is vectorised)."""
    c = np.asarray(cost, np.float64)
    n = c.shape[0]
    if c.shape != (n, n):
        raise ValueError("assignment needs a square cost matrix")
    # Index 0 is a virtual column; rows and columns are 1-based in p and way.
    u = np.zeros(n + 1)
    v = np.zeros(n + 1)
    p = np.zeros(n + 1, np.int64)  # p[j]: the row holding column j (0: none)
    way = np.zeros(n + 1, np.int64)
    for row in range(1, n + 1):
        p[0] = row
        column = 0
        reach = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, bool)
        while p[column] != 0:
            used[column] = True
            i = p[column]
            reduced = c[i - 1] - u[i] - v[1:]
            free = ~used[1:]
            better = free & (reduced < reach[1:])
            reach[1:][better] = reduced[better]
            way[1:][better] = column
            candidates = np.where(free, reach[1:], np.inf)
            nearest = int(np.argmin(candidates)) + 1
            delta = candidates[nearest - 1]
            u[p[used]] += delta
            v[used] -= delta
            reach[1:][free] -= delta
            column = nearest
        while column != 0:  # flip the augmenting path
            previous = way[column]
            p[column] = p[previous]
            column = previous
    out = np.zeros(n, np.int64)
    out[p[1:] - 1] = np.arange(n)
    return out


def _involution(pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    """Keep the mutual matches (i -> j and j -> i); any other point is its own twin."""
    out = np.arange(len(pairs))
    mutual = pairs[pairs] == out
    out[mutual] = pairs[mutual]
    return out
