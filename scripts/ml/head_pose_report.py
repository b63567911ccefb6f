"""Head pose figures for docs/ml.md: real photos and their variants, method variants, the
synthetic grid. Run with `make head-pose-report`.

Real photos (scripts/ml/make_face_template.py's people, testkit/variants.py's
variants): yaw / pitch / roll of each, then how well each method keeps what a variant must
keep (turning the picture by +-20 degrees changes roll by -+20 and nothing else; mirroring
negates yaw and roll; half size and JPEG 35 change nothing). Methods: ``before`` is the
5-point solvePnP this replaced (camera axes, as it reported them); the others are the
template fit with parts left out. There is no ground truth for real photos: the invariances
are what can be checked.

Synthetic grid: the template projected by a pinhole camera at known yaw / pitch / roll at
the centre and corners of a 640 x 480 frame, as tests/ml_service/test_head_pose.py does.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ml_service.perception import Perceiver, face_template, head_pose  # noqa: E402
from ml_service.perception.face_template import FaceTemplate  # noqa: E402
from ml_service.render.geometry import rotation_from_pose  # noqa: E402
from ml_service.settings import MLSettings  # noqa: E402
from scripts.ml.make_face_template import PEOPLE, Collected, collect, make, photo  # noqa: E402
from testkit.head_pose_synthetic import synthetic_face, synthetic_landmarks  # noqa: E402
from testkit.variants import VARIANTS  # noqa: E402

Angles = tuple[float, float, float]
Method = Callable[[np.ndarray, int, int], Angles]


def before(landmarks: np.ndarray, width: int, height: int) -> Angles:
    """The previous solver: SQPnP of points 33, 263, 168, 1, 152 against ML.md's canonical
    coordinates, angles of the camera-axes rotation (read as the old ``angles`` did)."""
    indices, points = face_template.canonical_points()
    k = head_pose.camera_matrix(width, height).astype(np.float64)
    _, rvec, _ = cv2.solvePnP(
        points, landmarks[indices, :2].astype(np.float64), k, None, flags=cv2.SOLVEPNP_SQPNP
    )
    r = cv2.Rodrigues(rvec)[0]
    forward, across = r @ [0.0, 0.0, -1.0], r @ [1.0, 0.0, 0.0]
    yaw = np.degrees(np.arctan2(forward[0], -forward[2]))
    pitch = np.degrees(np.arctan2(-forward[1], np.hypot(forward[0], forward[2])))
    return float(yaw), float(pitch), float(np.degrees(np.arctan2(across[1], across[0])))


def template_fit(
    template: FaceTemplate, *, rounds: int = head_pose.ROBUST_ROUNDS, rectify: bool = True
) -> Method:
    def method(landmarks: np.ndarray, width: int, height: int) -> Angles:
        if rectify:
            pose = head_pose.estimate(
                landmarks, width, height, template=template, robust_rounds=rounds
            )
            return _angles(pose)
        rotation = head_pose.fit(landmarks.astype(np.float64), template, rounds=rounds)[0]
        return head_pose.angles(rotation)

    return method


def _angles(pose: object) -> Angles:
    return (pose.yaw, pose.pitch, pose.roll)  # type: ignore[attr-defined]


def methods() -> dict[str, Method]:
    shape = face_template.load()
    rigidity_only = replace(shape, weights=shape.rigidity)
    five = np.zeros(len(shape.weights))
    five[face_template.canonical_points()[0]] = 1.0
    canonical = replace(shape, points=_canonical_five(shape), weights=five)
    return {
        "before (5-point solvePnP, camera axes)": before,
        "5 canonical points, 3D fit": template_fit(canonical, rounds=0),
        "template, all points alike": template_fit(
            replace(shape, weights=np.ones(len(shape.weights))), rounds=0, rectify=False
        ),
        "template, rigidity weights (jaw, mouth kept)": template_fit(rigidity_only, rounds=0),
        "template, rigid part, no robust rounds": template_fit(shape, rounds=0),
        "template, rigid part, not rectified": template_fit(shape, rectify=False),
        "final (rigid part, robust, rectified)": template_fit(shape),
    }


def _canonical_five(shape: FaceTemplate) -> np.ndarray:
    points = shape.points.copy()
    indices, canonical = face_template.canonical_points()
    points[indices] = canonical
    return points


def landmarks_of_variants(
    perceiver: Perceiver,
) -> dict[tuple[str, str], tuple[np.ndarray, int, int]]:
    out = {}
    for person, name, box in PEOPLE:
        base = photo(name, box)
        for variant, transform in VARIANTS.items():
            image = transform(base)
            faces = perceiver.analyze(image, bodies=False).faces
            if len(faces) == 1:
                out[(person, variant)] = (faces[0].landmarks, image.shape[1], image.shape[0])
    return out


def invariance(results: dict[tuple[str, str], Angles]) -> dict[str, float]:
    """Mean absolute violations (degrees) of what each variant must keep."""
    errors: dict[str, list[float]] = {"rotate: roll": [], "rotate: yaw, pitch": [], "mirror": []}
    errors["half, jpeg"] = []
    for (person, variant), (yaw, pitch, roll) in results.items():
        if variant == "original" or (person, "original") not in results:
            continue
        y0, p0, r0 = results[(person, "original")]
        if variant in ("rot+20", "rot-20"):
            turn = -20.0 if variant == "rot+20" else 20.0
            errors["rotate: roll"].append(abs(roll - r0 - turn))
            errors["rotate: yaw, pitch"] += [abs(yaw - y0), abs(pitch - p0)]
        elif variant == "mirror":
            errors["mirror"] += [abs(yaw + y0), abs(pitch - p0), abs(roll + r0)]
        else:
            errors["half, jpeg"] += [abs(yaw - y0), abs(pitch - p0), abs(roll - r0)]
    return {k: float(np.mean(v)) for k, v in errors.items()}


def synthetic_grid() -> tuple[np.ndarray, float]:
    """Per angle, the max and mean absolute error over the grid; and microseconds per call."""
    errors, spent = [], 0.0
    for centre in ((320, 240), (100, 80), (560, 420)):
        for yaw, pitch, roll in itertools.product(
            range(-40, 41, 10), range(-25, 26, 5), range(-30, 31, 10)
        ):
            truth = rotation_from_pose(yaw, pitch, roll)
            landmarks = synthetic_landmarks(truth, centre=centre, size=(640, 480))
            started = time.perf_counter()
            pose = head_pose.estimate(landmarks, 640, 480)
            spent += time.perf_counter() - started
            errors.append([pose.yaw - yaw, pose.pitch - pitch, pose.roll - roll])
    e = np.abs(np.array(errors))
    return np.vstack([e.max(axis=0), e.mean(axis=0)]), spent / len(e) * 1e6


def _deformations() -> dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]]:
    """Changes of face shape and of what the model sees, in the head frame (cm, y down)."""
    shape = face_template.load().points
    eyes_y = float(shape[[33, 263], 1].mean())
    tip_y = float(shape[1, 1])
    mouth_y = float(shape[[61, 291], 1].mean())

    def jaw_open(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # The jaw turns 12 degrees about a hinge near the ears, below the mouth line.
        out = p.copy()
        below = p[:, 1] > mouth_y
        hinge = np.array([0.0, tip_y, 7.0])
        a = np.radians(12)
        turn = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        out[below] = (p[below] - hinge) @ turn.T + hinge
        return out

    def short_chin(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # The astronaut's proportions: the chin 1.17 eye widths below the eyes, not 1.23.
        out = p.copy()
        below = p[:, 1] > tip_y
        out[below, 1] = tip_y + (p[below, 1] - tip_y) * 0.88
        return out

    def brows_raised(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = p.copy()
        brow = (p[:, 1] < eyes_y - 0.4) & (p[:, 1] > eyes_y - 3.5)
        out[brow, 1] -= 0.5
        return out

    def cheek_covered(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # A hand over one cheek: the model's points there go astray (2 cm).
        out = p.copy()
        cheek = (p[:, 0] > 2.5) & (p[:, 1] > eyes_y + 0.5) & (p[:, 1] < mouth_y)
        out[cheek] += rng.normal(0.0, 2.0, (int(cheek.sum()), 3))
        return out

    def noise(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return p + rng.normal(0.0, 0.09, p.shape)  # 1% of the eye-corner distance

    return {
        "jaw open 12 deg": jaw_open,
        "chin 12% shorter": short_chin,
        "brows raised 5 mm": brows_raised,
        "cheek covered": cheek_covered,
        "noise 1% IOD": noise,
    }


def robustness(methods_: dict[str, Method]) -> dict[str, dict[str, float]]:
    """Per method and deformation: the mean absolute angle error (degrees) over 20 poses."""
    rng = np.random.default_rng(0)
    poses = [
        (float(rng.uniform(-30, 30)), float(rng.uniform(-20, 20)), float(rng.uniform(-20, 20)))
        for _ in range(20)
    ]
    out: dict[str, dict[str, float]] = {name: {} for name in methods_}
    for label, deform in _deformations().items():
        cases = []
        for yaw, pitch, roll in poses:
            points = deform(face_template.load().points, rng)
            face = synthetic_face(rotation_from_pose(yaw, pitch, roll), points=points)
            cases.append((face.landmarks, (yaw, pitch, roll)))
        for name, method in methods_.items():
            errors = [
                np.abs(np.subtract(method(lm, 640, 480), truth)).mean() for lm, truth in cases
            ]
            out[name][label] = float(np.mean(errors))
    return out


def leave_one_out(perceiver: Perceiver) -> dict[str, float]:
    """Per person: the largest change of any angle of their variants when the template is
    built without them (the template is in-sample otherwise)."""
    collected = collect(perceiver)
    full = make(collected)
    out = {}
    for person in dict.fromkeys(collected.owners):
        keep = [i for i, p in enumerate(collected.owners) if p != person]
        others = Collected(
            meshes=[collected.meshes[i] for i in keep],
            owners=[collected.owners[i] for i in keep],
            iris_px=[collected.iris_px[i] for i in keep],
        )
        # The Procrustes mean takes its orientation from the first mesh: a frontal one.
        without = make(others) if person != "astronaut" else _rotate_first_frontal(others)
        worst = 0.0
        for i, p in enumerate(collected.owners):
            if p != person:
                continue
            mesh = collected.meshes[i].astype(np.float32)
            a = head_pose.estimate(mesh, 640, 480, template=full)
            b = head_pose.estimate(mesh, 640, 480, template=without)
            worst = max(worst, float(np.abs(np.subtract(_angles(a), _angles(b))).max()))
        out[person] = worst
    return out


def _rotate_first_frontal(collected: Collected) -> FaceTemplate:
    """Without the astronaut, Grace Hopper's original photo (frontal) goes first."""
    first = collected.owners.index("grace_hopper")
    order = [first] + [i for i in range(len(collected.meshes)) if i != first]
    return make(
        Collected(
            meshes=[collected.meshes[i] for i in order],
            owners=[collected.owners[i] for i in order],
            iris_px=[collected.iris_px[i] for i in order],
        )
    )


def main() -> None:
    with Perceiver.from_settings(MLSettings()) as perceiver:
        seen = landmarks_of_variants(perceiver)
        loo = leave_one_out(perceiver)
    table = {name: {k: m(*v) for k, v in seen.items()} for name, m in methods().items()}
    final = table["final (rigid part, robust, rectified)"]
    old = table["before (5-point solvePnP, camera axes)"]
    print("| person | variant | before yaw / pitch / roll | after yaw / pitch / roll |")
    print("|---|---|---|---|")
    for key in seen:
        b, a = old[key], final[key]
        print(
            f"| {key[0]} | {key[1]} | {b[0]:.1f} / {b[1]:.1f} / {b[2]:.1f} "
            f"| {a[0]:.1f} / {a[1]:.1f} / {a[2]:.1f} |"
        )
    print()
    keys = list(invariance(final))
    print("| method | astronaut pitch | grace_hopper pitch | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for name, results in table.items():
        inv = invariance(results)
        a = results[("astronaut", "original")][1]
        g = results[("grace_hopper", "original")][1]
        cells = " | ".join(f"{inv[k]:.1f}" for k in keys)
        print(f"| {name} | {a:.1f} | {g:.1f} | {cells} |")
    print()
    shaken = robustness({k: v for k, v in methods().items() if not k.startswith("before")})
    labels = list(next(iter(shaken.values())))
    print("| method | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for name, row in shaken.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.2f}" for k in labels) + " |")
    print()
    print("template built without the person, largest angle change over their variants:")
    print("  " + ", ".join(f"{person} {value:.2f}" for person, value in loo.items()) + " degrees")
    print()
    grid, micros = synthetic_grid()
    print("synthetic grid (yaw -40..40, pitch -25..25, roll -30..30, 3 positions):")
    print(f"  max error yaw / pitch / roll: {' / '.join(f'{v:.2f}' for v in grid[0])} degrees")
    print(f"  mean error yaw / pitch / roll: {' / '.join(f'{v:.2f}' for v in grid[1])} degrees")
    print(f"  {micros:.0f} us per estimate")


if __name__ == "__main__":
    main()
