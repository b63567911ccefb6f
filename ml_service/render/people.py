"""Who is in the photo: faces and bodies paired into people (pure functions)."""

from __future__ import annotations

import numpy as np

from ml_service.types import Body, Face


def face_area(face: Face) -> float:
    """The face box's area in pixels."""
    x0, y0, x1, y1 = face.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def people(
    faces: list[Face], bodies: list[Body], limit: int
) -> list[tuple[Face | None, Body | None]]:
    """Pair each body with the face whose box holds its nose; unpaired faces and bodies are
    people too (a face crop without shoulders can still wear a necklace). Largest faces
    first, at most ``limit``."""
    free = list(faces)
    found: list[tuple[Face | None, Body | None]] = []
    for body in bodies:
        nose = np.asarray(body.landmarks[0, :2], np.float64)
        match = None
        for face in free:
            x0, y0, x1, y1 = face.box
            mx, my = 0.25 * (x1 - x0), 0.25 * (y1 - y0)
            if x0 - mx <= nose[0] <= x1 + mx and y0 - my <= nose[1] <= y1 + my:
                match = face
                break
        if match is not None:
            free.remove(match)
        found.append((match, body))
    found.extend((face, None) for face in free)
    found.sort(key=lambda p: face_area(p[0]) if p[0] is not None else 0.0, reverse=True)
    return found[: max(0, limit)]
