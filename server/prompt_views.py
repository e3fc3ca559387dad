"""A prompt as the API shows it: its verdict, its frames, its review and its contest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import Policy
from domain.review import (
    DIFFERENT_PERSON,
    Decision,
    contest_deadline,
    contestable,
    counted_status,
    reviewable,
)
from storage import repositories as repo
from storage.models import Check, Lesson, Prompt, PromptContest, PromptReview

# The identity check's columns on a frame. Each is shown when the server's schema has it, so a
# server with identity checks lists them and one without does not (see ``FrameOut``).
IDENTITY_COLUMNS = ("identity", "identity_distance", "identity_model")


async def prompt_views(
    s: AsyncSession,
    rows: Sequence[tuple[Prompt, str]],
    *,
    lesson: Lesson,
    policy: Policy,
    now: datetime,
) -> list[dict[str, Any]]:
    """The prompts of one lesson with their student's name, ready for JSON."""
    ids = [prompt.id for prompt, _ in rows]
    frames = await repo.prompt_frames(s, prompt_ids=ids)
    reviews = await repo.prompt_reviews(s, prompt_ids=ids)
    contests = await repo.prompt_contests(s, prompt_ids=ids)
    deadline = contest_deadline(lesson.ended_at, policy.contest_days)
    return [
        prompt_view(
            prompt,
            name,
            frames[prompt.id],
            reviews[prompt.id],
            contests.get(prompt.id),
            deadline=deadline,
            now=now,
        )
        for prompt, name in rows
    ]


def prompt_view(
    prompt: Prompt,
    student_name: str,
    frames: Sequence[tuple[Check, bool]],
    reviews: Sequence[tuple[PromptReview, str | None]],
    contest: PromptContest | None,
    *,
    deadline: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    outcomes = [check.outcome for check, _ in frames]
    different_person = DIFFERENT_PERSON in outcomes
    can_review = reviewable(prompt.status, outcomes)
    history = [_decision(review, name) for review, name in reviews]
    newest = reviews[-1][0] if reviews else None
    decision = Decision(newest.decision) if newest else None
    needs_review = can_review and (
        newest is None or (contest is not None and contest.created_at > newest.created_at)
    )
    if not can_review:
        state = "not_needed"
    elif needs_review or decision is None:
        state = "pending"
    else:
        state = "accepted" if decision is Decision.ACCEPT else "upheld"
    return {
        "id": prompt.id,
        "lesson_id": str(prompt.lesson_id),
        "student_id": str(prompt.student_id),
        "student_name": student_name,
        "issued_at": prompt.issued_at.isoformat(),
        "deadline": prompt.deadline.isoformat(),
        "resolved_at": prompt.resolved_at.isoformat() if prompt.resolved_at else None,
        "challenge": prompt.challenge,
        "status": prompt.status.value,
        "counts_as": counted_status(
            prompt.status, decision, different_person=different_person
        ).value,
        "frames": [_frame(check, has_thumbnail) for check, has_thumbnail in frames],
        "identity": _identity([check for check, _ in frames]),
        "different_person": different_person,
        "reviewable": can_review,
        "needs_review": needs_review,
        "review": {
            "state": state,
            "decision": history[-1] if history else None,
            "history": history,
        },
        "contest": (
            {"message": contest.message, "at": contest.created_at.isoformat()} if contest else None
        ),
        "contestable": (
            contestable(prompt.status) and contest is None and (deadline is None or now <= deadline)
        ),
        "contest_deadline": deadline.isoformat()
        if deadline and contestable(prompt.status)
        else None,
    }


def _frame(check: Check, has_thumbnail: bool) -> dict[str, Any]:
    frame = {
        "check_id": str(check.id),
        "received_at": check.received_at.isoformat(),
        "outcome": check.outcome,
        "hint": check.hint,
        "face_count": check.face_count,
        "has_thumbnail": has_thumbnail,
    }
    columns = Check.__table__.c
    frame.update({name: getattr(check, name) for name in IDENTITY_COLUMNS if name in columns})
    return frame


def _identity(checks: Sequence[Check]) -> str | None:
    """The prompt's identity result: a mismatch in any frame outweighs a match in another."""
    if "identity" not in Check.__table__.c:
        return None
    seen = {getattr(check, "identity", None) for check in checks}
    for result in ("mismatch", "matched", "inconclusive"):
        if result in seen:
            return result
    return None


def _decision(review: PromptReview, reviewer_name: str | None) -> dict[str, Any]:
    return {
        "decision": review.decision,
        "reason": review.reason,
        "reviewer_id": str(review.actor_id) if review.actor_id else None,
        "reviewer_name": reviewer_name,
        "at": review.created_at.isoformat(),
    }
