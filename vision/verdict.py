"""What a judged frame comes to: the outcome, the measures behind it and a hint for the student."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Challenge", "Outcome", "Verdict"]


class Outcome(enum.StrEnum):
    PRESENT = "present"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    LOOKING_AWAY = "looking_away"
    CHALLENGE_FAILED = "challenge_failed"
    BAD_IMAGE = "bad_image"


class Challenge(enum.StrEnum):
    NONE = "none"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    face_count: int
    score: float | None
    """Confidence of the best face, 0 to 1."""
    yaw: float | None
    """Head pose in degrees; None until head-pose estimation is in place."""
    pitch: float | None
    brightness: float | None
    """Mean luma, 0 to 255."""
    sharpness: float | None
    """Variance of the Laplacian of the grey frame scaled to a fixed width."""
    sha256: str
    """Hex digest of the bytes as received, set even when they could not be read."""
    detector_version: str
    hint: str | None = None
    width: int | None = None
    """Size of the frame as sent (before any reduced-size decoding)."""
    height: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PRESENT
