"""From a template and a descriptor to match, mismatch or inconclusive. Pure: no model, no I/O.

Two thresholds on the Euclidean distance between descriptors, chosen from the figures of
``bench/identity_eval.py`` (bench/RESULTS.md, "Identity"):

- ``match_below`` = 0.50: no different-person pair of the evaluation came under 0.60 in any
  webcam condition (the closest two people, two white women of middle age, measured 0.62 to 0.77
  frame against frame), so 0.50 keeps a margin of 0.1 below the nearest different person: the
  false-match rate measured at 0.50 is 0 of every different-person pair (target: at most 0.1 %).
- ``mismatch_above`` = 0.60: a clear frontal frame of the enrolled person measured at most 0.51
  against the template (different photographs of one man: 0.21 to 0.44), so a clear frame is
  called a mismatch in 0 % of same-person pairs (target: at most 2 %); 0.60 is also dlib's own
  published operating point (99.38 % on LFW).

Between the two, the frame is neither: the student is asked for another one. A face the worker
found too small or too dark to describe is inconclusive too, with its own hint, and so is a small
face (under `SURE_FACE_PIXELS`) that does not match.
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
his template, while every face of 52 px or more stayed within 0.47 of its own (when MediaPipe's
box was on the face). A mismatch accuses the student; a small face only earns "move closer"."""


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
    if d > thresholds.mismatch_above:
        return IdentityResult(IdentityOutcome.MISMATCH, d, model, HINT_MISMATCH)
    return IdentityResult(IdentityOutcome.INCONCLUSIVE, d, model, HINT_UNSURE)
