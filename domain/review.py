"""A person's review of a check, and a student's contest of it: which prompts may be reviewed
or contested, and what a prompt counts as once reviewed.

The verdict the machine gave a prompt is never changed. A reviewer's decision is kept beside it
(every decision, the newest counting), and only the counting reads it:

- ``accept``: the prompt counts as passed, whatever the check said;
- ``uphold``: the prompt counts as judged. A prompt that passed but had a frame of someone
  other than the enrolled student (``different_person``) counts as failed once upheld: the
  reviewer confirmed the flag, so the pass was not the student's.

Until a prompt with a ``different_person`` frame is reviewed, its student is at most
``partial`` for the lesson.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.statuses import PromptStatus

# A frame outcome of the identity check: a face was seen, but not the enrolled student's.
DIFFERENT_PERSON = "different_person"
CONTESTABLE = frozenset({PromptStatus.FAILED, PromptStatus.MISSED})
DEFAULT_CONTEST_DAYS = 7


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    UPHOLD = "uphold"


def reviewable(status: PromptStatus, outcomes: Iterable[str]) -> bool:
    """A failed or missed prompt, or a passed one with a ``different_person`` frame (an open
    or cancelled prompt has nothing to decide)."""
    return status in CONTESTABLE or (status is PromptStatus.PASSED and DIFFERENT_PERSON in outcomes)


def contestable(status: PromptStatus) -> bool:
    return status in CONTESTABLE


def contest_deadline(ended_at: datetime | None, contest_days: int) -> datetime | None:
    """The last moment a student may contest a prompt of a lesson; None while it is live."""
    return None if ended_at is None else ended_at + timedelta(days=contest_days)


def counted_status(
    status: PromptStatus, decision: Decision | None, *, different_person: bool
) -> PromptStatus:
    """What a prompt counts as in the attendance decision, given its newest decision."""
    if decision is Decision.ACCEPT and status in CONTESTABLE:
        return PromptStatus.PASSED
    if decision is Decision.UPHOLD and different_person and status is PromptStatus.PASSED:
        return PromptStatus.FAILED
    return status


@dataclass(slots=True)
class ReviewCounts:
    """A student's (or a lesson's) reviewable prompts by their review state."""

    accepted: int = 0
    upheld: int = 0
    pending: int = 0

    def add(self, decision: Decision | None) -> None:
        if decision is Decision.ACCEPT:
            self.accepted += 1
        elif decision is Decision.UPHOLD:
            self.upheld += 1
        else:
            self.pending += 1

    def merge(self, other: ReviewCounts) -> None:
        self.accepted += other.accepted
        self.upheld += other.upheld
        self.pending += other.pending


@dataclass(frozen=True, slots=True)
class ReviewedPrompt:
    """One prompt as the report needs it: its verdict, its flags and its newest decision."""

    status: PromptStatus
    different_person: bool
    decision: Decision | None
    identity: str | None = None
    """The identity of its last compared frame (matched, mismatch, inconclusive), if any."""

    @property
    def reviewable(self) -> bool:
        return reviewable(self.status, [DIFFERENT_PERSON] if self.different_person else [])

    @property
    def counted(self) -> PromptStatus:
        return counted_status(self.status, self.decision, different_person=self.different_person)

    @property
    def identity_unreviewed(self) -> bool:
        return self.different_person and self.decision is None
