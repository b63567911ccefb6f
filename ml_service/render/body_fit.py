"""Where a top sits on a body: the shoulder line, the seams and the arms, from the pose and the
person mask (pure functions).

Body landmarks place the shoulder *joints*, and not always well: on a head-and-shoulders
photo the pose model tends to pull the whole body up towards the face (see docs/render.md,
"Tops"). A garment, though, hangs from the shoulders' *outline*. So the pose gives the
directions (the shoulder line's slope, which way is down, where the arms point) and a first
guess; the person mask gives the outline: the top edge of the silhouette is where the
shoulder seams rest, and its sides say how far out they are. Everything is measured in an
upright frame: ``u`` across (image-left to image-right shoulder), ``v`` down, origin between
the pose shoulders, one unit per image pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ml_service.render.errors import CannotRender
from ml_service.render.geometry import (
    CHIN,
    ELBOW_LEFT,
    ELBOW_RIGHT,
    F64,
    HIP_LEFT,
    HIP_RIGHT,
    NOSE,
    SHOULDER_LEFT,
    SHOULDER_RIGHT,
    landmark,
)
from ml_service.types import Body, Face

MIN_VISIBILITY = 0.5
OUTLINE_SAMPLES = 64.0  # samples across the shoulder joints when reading the outline
HEAD_BELOW_JOINTS = 0.3  # chin below the shoulder joints by this (in joint distances): refuse
MOUTH_LEFT, MOUTH_RIGHT = 9, 10  # BlazePose mouth corners
SEAM_PER_JOINT = (0.95, 1.6)  # seam half-breadth / joint half-breadth, allowed range
SEAM_PER_JOINT_TYPICAL = 1.15  # the seam (acromion) lies outside the joint centre
SEAM_DROP = 0.25  # the shoulder line below the chin, in shoulder breadths (upright head)
SEAM_INSIDE_OUTLINE = 0.9  # the seam sits a little inside the arm's outer outline
DEFAULT_ARM_OUT_DEG = 12.0  # a relaxed arm hangs a little away from the body
ARM_OUT_RANGE_DEG = (-25.0, 80.0)  # outward angle from "down" the sleeves follow
RAISED_ARM_DEG = 50.0  # beyond this the outline's side below the shoulder is not the arm


@dataclass(frozen=True)
class BodyFit:
    """The frame a top is fitted in (image pixels)."""

    origin: F64  # between the pose shoulders
    across: F64  # unit vector, image-left to image-right shoulder
    down: F64  # unit vector, from the shoulders towards the hips
    seams: tuple[F64, F64]  # the shoulder seams on the outline, image-left first
    chin: F64  # the chin (or where it would be): the garment stays below it
    arms: tuple[F64, F64]  # unit directions of the upper arms, image-left first
    outline: Outline | None  # the silhouette's sides, when there is a mask

    @property
    def breadth(self) -> float:
        """Seam to seam, pixels."""
        return float(np.linalg.norm(self.seams[1] - self.seams[0]))

    def to_image(self, u: F64 | float, v: F64 | float) -> F64:
        """Frame coordinates -> image pixels (broadcasts)."""
        uu, vv = np.asarray(u, np.float64), np.asarray(v, np.float64)
        return np.asarray(
            self.origin + uu[..., None] * self.across + vv[..., None] * self.down, np.float64
        )

    def to_frame(self, points: F64) -> F64:
        """Image pixels (N x 2) -> frame (u, v)."""
        d = np.asarray(points, np.float64) - self.origin
        return np.column_stack([d @ self.across, d @ self.down])


@dataclass(frozen=True)
class Outline:
    """The silhouette in the upright frame, sampled every ``step`` pixels: for each row ``v``
    (from ``v0``), how far the person reaches to the image-left (``left`` >= 0) and
    image-right, through the centre column (NaN where the centre column is not on the
    person); for each column ``u`` (from ``u0``), the first row below the chin on the
    person. All in pixels."""

    v0: float
    left: F64
    right: F64
    top: F64
    u0: float
    step: float = 1.0

    def side(self, v: float, sign: float) -> float:
        """The reach at row ``v`` on side ``sign`` (-1 image-left, +1 image-right), or NaN."""
        i = round((v - self.v0) / self.step)
        values = self.left if sign < 0 else self.right
        return float(values[i]) if 0 <= i < len(values) else float("nan")

    def top_at(self, u: float) -> float:
        """The outline's top edge (row) at column ``u``, or NaN."""
        i = round((u - self.u0) / self.step)
        return float(self.top[i]) if 0 <= i < len(self.top) else float("nan")


def fit_body(body: Body, face: Face | None) -> BodyFit:
    """Fit the top's frame to a body. Raises CannotRender when a top cannot be placed."""
    lm = np.asarray(body.landmarks, np.float64)
    if (lm[[SHOULDER_LEFT, SHOULDER_RIGHT], 3] < MIN_VISIBILITY).any():
        raise CannotRender(
            "both shoulders must be visible to try on a top", reason="body-not-visible"
        )
    left, right = lm[SHOULDER_RIGHT, :2], lm[SHOULDER_LEFT, :2]  # image-left, image-right
    joints = float(np.linalg.norm(right - left))
    if joints < 24:
        raise CannotRender("the body is too small in the photo", reason="body-too-small")
    across = (right - left) / joints
    down = np.array([-across[1], across[0]])
    origin = (left + right) / 2
    chin = _chin(lm, face, origin, down, joints)
    if float((origin - chin) @ down) < -HEAD_BELOW_JOINTS * joints:
        # The chin well below the shoulder joints: the pose is wrong (or the person bends
        # over) and a garment would be drawn over the face. Not "the chin above the joints":
        # on head-and-shoulders photos perception puts the joints up to the chin's height.
        raise CannotRender(
            "the body pose is not reliable enough for a top", reason="body-not-visible"
        )
    _check_facing(lm, origin, down, joints)
    frame = _Frame(origin=origin, across=across, down=down, joints=joints)
    outline = (
        None
        if body.mask is None
        else _outline(body.mask, origin=origin, across=across, down=down, joints=joints, chin=chin)
    )
    seams = (_seam(frame, -1.0, chin, outline), _seam(frame, 1.0, chin, outline))
    arms = (
        _arm(frame, -1.0, elbow=lm[ELBOW_RIGHT], shoulder=left, seam=seams[0], outline=outline),
        _arm(frame, 1.0, elbow=lm[ELBOW_LEFT], shoulder=right, seam=seams[1], outline=outline),
    )
    return BodyFit(
        origin=origin,
        across=across,
        down=down,
        seams=(seams[0], seams[1]),
        chin=chin,
        arms=arms,
        outline=outline,
    )


def _chin(lm: F64, face: Face | None, origin: F64, down: F64, joints: float) -> F64:
    if face is not None:
        return landmark(face, CHIN)
    nose = lm[NOSE, :2]
    mouth = lm[[MOUTH_LEFT, MOUTH_RIGHT], :2].mean(axis=0)
    drop = float((mouth - nose) @ down)
    if lm[[MOUTH_LEFT, MOUTH_RIGHT], 3].min() >= MIN_VISIBILITY and drop > 0:
        return np.asarray(mouth + down * drop * 1.1, np.float64)  # chin below the mouth
    return np.asarray(nose + down * 0.22 * joints, np.float64)


def _check_facing(lm: F64, origin: F64, down: F64, joints: float) -> None:
    """Refuse a body turned sideways (shoulders foreshortened against the torso's length)."""
    if (lm[[HIP_LEFT, HIP_RIGHT], 3] < MIN_VISIBILITY).any():
        return
    hips = lm[[HIP_LEFT, HIP_RIGHT], :2].mean(axis=0)
    torso = float((hips - origin) @ down)
    if torso <= 0:
        raise CannotRender("the body is upside down or lying", reason="body-not-visible")
    if joints < 0.38 * torso:
        raise CannotRender("the body is turned sideways", reason="body-sideways")


def _outline(
    mask: NDArray[np.float32], *, origin: F64, across: F64, down: F64, joints: float, chin: F64
) -> Outline:
    """Sample the mask in the upright frame and read its top edge and sides (every
    ``step`` pixels: about 100 samples across the shoulders are plenty)."""
    step = max(1.0, joints / OUTLINE_SAMPLES)
    half = int(1.6 * joints / step)
    v_top = float(np.floor(float((chin - origin) @ down)))
    us = np.arange(-half, half + 1, dtype=np.float64) * step
    vs = v_top + np.arange(0, int((1.8 * joints - v_top) / step) + 1, dtype=np.float64) * step
    grid_u, grid_v = np.meshgrid(us, vs)
    map_x = (origin[0] + grid_u * across[0] + grid_v * down[0]).astype(np.float32)
    map_y = (origin[1] + grid_u * across[1] + grid_v * down[1]).astype(np.float32)
    upright = cv2.remap(
        np.asarray(mask, np.float32),
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    inside = np.asarray(upright, np.float32) > 0.5
    centre = half
    on = inside[:, centre]
    # Distance from the centre column to the first column off the person, each way.
    leftward, rightward = ~inside[:, centre::-1], ~inside[:, centre:]
    left = np.where(leftward.any(axis=1), leftward.argmax(axis=1) - 1, centre).astype(np.float64)
    right = np.where(
        rightward.any(axis=1), rightward.argmax(axis=1) - 1, inside.shape[1] - 1 - centre
    ).astype(np.float64)
    left[~on], right[~on] = np.nan, np.nan
    # The first row on the person below the chin, per column (the neck columns start on it).
    hit = inside.argmax(axis=0).astype(np.float64)
    hit[~inside.any(axis=0)] = np.nan
    return Outline(
        v0=v_top,
        left=left * step,
        right=right * step,
        top=hit * step + v_top,
        u0=-half * step,
        step=step,
    )


@dataclass(frozen=True)
class _Frame:
    origin: F64
    across: F64
    down: F64
    joints: float  # the pose's shoulder joints' distance, pixels


def _seam(frame: _Frame, sign: float, chin: F64, outline: Outline | None) -> F64:
    """The shoulder seam on side ``sign``.

    Its depth below the chin is first taken from body proportions (the shoulder line lies
    about a quarter of the shoulder breadth below the chin), which no collar, hood or hair
    on the outline can fool; the outline's reach a little below that line says how far out
    the seam goes (just inside the deltoid), and its top edge at that column where the seam
    rests."""
    origin, across, down, joints = frame.origin, frame.across, frame.down, frame.joints
    joint_u = 0.5 * joints
    chin_v = float((chin - origin) @ down)
    expected_v = chin_v + SEAM_DROP * 2.0 * joint_u * SEAM_PER_JOINT_TYPICAL
    lo, hi = SEAM_PER_JOINT
    u, v = SEAM_PER_JOINT_TYPICAL * joint_u, expected_v
    if outline is not None:
        rows = expected_v + np.linspace(0.0, 0.25, 6) * joints
        reach = np.array([outline.side(float(r), sign) for r in rows])
        reach = reach[np.isfinite(reach)]
        if reach.size:
            u = SEAM_INSIDE_OUTLINE * float(np.median(reach))
        u = float(np.clip(u, lo * joint_u, hi * joint_u))
        top = _smooth_top(outline, sign * u, 0.06 * joints)
        if np.isfinite(top):
            v = float(np.clip(top, expected_v - 0.2 * joints, expected_v + 0.2 * joints))
    return np.asarray(origin + across * sign * u + down * v, np.float64)


def _smooth_top(outline: Outline, u: float, width: float) -> float:
    """The top edge around column ``u``: the median over +-``width`` columns (mask noise)."""
    cols = np.arange(int(u - width), int(u + width) + 1)
    values = np.array([outline.top_at(float(c)) for c in cols])
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _arm(
    frame: _Frame,
    sign: float,
    *,
    elbow: F64,
    shoulder: F64,
    seam: F64,
    outline: Outline | None,
) -> F64:
    """The direction a sleeve's outer edge follows on side ``sign``: the outline's outer
    edge below the seam (the arm's outside), unless the pose says the arm is raised; the
    pose's upper arm when there is no usable outline; else a relaxed arm."""
    across, down = frame.across, frame.down
    lo, hi = ARM_OUT_RANGE_DEG
    pose_deg = None
    if elbow[3] >= MIN_VISIBILITY:
        arm = elbow[:2] - shoulder
        if float(np.linalg.norm(arm)) > 1e-6:
            angle = float(np.degrees(np.arctan2(sign * float(arm @ across), float(arm @ down))))
            if lo <= angle <= hi:
                pose_deg = angle
    out_deg = pose_deg if pose_deg is not None else DEFAULT_ARM_OUT_DEG
    if outline is not None and (pose_deg is None or pose_deg < RAISED_ARM_DEG):
        edge = _outer_edge_deg(outline, float((seam - frame.origin) @ down), sign, frame.joints)
        if edge is not None:
            # An outline drawing in below the shoulder is more often something in front of
            # the arm (a bag, a helmet held at the side) than an arm pointing inwards: an arm
            # seen that way has its elbow seen, and then the pose decides.
            out_deg = edge if pose_deg is not None else max(edge, 0.0)
    a = np.radians(out_deg)
    return np.asarray(down * np.cos(a) + across * sign * np.sin(a), np.float64)


def _outer_edge_deg(outline: Outline, seam_v: float, sign: float, joints: float) -> float | None:
    """The outward angle (from "down") of the outline's side from just below the seam to
    about the elbow, if it is a clean line there."""
    rows = np.arange(seam_v + 0.15 * joints, seam_v + 0.7 * joints)
    reach = np.array([outline.side(float(v), sign) for v in rows])
    ok = np.isfinite(reach)
    if ok.sum() < max(4, 0.3 * len(rows)):
        return None
    slope, offset = np.polyfit(rows[ok], reach[ok], 1)
    residual = float(np.std(reach[ok] - (slope * rows[ok] + offset)))
    if residual > 0.08 * joints:
        return None  # the side is not one straight arm (a hand on the hip, a bag...)
    angle = float(np.degrees(np.arctan(slope)))
    lo, hi = ARM_OUT_RANGE_DEG
    return angle if lo <= angle <= hi else None
