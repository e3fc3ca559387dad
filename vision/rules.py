"""From detections and measures to an outcome and a hint. Pure: no I/O, no model.

In order: no face → ``no_face``; two faces or more → ``multiple_faces``; a turn challenge not
met → ``challenge_failed``; head turned or tilted well off the screen → ``looking_away``; else
``present``. The head-pose conventions are those of `vision.pose`: yaw > 0 is a turn to the
student's own right, pitch > 0 is looking up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vision.pose import HeadPose
from vision.verdict import Challenge, Outcome

if TYPE_CHECKING:
    from vision.detector import Face

__all__ = ["DEFAULT_THRESHOLDS", "Decision", "Thresholds", "decide"]

DARK_BELOW = 50.0
"""Mean luma under which a missing face (or a dim one) is blamed on the light."""
BRIGHT_ABOVE = 220.0
BLURRY_BELOW = 15.0
"""Frame sharpness under which a missing face is blamed on motion. A still webcam frame measures
a few hundred; smeared over 40 px by a moving head, or 3 px out of focus, under 20."""
FLAT_BELOW = 1.0
"""A frame this flat (covered lens, blank virtual camera) has nothing to blur: not motion."""
SMALL_FACE_RATIO = 0.12
"""A face box shorter than this share of the frame height earns a "move closer"."""
SMALL_FACE_PIXELS = 32
"""...as does a face box shorter than this: too few pixels to be worth keeping as evidence."""

HINT_DARK = "too dark — face a light"
HINT_BRIGHT = "too bright — move out of direct light"
HINT_BLURRY = "hold still"
HINT_NO_FACE = "no face found — look at the camera"
HINT_MULTIPLE = "only you should be in view"
HINT_CLOSER = "move closer"
HINT_LOOK = "look at the screen"
_SIDE = {Challenge.TURN_LEFT: "left", Challenge.TURN_RIGHT: "right"}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Head-pose limits, in degrees.

    ``looking_away_yaw`` = 40: a laptop screen spans about 20 degrees either side of the camera
    at arm's length, so a student reading its far edge turns the head some 25 degrees, and the
    estimate errs by under 8 (95th percentile in the evaluation): honest reading stays under 33.
    A head turned further is looking at something else: a second screen, a person, a phone.

    ``looking_away_pitch`` = 35: the pitch estimate errs by up to 12 degrees (95th percentile),
    partly because faces differ in shape, and a camera sits above or below the eyes; glancing
    down at notes on the desk is part of a lesson. Only a head tilted well past that (reading a
    phone in the lap, looking at the ceiling) counts.

    ``challenge_yaw`` = 20: a turn the student was asked to make must reach this. People asked to
    turn their head turn it 30 to 60 degrees, and in the evaluation every rendered turn of 30
    degrees read at least 26.7; every face rendered facing the camera read at most 8.9, and a
    flat photo tilted away from the camera, at most 1 (see `vision.pose`). 20 sits between.
    """

    looking_away_yaw: float = 40.0
    looking_away_pitch: float = 35.0
    challenge_yaw: float = 20.0

    def __post_init__(self) -> None:
        for name in ("looking_away_yaw", "looking_away_pitch", "challenge_yaw"):
            value = getattr(self, name)
            if not 0.0 < value < 90.0:
                raise ValueError(f"{name} must be between 0 and 90 degrees, not {value}")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    hint: str | None = None
    wrong_way: bool = False
    """The head was turned the other way from the one asked: what a guess looks like."""


def decide(
    faces: Sequence[Face],
    brightness: float,
    sharpness: float,
    challenge: Challenge,
    width: int,
    height: int,
    pose: HeadPose | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Decision:
    """Judge one frame.

    ``faces`` are those the detector kept, the student's (the largest) first; ``brightness`` and
    ``sharpness`` are measured on the student's face when there is one, else on the frame;
    ``pose`` is the student's head pose, None when the keypoints could not give one.
    """
    if not faces:
        return Decision(Outcome.NO_FACE, _no_face_hint(brightness, sharpness))
    if len(faces) > 1:
        return Decision(Outcome.MULTIPLE_FACES, HINT_MULTIPLE)
    if challenge is not Challenge.NONE:
        failed = _challenge(challenge, pose, thresholds)
        if failed is not None:
            return failed
    elif pose is not None and abs(pose.yaw) > thresholds.looking_away_yaw:
        return Decision(Outcome.LOOKING_AWAY, HINT_LOOK)
    if pose is not None and abs(pose.pitch) > thresholds.looking_away_pitch:
        return Decision(Outcome.LOOKING_AWAY, HINT_LOOK)
    return Decision(Outcome.PRESENT, _present_hint(faces[0], brightness, height))


def _challenge(
    challenge: Challenge, pose: HeadPose | None, thresholds: Thresholds
) -> Decision | None:
    """None when the asked turn was made, else why not."""
    side = _SIDE[challenge]
    if pose is None:  # a face too small for its keypoints to show a turn
        return Decision(
            Outcome.CHALLENGE_FAILED, f"move closer, then turn your head to your {side}"
        )
    # The student's own left is a negative yaw.
    turned = -pose.yaw if challenge is Challenge.TURN_LEFT else pose.yaw
    if turned >= thresholds.challenge_yaw:
        return None
    if turned <= -thresholds.challenge_yaw:
        return Decision(
            Outcome.CHALLENGE_FAILED,
            f"the other way — turn your head to your {side}",
            wrong_way=True,
        )
    if turned >= thresholds.challenge_yaw / 2:
        return Decision(Outcome.CHALLENGE_FAILED, f"turn your head further to your {side}")
    return Decision(Outcome.CHALLENGE_FAILED, f"turn your head to your {side}")


def _present_hint(face: Face, brightness: float, height: int) -> str | None:
    if brightness < DARK_BELOW:
        return HINT_DARK
    box_height = face.box[3]
    if box_height < SMALL_FACE_RATIO or box_height * height < SMALL_FACE_PIXELS:
        # Far from the camera is still present; the hint helps the next check.
        return HINT_CLOSER
    return None


def _no_face_hint(brightness: float, sharpness: float) -> str:
    if brightness < DARK_BELOW:
        return HINT_DARK
    if brightness > BRIGHT_ABOVE:
        return HINT_BRIGHT
    if FLAT_BELOW <= sharpness < BLURRY_BELOW:
        return HINT_BLURRY
    return HINT_NO_FACE
