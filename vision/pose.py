"""Head pose from face keypoints or face-mesh landmarks. Pure arithmetic: no model, no I/O.

Conventions, as for an aircraft: **yaw > 0 when the student turns to their own right**, pitch > 0
when they look up. Frames are judged as the camera sees them, not mirrored: a student turning to
their own right moves their nose towards the *left* edge of the picture. (A selfie preview is
usually mirrored, so on the student's screen the nose moves the other way; that is why the
challenges speak of the student's own left and right, never of the screen's.)

Two estimates, a quick one and a sure one:

`head_pose`, from the face detector's six keypoints (free: the detector gives them). The keypoints
are first turned so the eyes lie level (a tilted head, or a tilted laptop, is not a turn). Then

- yaw comes from parallax. The nose tip stands about 2 cm in front of the eyes and the ears sit
  well behind them, so a turn shifts the nose sideways against the eyes, and the ears the other
  way, by an amount that grows with tan(yaw). Both shifts are measured in eye-distances and
  averaged. A flat picture of a face has no depth: tilting a printed photo, or a phone showing
  one, moves nothing against anything else, and reads as facing the camera.
- pitch comes from how far down the nose tip sits between the eyes and the mouth, and how high
  the ears sit against the eyes, both of which move when the head nods.

On head turns rendered from two real portraits (`bench/vision_eval.py`): yaw within 5 degrees
RMS up to 45; pitch only within 10, because faces differ in how long their noses are and where
their ears sit. Worse, on a real head turned 60 degrees or more the detector's keypoints can land
on the cheek and look frontal (scikit-image's cameraman reads -20 instead of about -70).

`mesh_pose`, from MediaPipe's face mesh (468 landmarks with depth; one more model to run). The
line from cheek to cheek and the line from forehead to chin are real 3-D directions, so their
slant towards the camera is the yaw and the pitch, at any roll. The mesh's depth is flatter than
its width (by 0.56 across the face, 0.94 along it, fitted on the renders), which is undone here.
On the renders: yaw within 2.7 degrees RMS (95 % within 5), pitch within 3.6 (95 % within 7),
the same for both faces. (The renders are themselves made from a face mesh, so this measures
the estimate's consistency more than its truth; the cameraman reads -67.)
The judge uses the keypoints to screen every frame and the mesh when a decision hangs on the
angle: a turn challenge, or keypoints that suggest a turn or a nod.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["HeadPose", "head_pose", "mesh_pose"]

Point = tuple[float, float]

# Fitted on the rendered head turns (least squares over |yaw| <= 45, |pitch| <= 30 degrees).
_NOSE_SHIFT_PER_TAN = 0.30
"""Sideways shift of the nose tip from between the eyes, in eye-distances, per unit of tan(yaw)."""
_EAR_SHIFT_PER_TAN = 0.74
"""Imbalance of the two nose-to-ear distances, as a share of the ear-to-ear distance, per tan."""
_NOSE_DROP_LEVEL = 0.519
"""Where the nose tip sits between eye line (0) and mouth (1) on a level head..."""
_NOSE_DROP_PER_DEGREE = -0.00526
"""...and how that moves per degree of pitch."""
_EAR_RISE_LEVEL = 0.242
"""Depth of the ears below the eye line, in eye-distances, on a level head..."""
_EAR_RISE_PER_DEGREE = 0.00858
"""...and per degree of pitch."""

# Face-mesh landmarks (canonical MediaPipe indices), and the mesh's depth scale.
_RIGHT_CHEEK, _LEFT_CHEEK, _FOREHEAD, _CHIN = 234, 454, 10, 152
_MESH_DEPTH_ACROSS = 0.56
_MESH_DEPTH_ALONG = 0.94
_MESH_LEVEL_SLANT = math.radians(9.5)
"""How far a level head's forehead-to-chin line slants away from the camera, in the mesh."""

_MIN_EYE_DISTANCE_PX = 4.0
"""Closer eyes than this (a face of a dozen pixels) give no usable geometry."""


@dataclass(frozen=True, slots=True)
class HeadPose:
    yaw: float
    """Degrees; > 0 turned to the student's own right."""
    pitch: float
    """Degrees; > 0 looking up."""
    roll: float
    """Degrees: the eye line's angle in the picture, > 0 when it is rotated clockwise."""


def head_pose(keypoints: Sequence[Point], width: int, height: int) -> HeadPose | None:
    """The pose of a face from its six relative keypoints, or None if they cannot give one.

    ``keypoints`` are (x, y) relative to the frame's width and height, in the detector's order:
    right eye, left eye, nose tip, mouth, right ear, left ear (the student's right and left).
    """
    if len(keypoints) != 6:
        return None
    pts = [(x * width, y * height) for x, y in keypoints]
    (rx, ry), (lx, ly) = pts[0], pts[1]
    dx, dy = lx - rx, ly - ry
    eye_distance = math.hypot(dx, dy)
    if eye_distance < _MIN_EYE_DISTANCE_PX:
        return None
    roll = math.atan2(dy, dx)
    cos, sin = math.cos(-roll), math.sin(-roll)
    mx, my = (rx + lx) / 2, (ry + ly) / 2

    def level(p: Point) -> Point:
        # Rotated about the point between the eyes, scaled to eye-distances.
        x, y = p[0] - mx, p[1] - my
        return (cos * x - sin * y) / eye_distance, (sin * x + cos * y) / eye_distance

    nose, mouth, right_ear, left_ear = (level(p) for p in pts[2:])
    ear_span = left_ear[0] - right_ear[0]
    if mouth[1] <= 0 or ear_span <= 0:
        return None  # upside down, or keypoints in an impossible order: not a pose

    nose_yaw = math.atan(nose[0] / _NOSE_SHIFT_PER_TAN)
    ear_balance = ((nose[0] - right_ear[0]) - (left_ear[0] - nose[0])) / ear_span
    ear_yaw = math.atan(ear_balance / _EAR_SHIFT_PER_TAN)
    # The nose moving to the picture's right (x grows) is a turn to the student's own left.
    yaw = -math.degrees((nose_yaw + ear_yaw) / 2)

    nose_pitch = (nose[1] / mouth[1] - _NOSE_DROP_LEVEL) / _NOSE_DROP_PER_DEGREE
    ear_pitch = ((right_ear[1] + left_ear[1]) / 2 - _EAR_RISE_LEVEL) / _EAR_RISE_PER_DEGREE
    pitch = (nose_pitch + ear_pitch) / 2
    return HeadPose(yaw=yaw, pitch=pitch, roll=math.degrees(roll))


def mesh_pose(points: NDArray[np.float64]) -> HeadPose | None:
    """The pose of a face from its (468, 3) mesh landmarks: x, y in pixels of any uniform scale,
    z (MediaPipe's depth: smaller is nearer the camera) in the same units."""
    if points.shape != (468, 3):
        return None
    across = points[_LEFT_CHEEK] - points[_RIGHT_CHEEK]
    along = points[_CHIN] - points[_FOREHEAD]
    across_flat = math.hypot(across[0], across[1])
    along_flat = math.hypot(along[0], along[1])
    if across_flat < _MIN_EYE_DISTANCE_PX or along_flat < _MIN_EYE_DISTANCE_PX:
        return None
    # Turning to one's own right brings the left cheek nearer the camera (its z drops).
    slant = math.atan2(float(across[2]), across_flat)
    yaw = -math.degrees(math.atan(math.tan(slant) / _MESH_DEPTH_ACROSS))
    # Looking up brings the chin nearer the camera.
    nod = math.atan2(float(along[2]), along_flat) - _MESH_LEVEL_SLANT
    pitch = -math.degrees(math.atan(math.tan(nod) / _MESH_DEPTH_ALONG))
    roll = math.degrees(math.atan2(float(across[1]), float(across[0])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)
