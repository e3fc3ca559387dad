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
    """Head turn of the student's face in degrees, > 0 to the student's own right (the nose
    towards the left edge of the unmirrored picture); None without a face or usable keypoints."""
    pitch: float | None
    """Head nod in degrees, > 0 looking up."""
    brightness: float | None
    """Mean luma, 0 to 255, of the student's face, or of the frame when no face was found."""
    sharpness: float | None
    """Variance of the Laplacian of the same region in grey, scaled to 64 px on its longer side
    for a face (a sharp face measures in the thousands, a blurred one a few hundred), to 320 px
    for a frame without one (under 20: smeared by motion)."""
    sha256: str
    """Hex digest of the bytes as received, set even when they could not be read."""
    detector_version: str
    hint: str | None = None
    width: int | None = None
    """Size of the frame as sent (before any reduced-size decoding)."""
    height: int | None = None
    wrong_way: bool = False
    """A turn challenge was answered by turning the other way: what a guess (a photo, a replayed
    video) looks like. Only ever set with ``challenge_failed``."""
    passes: tuple[str, ...] = ()
    """What the detector ran, in order (short_range, side_scan, full_range, contrast,
    mesh_check): why a frame took longer, or how a face in the dark was found."""
    box: tuple[float, float, float, float] | None = None
    """The student's face box (x, y, width, height) relative to the frame, when one was found:
    what the identity check describes."""

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PRESENT
