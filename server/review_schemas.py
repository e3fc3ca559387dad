"""The shapes of review and appeal requests and answers: a prompt as listed, a decision, a
contest (docs/api.md, "Review and appeals")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from server.schemas import Body, Out


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_text)]


class ReviewIn(Body):
    decision: Literal["accept", "uphold"]
    reason: Text


class ContestIn(Body):
    message: Text


class FrameOut(Out):
    check_id: uuid.UUID
    received_at: datetime
    outcome: str
    hint: str | None
    face_count: int
    has_thumbnail: bool
    # From the identity check, where the server has one.
    identity: str | None = None
    identity_distance: float | None = None
    identity_model: str | None = None


class DecisionOut(Out):
    decision: Literal["accept", "uphold"]
    reason: str
    reviewer_id: uuid.UUID | None
    reviewer_name: str | None
    at: datetime


class ReviewOut(Out):
    state: Literal["not_needed", "pending", "accepted", "upheld"]
    decision: DecisionOut | None
    history: list[DecisionOut]


class ContestOut(Out):
    message: str
    at: datetime


class PromptOut(Out):
    id: str
    lesson_id: uuid.UUID
    student_id: uuid.UUID
    student_name: str
    issued_at: datetime
    deadline: datetime
    resolved_at: datetime | None
    challenge: str
    status: Literal["pending", "passed", "failed", "missed", "cancelled"]
    counts_as: Literal["pending", "passed", "failed", "missed", "cancelled"]
    frames: list[FrameOut]
    identity: Literal["matched", "mismatch", "inconclusive"] | None
    different_person: bool
    reviewable: bool
    needs_review: bool
    review: ReviewOut
    contest: ContestOut | None
    contestable: bool
    contest_deadline: datetime | None
