"""Is a picture good enough to enrol from? Pure: takes the vision verdict's measures.

An enrolment picture sets the reference every later frame is compared with, so it is held to a
stricter standard than a live frame: one face, large, lit, sharp and facing the camera. Each
refusal names its reason in words, for the person who sent the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from identity.description import Description

if TYPE_CHECKING:
    from vision.verdict import Verdict

__all__ = ["EnrolmentCheck", "check_picture", "quality"]

MIN_FACE_PIXELS = 80
MIN_FACE_SHARE = 0.15
"""The face fills at least this share of the picture's height, and this many pixels."""
DARK_BELOW = 60.0
"""Mean luma of the face: a face under a quarter of room light measures about 45."""
BLURRED_BELOW = 250.0
"""Sharpness of the face (see `vision.verdict.Verdict.sharpness`): a still webcam face measures
1,000 or more, the same face out of focus by 2 px about 500, by 4 px about 130."""
MAX_YAW = 20.0
MAX_PITCH = 30.0
"""Head pose limits in degrees; the pitch estimate errs by up to 15 on an upright face."""

REASONS = {
    "bad_image": "the image could not be read",
    "no_face": "no face was found in the picture",
    "multiple_faces": "more than one face is in the picture; only the student may be in it",
    "too_small": (
        f"the face is too small: it must be at least {MIN_FACE_PIXELS} pixels and "
        f"{MIN_FACE_SHARE:.0%} of the picture's height"
    ),
    "too_dark": "the face is too dark: take the picture facing a light",
    "blurred": "the face is blurred: hold still and make sure the camera is in focus",
    "turned_away": "the face is turned away: look straight at the camera",
    "unreadable": "the image could not be read",
}


@dataclass(frozen=True, slots=True)
class EnrolmentCheck:
    reason: str | None
    """None when the picture may be enrolled from; else a key of `REASONS`."""

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def words(self) -> str | None:
        return REASONS[self.reason] if self.reason else None


def check_picture(verdict: Verdict, *, turn_expected: bool = False) -> EnrolmentCheck:
    """Whether the judged picture can give a template. ``turn_expected``: the picture is the
    head turn of a student's enrolment, judged by its challenge instead of the pose limits."""
    outcome = str(verdict.outcome)
    if outcome in ("bad_image", "no_face", "multiple_faces"):
        return EnrolmentCheck(outcome)
    if outcome in ("looking_away", "challenge_failed") or verdict.box is None:
        return EnrolmentCheck("turned_away")
    height = verdict.height or 0
    face_pixels = verdict.box[3] * height
    if face_pixels < MIN_FACE_PIXELS or verdict.box[3] < MIN_FACE_SHARE:
        return EnrolmentCheck("too_small")
    if verdict.brightness is not None and verdict.brightness < DARK_BELOW:
        return EnrolmentCheck("too_dark")
    if verdict.sharpness is not None and verdict.sharpness < BLURRED_BELOW:
        return EnrolmentCheck("blurred")
    if not turn_expected and (
        (verdict.yaw is not None and abs(verdict.yaw) > MAX_YAW)
        or (verdict.pitch is not None and abs(verdict.pitch) > MAX_PITCH)
    ):
        return EnrolmentCheck("turned_away")
    return EnrolmentCheck(None)


def quality(verdict: Verdict, description: Description) -> float:
    """0 to 1: how far the picture is above the enrolment minimums (1: twice each or more).

    The lowest of face size, light and sharpness, each as a share of twice its minimum."""
    parts = [
        description.face_pixels / (2 * MIN_FACE_PIXELS),
        description.brightness / (2 * DARK_BELOW),
        (verdict.sharpness or 0.0) / (2 * BLURRED_BELOW),
    ]
    return round(max(0.0, min(1.0, *parts)), 2)
