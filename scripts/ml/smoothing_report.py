"""Jitter against lag of the tracker's One Euro smoothing, over its parameters.

The tracker crops each frame from the previous frame's *raw* landmarks, so smoothing never
changes what the models see: the raw landmarks and iris centres of a clip are recorded once
(the tracker with smoothing off) and every (min_cutoff, beta) is replayed on them.

Clips (30 FPS, 60 frames each, astronaut and bus_face):
- still: the photo on a canvas with sensor noise (Gaussian, sigma 4 and 8 grey levels);
  jitter = RMS distance of each point from its own mean over the clip (after 10 frames);
- moving: testkit/moving.py (pan 60 px, zoom 15%, turn 12 degrees, keystone: fast);
  error = distance to the truth (the photo's own points carried by the known motion);
- slow: 1 px per frame pan and 0.3 % per frame zoom (tests/ml_service/render/test_video.py).
(The tracker runs the iris model on every frame here, so the iris handover plays no part.)
Figures are in % of the inter-ocular distance (outer eye corners), for all 468 landmarks and
for the iris centres (what places eyewear), mean over points and frames; `max` is the worst
frame's mean. min_cutoff hardly matters (the landmarks' own noise keeps the speed estimate,
hence the cutoff, well above it), so the sweep shows two values only.

Last, the tracker end to end with MediaPipe's constants and the chosen ones: the iris error
of tests/ml_service/test_tracker.py (worse eye per frame, % of the eye distance) and the
largest frame-to-frame change of the iris centres' velocity on a slow pan (jerk, pixels).
Run with `make smoothing-report`.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.perception import Perceiver, face_mesh, tracker  # noqa: E402
from ml_service.perception.filters import OneEuroFilter  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from ml_service.types import Face  # noqa: E402
from testkit.images import load_bgr  # noqa: E402
from testkit.moving import moving_clip, project, slow_pan  # noqa: E402

FPS = 30.0
SETTLE = 10  # frames before jitter counts (the filter starts on the first frame's value)
MIN_CUTOFFS = (0.05, 0.5)
BETAS = (40.0, 60.0, 80.0, 100.0, 150.0, 300.0)
D_CUTOFFS = (1.0, 2.0, 4.0)


@dataclass
class Recorded:
    landmarks: np.ndarray  # frames x 468 x 2, raw
    irises: np.ndarray  # frames x 2 x 2, raw
    scales: np.ndarray  # frames: the tracker's speed scale (face size, px)
    truth_landmarks: np.ndarray | None  # frames x 468 x 2
    truth_irises: np.ndarray | None
    iod: np.ndarray  # frames


class _Passthrough(OneEuroFilter):
    """Records what it is given and gives it back."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def __call__(self, value: np.ndarray, t: float, *, scale: float = 1.0) -> np.ndarray:
        self.seen.append(np.asarray(value, np.float64).copy())
        return np.asarray(value, np.float32)


def record(
    perceiver: Perceiver,
    frames: list[np.ndarray],
    matrices: list[np.ndarray] | None,
    photo_face: Face | None,
) -> Recorded:
    """Raw landmarks and irises of a clip as the tracker gets them before smoothing: its
    filters are swapped for recorders after the first frame (which a filter passes as is)."""
    raw = perceiver.tracker(max_faces=1, iris_every=1)
    landmarks, irises = [], []
    lm_rec, iris_rec = _Passthrough(), _Passthrough()
    for i, frame in enumerate(frames):
        faces = raw.process(frame, i / FPS).faces
        if len(faces) != 1 or len(raw._faces) != 1:
            raise RuntimeError(f"frame {i}: {len(faces)} faces")
        if i == 0:
            landmarks.append(faces[0].landmarks[:, :2].astype(np.float64))
            irises.append(np.stack([faces[0].iris_right, faces[0].iris_left]).astype(np.float64))
            track = raw._faces[0]
            track.landmarks, track.irises = lm_rec, iris_rec
    landmarks += [v[:, :2] for v in lm_rec.seen]
    irises += iris_rec.seen
    lm = np.stack(landmarks)
    scales = np.array(
        [face_mesh.roi_from_landmarks(v.astype(np.float32)).width / face_mesh.ROI_SCALE for v in lm]
    )
    iod = np.linalg.norm(lm[:, 33] - lm[:, 263], axis=1)
    truth_lm = truth_iris = None
    if matrices is not None and photo_face is not None:
        face = photo_face
        truth_lm = np.stack(
            [np.array([project(m, p) for p in face.landmarks[:, :2]]) for m in matrices]
        )
        truth_iris = np.stack(
            [np.array([project(m, face.iris_right), project(m, face.iris_left)]) for m in matrices]
        )
    return Recorded(lm, np.stack(irises), scales, truth_lm, truth_iris, iod)


def replay(
    rec: Recorded, min_cutoff: float, beta: float, d_cutoff: float
) -> tuple[np.ndarray, np.ndarray]:
    lm_filter = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    iris_filter = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    lms, irs = [], []
    for i in range(len(rec.landmarks)):
        t = i / FPS
        lms.append(lm_filter(rec.landmarks[i].astype(np.float32), t, scale=rec.scales[i]))
        irs.append(iris_filter(rec.irises[i].astype(np.float32), t, scale=rec.scales[i]))
    return np.stack(lms).astype(np.float64), np.stack(irs).astype(np.float64)


def jitter(points: np.ndarray, iod: np.ndarray) -> float:
    p = points[SETTLE:]
    deviation = np.linalg.norm(p - p.mean(axis=0), axis=-1)
    return float(np.sqrt((deviation**2).mean()) / iod[SETTLE:].mean() * 100)


def error(points: np.ndarray, truth: np.ndarray, iod: np.ndarray) -> tuple[float, float]:
    per_frame = np.linalg.norm(points - truth, axis=-1).mean(axis=1) / iod * 100
    return float(per_frame.mean()), float(per_frame.max())


def _clips(perceiver: Perceiver) -> dict[str, Recorded]:
    out = {}
    for name in ("astronaut", "bus_face"):
        photo = load_bgr(name)
        face = perceiver.analyze(photo, bodies=False).faces[0]
        canvas = np.full((480, 640, 3), 90, np.uint8)
        h, w = photo.shape[:2]
        scale = min(400 / h, 560 / w, 1.0)
        small = cv2.resize(
            photo, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
        y0, x0 = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
        canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        for sigma in (4, 8):
            rng = np.random.default_rng(sigma)
            frames = [
                np.clip(canvas + rng.normal(0, sigma, canvas.shape), 0, 255).astype(np.uint8)
                for _ in range(60)
            ]
            out[f"still {name} noise {sigma}"] = record(perceiver, frames, None, None)
        frames, matrices = moving_clip(photo)
        out[f"moving {name}"] = record(perceiver, frames, matrices, face)
        slow, slow_m = [], []
        for i in range(60):
            s = 1.0 + 0.003 * i
            m = np.array(
                [[s, 0, i - (s - 1) * w / 2], [0, s, 0.5 * i - (s - 1) * h / 2], [0, 0, 1]]
            )
            slow.append(cv2.warpAffine(photo, m[:2], (w, h), borderMode=cv2.BORDER_REFLECT))
            slow_m.append(m)
        out[f"slow {name}"] = record(perceiver, slow, slow_m, face)
    return out


def _row(label: str, rates: list[float], errors: dict[str, list[tuple[float, float]]]) -> str:
    cells = [f"{100 * r:.0f}%" for r in rates]
    for key in ("moving landmarks", "moving irises", "slow irises"):
        found = errors[key]
        cells.append(f"{np.mean([m for m, _ in found]):.2f} / {max(x for _, x in found):.2f}")
    return f"| {label} | " + " | ".join(cells) + " |"


def sweep(clips: dict[str, Recorded]) -> None:
    print(
        "| min_cutoff, beta, d_cutoff | still jitter: landmarks | irises (% of raw) "
        "| moving landmarks: error mean / max | moving irises | slow irises |"
    )
    print("|---|---|---|---|---|---|")
    for min_cutoff, beta, d_cutoff in itertools.product(MIN_CUTOFFS, BETAS, D_CUTOFFS):
        still_lm, still_ir = [], []
        errors: dict[str, list[tuple[float, float]]] = {
            "moving landmarks": [],
            "moving irises": [],
            "slow irises": [],
        }
        for label, rec in clips.items():
            lm, ir = replay(rec, min_cutoff, beta, d_cutoff)
            if rec.truth_landmarks is None or rec.truth_irises is None:
                still_lm.append(jitter(lm, rec.iod) / jitter(rec.landmarks, rec.iod))
                still_ir.append(jitter(ir, rec.iod) / jitter(rec.irises, rec.iod))
            elif label.startswith("moving"):
                errors["moving landmarks"].append(error(lm, rec.truth_landmarks, rec.iod))
                errors["moving irises"].append(error(ir, rec.truth_irises, rec.iod))
            else:
                errors["slow irises"].append(error(ir, rec.truth_irises, rec.iod))
        chosen = (min_cutoff, beta, d_cutoff) == (
            tracker.FACE_MIN_CUTOFF_HZ,
            tracker.FACE_BETA,
            tracker.FACE_D_CUTOFF_HZ,
        )
        label = f"{min_cutoff}, {beta:.0f}, {d_cutoff:.0f}" + (" (chosen)" if chosen else "")
        print(_row(label, [float(np.mean(still_lm)), float(np.mean(still_ir))], errors))


def end_to_end(perceiver: Perceiver) -> None:
    """The tracker itself (iris model every frame or every third) with MediaPipe's
    constants and the chosen ones, with and without the iris handover."""
    from testkit.moving import iris_errors  # noqa: PLC0415

    chosen = (tracker.FACE_MIN_CUTOFF_HZ, tracker.FACE_BETA, tracker.FACE_D_CUTOFF_HZ)
    handover = tracker.IRIS_HANDOVER_S
    photo = load_bgr("astronaut")
    pan = slow_pan(photo)
    print(
        "| smoothing | iris handover | astronaut, every frame: mean / max | every 3rd "
        "| bus_face, every frame | every 3rd | iris jerk on a slow pan, px (max) |"
    )
    print("|---|---|---|---|---|---|---|")
    cases = [("MediaPipe 0.05, 80, 1", (0.05, 80.0, 1.0), 0.0), ("chosen", chosen, 0.0)]
    cases.append(("chosen", chosen, handover))
    try:
        for label, (min_cutoff, beta, d_cutoff), fade in cases:
            tracker.FACE_MIN_CUTOFF_HZ, tracker.FACE_BETA = min_cutoff, beta
            tracker.FACE_D_CUTOFF_HZ, tracker.IRIS_HANDOVER_S = d_cutoff, max(fade, 1e-9)
            cells = []
            for name in ("astronaut", "bus_face"):
                for every in (1, 3):
                    e, _ = iris_errors(perceiver, name, every)
                    cells.append(f"{100 * e.mean():.2f} / {100 * e.max():.2f}")
            live = perceiver.tracker(max_faces=1)
            centres = []
            for i, frame in enumerate(pan):
                face = live.process(frame, i / FPS).faces[0]
                centres.append(np.stack([face.iris_right, face.iris_left]))
            jerk = np.linalg.norm(np.diff(np.array(centres), 2, axis=0), axis=2).max(axis=1)
            cells.append(f"{jerk[5:].max():.2f}")
            print(
                f"| {label} | {f'{fade * 1000:.0f} ms' if fade else 'off'} | "
                + " | ".join(cells)
                + " |"
            )
    finally:
        tracker.FACE_MIN_CUTOFF_HZ, tracker.FACE_BETA, tracker.FACE_D_CUTOFF_HZ = chosen
        tracker.IRIS_HANDOVER_S = handover


def main() -> None:
    with Perceiver.from_settings(MLSettings()) as perceiver:
        clips = _clips(perceiver)
        # Unsmoothed figures: the floor of the error and the ceiling of the jitter.
        print("| clip | raw landmarks | raw irises |")
        print("|---|---|---|")
        for label, rec in clips.items():
            if rec.truth_landmarks is None or rec.truth_irises is None:
                lm_j, ir_j = jitter(rec.landmarks, rec.iod), jitter(rec.irises, rec.iod)
                print(f"| {label} | jitter {lm_j:.2f} | {ir_j:.2f} |")
            else:
                lm = error(rec.landmarks, rec.truth_landmarks, rec.iod)
                ir = error(rec.irises, rec.truth_irises, rec.iod)
                print(f"| {label} | error {lm[0]:.2f} / {lm[1]:.2f} | {ir[0]:.2f} / {ir[1]:.2f} |")
        print()
        sweep(clips)
        print()
        end_to_end(perceiver)


if __name__ == "__main__":
    main()
