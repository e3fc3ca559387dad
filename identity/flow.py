"""The pieces of a live identity check, for the frame pipeline. Pure except `identify`.

How a prompt that compares identity goes (the policy decides which do: `identity.policy`):

1. The frame is judged by the vision pool as usual. Anything but ``present`` is answered as
   today: identity is only compared on a frame that passes presence.
2. ``present`` and the student has an approved template: ``await identify(pool, enrolled,
   frame, verdict.box)`` describes the face in a worker process and compares it.
3. `frame_decision` turns the result into what the prompt does: a match stays ``present``; a
   mismatch is the outcome ``different_person`` (prompt resolved, failed); an inconclusive
   result asks for another frame with a hint while the prompt has frames and time left, and
   otherwise passes on presence with identity ``inconclusive``.
4. No approved template: presence only; the check row's identity is ``not_enrolled``.

Each compared check stores `IdentityResult.outcome`, ``distance`` and ``model_version`` in the
check row (``checks.identity``, ``identity_distance``, ``identity_model``); never the vector.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from identity.compare import (
    DEFAULT_THRESHOLDS,
    HINT_MISMATCH,
    IdentityOutcome,
    IdentityResult,
    IdentityThresholds,
    compare,
)
from identity.description import Box
from identity.pool import IdentityPool

__all__ = [
    "DIFFERENT_PERSON",
    "Enrolled",
    "FrameDecision",
    "IdentityStatus",
    "IdentityTally",
    "frame_decision",
    "identify",
]

DIFFERENT_PERSON = "different_person"
"""The check outcome of a clear mismatch; its hint is `identity.HINT_MISMATCH`."""


class IdentityStatus(enum.StrEnum):
    """A student's identity as the tutor's dashboard shows it (``StudentState.identity``)."""

    NOT_ENROLLED = "not_enrolled"
    PENDING = "pending"
    MATCHED = "matched"
    MISMATCH = "mismatch"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What a live check needs about one student, read once when they join a lesson:
    `storage.faces.approved_template`, the vector opened with `TemplateCipher.open_template`."""

    state: str | None
    """The template's state (pending, approved, rejected, exempt), None if never enrolled."""
    vector: NDArray[np.float32] | None = None
    """The approved template, None in every other state."""
    model: str | None = None

    @property
    def comparable(self) -> bool:
        return self.vector is not None and self.model is not None

    @property
    def status(self) -> IdentityStatus:
        """The dashboard's identity before any comparison in this lesson."""
        return IdentityStatus.PENDING if self.state == "pending" else IdentityStatus.NOT_ENROLLED


async def identify(
    pool: IdentityPool,
    enrolled: Enrolled,
    frame: bytes,
    box: Box,
    thresholds: IdentityThresholds = DEFAULT_THRESHOLDS,
) -> IdentityResult:
    """Describe the face at ``box`` of a frame that passed presence and compare it with the
    template. Raises `identity.IdentitySaturated` at once when the workers are full (answer
    ``rate_limited``), `identity.IdentityUnavailable` when the worker died twice on it."""
    if enrolled.vector is None or enrolled.model is None:
        raise ValueError("the student has no approved template")
    description = await pool.describe(frame, box)
    return compare(enrolled.vector, enrolled.model, description, thresholds)


@dataclass(frozen=True, slots=True)
class FrameDecision:
    outcome: str | None
    """``present`` or ``different_person``: the prompt is resolved with it; None: ask for
    another frame (the prompt stays open)."""
    identity: IdentityStatus
    hint: str | None = None


def frame_decision(result: IdentityResult, *, another_frame_possible: bool) -> FrameDecision:
    """What one compared frame does to its prompt. ``another_frame_possible``: the prompt has
    frames and time left (``max_frames``, its deadline)."""
    if result.outcome is IdentityOutcome.MATCH:
        return FrameDecision("present", IdentityStatus.MATCHED)
    if result.outcome is IdentityOutcome.MISMATCH:
        return FrameDecision(DIFFERENT_PERSON, IdentityStatus.MISMATCH, HINT_MISMATCH)
    if another_frame_possible:
        return FrameDecision(None, IdentityStatus.INCONCLUSIVE, result.hint)
    # Every frame of this prompt was uncertain: it passes on presence.
    return FrameDecision("present", IdentityStatus.INCONCLUSIVE, result.hint)


@dataclass(slots=True)
class IdentityTally:
    """A report line's ``identity: {checked, matched, mismatched, inconclusive}``: one count per
    prompt that compared identity, by its final identity."""

    checked: int = 0
    matched: int = 0
    mismatched: int = 0
    inconclusive: int = 0

    def add(self, identity: str | None) -> None:
        if identity in (None, IdentityStatus.NOT_ENROLLED, IdentityStatus.PENDING):
            return
        self.checked += 1
        if identity == IdentityStatus.MATCHED:
            self.matched += 1
        elif identity == IdentityStatus.MISMATCH:
            self.mismatched += 1
        else:
            self.inconclusive += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "inconclusive": self.inconclusive,
        }

    @property
    def needs_review(self) -> bool:
        """Any mismatch: the student is at most ``partial`` until a person has reviewed it."""
        return self.mismatched > 0
