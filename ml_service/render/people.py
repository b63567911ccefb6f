"""Who is in the photo: faces and bodies paired into people, and the person chosen (pure).

A body belongs to the face whose mesh its own head points (nose, eyes, mouth) fall on:
pairing by geometry, never by size (a large face in front can stand beside a small body).
The shopper chooses a person by face: ``RenderOptions.face`` indexes the faces sorted by
area, largest first, and every product goes on that person only.
"""

from __future__ import annotations

import numpy as np

from ml_service.perception.pose import HEAD_MATCH_MAX, head_match_cost, torso_size
from ml_service.render.errors import CannotRender
from ml_service.types import Body, Face


def face_area(face: Face) -> float:
    """The face box's area in pixels."""
    x0, y0, x1, y1 = face.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def pair(faces: list[Face], bodies: list[Body]) -> list[tuple[Face | None, Body | None]]:
    """Every face and body, paired where they are one person (the closest head points
    first, each used once); unpaired faces and bodies stand alone. Faces come in the order
    given, then the bodies without a face."""
    costs = sorted(
        (head_match_cost(f.landmarks, b.landmarks), i, j)
        for i, f in enumerate(faces)
        for j, b in enumerate(bodies)
    )
    body_of: dict[int, int] = {}
    taken: set[int] = set()
    for cost, i, j in costs:
        if cost > HEAD_MATCH_MAX:
            break
        if i not in body_of and j not in taken:
            body_of[i] = j
            taken.add(j)
    found: list[tuple[Face | None, Body | None]] = [
        (f, bodies[body_of[i]] if i in body_of else None) for i, f in enumerate(faces)
    ]
    found.extend((None, b) for j, b in enumerate(bodies) if j not in taken)
    return found


def people(
    faces: list[Face], bodies: list[Body], limit: int
) -> list[tuple[Face | None, Body | None]]:
    """:func:`pair`, largest faces first, at most ``limit`` (faceless bodies last)."""
    found = pair(sorted(faces, key=face_area, reverse=True), bodies)
    return found[: max(0, limit)]


def person(faces: list[Face], bodies: list[Body], index: int) -> tuple[Face | None, Body | None]:
    """The person the shopper chose: face number ``index`` by area (0 = the largest) and its
    body (None when none pairs with it). Without faces, the bodies by size stand in.
    Raises CannotRender when there is no such person."""
    if index < 0:
        raise CannotRender("the face index must be 0 or more", reason="no-face")
    if faces:
        ordered = sorted(faces, key=face_area, reverse=True)
        if index >= len(ordered):
            raise CannotRender(
                f"face {index} asked for, {len(ordered)} found in the photo", reason="no-face"
            )
        return pair(ordered, bodies)[index]
    ordered_bodies = sorted(bodies, key=_body_size, reverse=True)
    if index >= len(ordered_bodies):
        raise CannotRender("no person found in the photo", reason="no-body")
    return None, ordered_bodies[index]


def _body_size(body: Body) -> float:
    lm = np.asarray(body.landmarks)
    return float(np.linalg.norm(lm[11, :2] - lm[12, :2])) + torso_size(lm)
