"""From a template and a descriptor to match, mismatch or inconclusive. Pure: no model, no I/O.

Two thresholds on the Euclidean distance between descriptors, chosen from the figures of
``bench/identity_eval.py`` (bench/RESULTS.md, "Identity"):

- ``match_below`` = 0.50: no different-person pair came under it, in 840 template-against-frame
  pairs and 14,523 frame-against-frame pairs over every webcam condition (four people; the closest
  template-against-frame pair measured 0.64, frame against frame 0.52): a false-match rate of 0
  measured (target: at most 0.1 %), with a margin of 0.14 against a template.
- ``mismatch_above`` = 0.60: every clear frontal frame of the enrolled person measured at most
  0.44 from the template, including different photographs of one man (target: at most 2 % of
  such pairs rejected; measured 0 of 36), and across all conditions only two frames whose box
  MediaPipe put on the background came over it. 0.60 is also dlib's own published operating
  point (99.38 % on LFW).

Between the two, the frame is neither: the student is asked for another one. A face the worker
found too small or too dark to describe is inconclusive too, with its own hint, and so is a small
or dim face (under `SURE_FACE_PIXELS` or `SURE_BRIGHTNESS`) that does not match.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from identity.description import DESCRIPTOR_SIZE, Description

__all__ = [
    "DEFAULT_THRESHOLDS",
    "HINT_MISMATCH",
    "IdentityOutcome",
    "IdentityResult",
    "IdentityThresholds",
    "compare",
    "distance",
]

HINT_MISMATCH = "the person in view does not match the enrolled student"
HINT_UNSURE = "hold still, face the camera in good light"
HINT_SMALL = "move closer so your face can be recognised"
HINT_DARK = "too dark to recognise your face — face a light"
HINT_MODEL = "your enrolment was made with another face model — enrol again"

SURE_FACE_PIXELS = 48
"""A face box shorter than this (10 % of a 480 px frame) may match but is never called a
mismatch: at 8 % of the frame height (38 px) the evaluation saw the same man measure 0.70 from
his template, while every face at 12 % (52 px or more) matched its own template whenever
MediaPipe's box was on the face. A mismatch accuses the student; a small face only earns
"move closer"."""

SURE_BRIGHTNESS = 50.0
"""Likewise a face darker than this mean luma (a room at a quarter of its light measures 26 to
40): dim, noisy faces still matched their templates in the evaluation, but one measured 0.63
from its own; in that light a non-match only asks the student to face a light."""


class IdentityOutcome(enum.StrEnum):
    MATCH = "matched"
    MISMATCH = "mismatch"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class IdentityThresholds:
    match_below: float = 0.50
    mismatch_above: float = 0.60

    def __post_init__(self) -> None:
        if not 0.0 < self.match_below <= self.mismatch_above < 2.0:
            raise ValueError(
                "identity thresholds must satisfy 0 < match_below <= mismatch_above < 2, "
                f"not {self.match_below} and {self.mismatch_above}"
            )


DEFAULT_THRESHOLDS = IdentityThresholds()


@dataclass(frozen=True, slots=True)
class IdentityResult:
    outcome: IdentityOutcome
    distance: float | None
    """None when no distance could be measured (face too small or dark, other model)."""
    model_version: str
    hint: str | None = None


def distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))


def compare(
    template: NDArray[np.float32],
    template_model: str,
    description: Description,
    thresholds: IdentityThresholds = DEFAULT_THRESHOLDS,
) -> IdentityResult:
    """Compare the enrolled ``template`` with the descriptor of one frame's face."""
    model = description.model_version
    if description.unusable is not None:
        hint = HINT_DARK if description.unusable == "too_dark" else HINT_SMALL
        return IdentityResult(IdentityOutcome.INCONCLUSIVE, None, model, hint)
    if template_model != model or template.shape != (DESCRIPTOR_SIZE,):
        # Not the student's fault; a tutor sees "inconclusive", the page asks to enrol again.
        return IdentityResult(IdentityOutcome.INCONCLUSIVE, None, model, HINT_MODEL)
    d = distance(template, description.array())
    if d < thresholds.match_below:
        return IdentityResult(IdentityOutcome.MATCH, d, model)
    if description.face_pixels < SURE_FACE_PIXELS:
        return IdentityResult(IdentityOutcome.INCONCLUSIVE, d, model, HINT_SMALL)
    if description.brightness < SURE_BRIGHTNESS:
        return IdentityResult(IdentityOutcome.INCONCLUSIVE, d, model, HINT_DARK)
    if d > thresholds.mismatch_above:
        return IdentityResult(IdentityOutcome.MISMATCH, d, model, HINT_MISMATCH)
    return IdentityResult(IdentityOutcome.INCONCLUSIVE, d, model, HINT_UNSURE)
