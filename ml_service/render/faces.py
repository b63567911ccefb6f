"""Which face a face product goes on, and why a photo cannot take it (pure functions).

The shopper picks one person: ``RenderOptions.face`` indexes the faces sorted by box area,
largest first (0, the default, is the largest). Reasons (``CannotRender.reason``, stable
slugs the widget turns into messages):

- ``no-face``: nothing that looks like a face;
- ``face-too-small``: a face too few pixels wide to measure (``MLSettings.min_face_px``);
- ``face-turned-away``: the landmark model did not take the detection for a face, or the
  head is turned more than ``MAX_YAW`` from the camera;
- ``eyes-covered`` (eyewear): both eyes closed, or tinted glasses hide them (the iris gives
  the scale, and the new frame would be drawn over the old one);
- ``face-not-found``: the index asks for a face the photo does not have.
"""

from __future__ import annotations

from ml_service.render.errors import CannotRender
from ml_service.render.people import face_area
from ml_service.types import Analysis, Face

MAX_YAW = 65.0  # degrees: beyond, a face product cannot sit on the head we see
EYES_CLOSED = 0.1  # lid gap / eye width of the more open eye


def faces_by_size(analysis: Analysis) -> list[Face]:
    """The faces, largest box first (the order ``RenderOptions.face`` indexes)."""
    return sorted(analysis.faces, key=face_area, reverse=True)


def choose_face(analysis: Analysis, index: int, *, category: str) -> Face:
    """The face at ``index`` (largest first), or CannotRender with the reason it can't be."""
    faces = faces_by_size(analysis)
    if not faces:
        rejected = sorted(
            analysis.rejected,
            key=lambda r: (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]),
            reverse=True,
        )
        if rejected and rejected[0].reason == "face-too-small":
            raise CannotRender("the face is too small in this photo", reason="face-too-small")
        if rejected:
            raise CannotRender("the face is turned away from the camera", reason="face-turned-away")
        raise CannotRender("no face found in the photo", reason="no-face")
    if not 0 <= index < len(faces):
        raise CannotRender(
            f"the photo has {len(faces)} face(s); there is no face {index}",
            reason="face-not-found",
        )
    face = faces[index]
    if abs(face.head_pose.yaw) > MAX_YAW:
        raise CannotRender("the face is turned away from the camera", reason="face-turned-away")
    if category == "eyewear":
        if face.eye_openness is not None and face.eye_openness < EYES_CLOSED:
            raise CannotRender("the eyes are closed in this photo", reason="eyes-covered")
        if face.glasses is not None and face.glasses.dark:
            raise CannotRender("tinted glasses cover the eyes", reason="eyes-covered")
    return face
