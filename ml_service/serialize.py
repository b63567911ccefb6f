"""``Analysis`` -> plain JSON-able dicts (the ``tryon analyze --json`` schema, pixels)."""

from __future__ import annotations

from typing import Any

from ml_service.types import Analysis, Body, Face

DECIMALS = 2


def _r(value: float) -> float:
    return round(float(value), DECIMALS)


def face_to_json(face: Face) -> dict[str, Any]:
    return {
        "box": [_r(v) for v in face.box],
        "score": round(float(face.score), 4),
        "landmarks": [[_r(v) for v in point] for point in face.landmarks.tolist()],
        "iris": {
            "left": [_r(v) for v in face.iris_left.tolist()],
            "right": [_r(v) for v in face.iris_right.tolist()],
        },
        "head_pose": {
            "yaw": _r(face.head_pose.yaw),
            "pitch": _r(face.head_pose.pitch),
            "roll": _r(face.head_pose.roll),
        },
        "ipd_mm": _r(face.ipd_mm),
        "eye_openness": None if face.eye_openness is None else round(face.eye_openness, 4),
        "glasses": (
            None
            if face.glasses is None
            else {
                "present": face.glasses.present,
                "score": face.glasses.score,
                "dark": face.glasses.dark,
            }
        ),
    }


def body_to_json(body: Body) -> dict[str, Any]:
    points = body.landmarks.tolist()
    return {"landmarks": [[_r(x), _r(y), _r(z), round(v, 4)] for x, y, z, v in points]}


def analysis_to_json(analysis: Analysis) -> dict[str, Any]:
    """Everything but the masks (large arrays have no place in this JSON)."""
    return {
        "width": analysis.width,
        "height": analysis.height,
        "faces": [face_to_json(face) for face in analysis.faces],
        "bodies": [body_to_json(body) for body in analysis.bodies],
        "rejected": [
            {"box": [_r(v) for v in r.box], "score": round(r.score, 4), "reason": r.reason}
            for r in analysis.rejected
        ],
        "timings_ms": {name: _r(ms) for name, ms in analysis.timings_ms.items()},
    }
