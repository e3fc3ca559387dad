"""Every prompt of a lesson with its frames, and the reviews and contests kept beside them.

Reviews and contests are append-only: a decision is never updated, a new one is added and the
newest counts; the prompt's own verdict is never touched here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.review import CONTESTABLE, DIFFERENT_PERSON, Decision, ReviewedPrompt
from domain.statuses import PromptStatus
from storage.models import (
    Check,
    Course,
    Lesson,
    Prompt,
    PromptContest,
    PromptReview,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

PROMPTS_ORDER = Order([Prompt.issued_at, Prompt.id])


def _different_person() -> ColumnElement[bool]:
    return exists().where(Check.prompt_id == Prompt.id, Check.outcome == DIFFERENT_PERSON)


def _needs_review() -> ColumnElement[bool]:
    """Reviewable, and either never decided or contested since its newest decision."""
    decided_at = (
        select(func.max(PromptReview.created_at))
        .where(PromptReview.prompt_id == Prompt.id)
        .scalar_subquery()
    )
    contested_at = (
        select(PromptContest.created_at)
        .where(PromptContest.prompt_id == Prompt.id)
        .scalar_subquery()
    )
    reviewable = Prompt.status.in_(list(CONTESTABLE)) | (
        (Prompt.status == PromptStatus.PASSED) & _different_person()
    )
    # Spelled out so that no branch is NULL: NOT of an unknown would drop rows from the
    # "not waiting" list.
    contested_since = contested_at.is_not(None) & (contested_at > decided_at)
    return reviewable & (decided_at.is_(None) | contested_since)


async def prompts_page(
    s: AsyncSession,
    *,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID | None,
    statuses: Sequence[PromptStatus] | None,
    needs_review: bool | None,
    after: Position | None,
    limit: int,
) -> Page[tuple[Prompt, str]]:
    """A lesson's prompts in the order they were issued, with each student's name."""
    stmt = (
        select(Prompt, User.name)
        .join(User, User.id == Prompt.student_id)
        .where(Prompt.lesson_id == lesson_id)
    )
    if student_id is not None:
        stmt = stmt.where(Prompt.student_id == student_id)
    if statuses:
        stmt = stmt.where(Prompt.status.in_(list(statuses)))
    if needs_review is not None:
        stmt = stmt.where(_needs_review() if needs_review else ~_needs_review())
    return await keyset_page(s, stmt, PROMPTS_ORDER, after=after, limit=limit, scalars=False)


async def prompt_frames(
    s: AsyncSession, *, prompt_ids: Collection[str]
) -> dict[str, list[tuple[Check, bool]]]:
    """Each prompt's judged frames in arrival order, with whether a thumbnail is kept (the
    image itself is not loaded)."""
    found: dict[str, list[tuple[Check, bool]]] = {p: [] for p in prompt_ids}
    if not prompt_ids:
        return found
    rows = await s.execute(
        select(Check, Check.thumbnail.is_not(None))
        .where(Check.prompt_id.in_(list(prompt_ids)))
        .order_by(Check.received_at, Check.id)
    )
    for check, has_thumbnail in rows.all():
        found[check.prompt_id].append((check, bool(has_thumbnail)))
    return found


async def prompt_reviews(
    s: AsyncSession, *, prompt_ids: Collection[str]
) -> dict[str, list[tuple[PromptReview, str | None]]]:
    """Each prompt's decisions, oldest first (the last one counts), with the reviewer's name."""
    found: dict[str, list[tuple[PromptReview, str | None]]] = {p: [] for p in prompt_ids}
    if not prompt_ids:
        return found
    rows = await s.execute(
        select(PromptReview, User.name)
        .outerjoin(User, User.id == PromptReview.actor_id)
        .where(PromptReview.prompt_id.in_(list(prompt_ids)))
        .order_by(PromptReview.created_at, PromptReview.id)
    )
    for review, name in rows.all():
        found[review.prompt_id].append((review, name))
    return found


async def prompt_contests(
    s: AsyncSession, *, prompt_ids: Collection[str]
) -> dict[str, PromptContest]:
    if not prompt_ids:
        return {}
    rows = await s.execute(
        select(PromptContest).where(PromptContest.prompt_id.in_(list(prompt_ids)))
    )
    return {c.prompt_id: c for c in rows.scalars()}


async def prompt_with_course(
    s: AsyncSession, *, prompt_id: str
) -> tuple[Prompt, Lesson, Course] | None:
    row = (
        await s.execute(
            select(Prompt, Lesson, Course)
            .join(Lesson, Lesson.id == Prompt.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Prompt.id == prompt_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def add_review(
    s: AsyncSession,
    *,
    prompt: Prompt,
    decision: Decision,
    reason: str,
    actor_id: uuid.UUID,
    at: datetime,
) -> PromptReview:
    review = PromptReview(
        prompt_id=prompt.id,
        lesson_id=prompt.lesson_id,
        decision=decision.value,
        reason=reason,
        actor_id=actor_id,
        created_at=at,
    )
    s.add(review)
    await s.flush()
    return review


async def add_contest(
    s: AsyncSession, *, prompt: Prompt, message: str, at: datetime
) -> PromptContest:
    """Raises IntegrityError when the prompt is already contested."""
    contest = PromptContest(
        prompt_id=prompt.id,
        lesson_id=prompt.lesson_id,
        student_id=prompt.student_id,
        message=message,
        created_at=at,
    )
    s.add(contest)
    await s.flush()
    return contest


async def reviewed_prompts(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[ReviewedPrompt]]:
    """Each student's prompts as the report counts them: verdict, identity flag, newest
    decision."""
    prompts = select(Prompt.id, Prompt.student_id, Prompt.status).where(
        Prompt.lesson_id == lesson_id
    )
    flagged = select(Check.prompt_id).where(
        Check.lesson_id == lesson_id, Check.outcome == DIFFERENT_PERSON
    )
    reviews = (
        select(PromptReview.prompt_id, PromptReview.decision)
        .where(PromptReview.lesson_id == lesson_id)
        .order_by(PromptReview.created_at, PromptReview.id)
    )
    if student_id is not None:
        prompts = prompts.where(Prompt.student_id == student_id)
        flagged = flagged.where(Check.student_id == student_id)
    compared = (
        select(Check.prompt_id, Check.identity)
        .where(Check.lesson_id == lesson_id, Check.identity.is_not(None))
        .order_by(Check.received_at, Check.id)
    )
    if student_id is not None:
        compared = compared.where(Check.student_id == student_id)
    identity = {prompt_id: value for prompt_id, value in (await s.execute(compared)).all()}
    different = {row[0] for row in (await s.execute(flagged)).all()}
    newest: dict[str, Decision] = {}
    for prompt_id, decision in (await s.execute(reviews)).all():
        newest[prompt_id] = Decision(decision)  # oldest first: the last one stays
    found: dict[uuid.UUID, list[ReviewedPrompt]] = {}
    for prompt_id, sid, status in (await s.execute(prompts)).all():
        found.setdefault(sid, []).append(
            ReviewedPrompt(
                status, prompt_id in different, newest.get(prompt_id), identity.get(prompt_id)
            )
        )
    return found
