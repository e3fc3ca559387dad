"""Prompts and the checks of their frames, with the evidence thumbnails a course keeps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from storage.models import (
    Base,
    Check,
    Course,
    Lesson,
    Prompt,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

# The writes made for every connection, prompt and frame, built once: a statement built per call
# (``insert(Model).values(...)``) costs more CPU on the event loop than running it. Core
# statements with bound parameters are compiled once and cached.
_prompts = Base.metadata.tables[Prompt.__tablename__]
_ADD_PROMPT = insert(_prompts)
_RESOLVE_PROMPT = (
    update(_prompts)
    .where(_prompts.c.id == bindparam("prompt_id"), _prompts.c.status == PromptStatus.PENDING)
    .values(status=bindparam("new_status"), resolved_at=bindparam("at"))
)
_ADD_CHECK = insert(Base.metadata.tables[Check.__tablename__])
_PENDING_PROMPT = select(Prompt).where(
    Prompt.lesson_id == bindparam("lesson_id"),
    Prompt.student_id == bindparam("student_id"),
    Prompt.status == PromptStatus.PENDING,
)
_STUDENT_PROMPTS = (
    select(Prompt)
    .where(Prompt.lesson_id == bindparam("lesson_id"), Prompt.student_id == bindparam("student_id"))
    .order_by(Prompt.issued_at)
)


# -- prompts and checks ---------------------------------------------------------------------------


async def add_prompt(
    s: AsyncSession,
    *,
    prompt_id: str,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    issued_at: datetime,
    deadline: datetime,
    challenge: str,
    process_id: str | None = None,
) -> None:
    """Record an open prompt. Raises IntegrityError when the student already has one open
    in this lesson (issued by any process): never two."""
    await s.execute(
        _ADD_PROMPT,
        {
            "id": prompt_id,
            "lesson_id": lesson_id,
            "student_id": student_id,
            "issued_at": issued_at,
            "deadline": deadline,
            "challenge": challenge,
            "status": PromptStatus.PENDING,
            "resolved_at": None,
            "process_id": process_id,
        },
    )


async def pending_prompt(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID
) -> Prompt | None:
    result = await s.execute(_PENDING_PROMPT, {"lesson_id": lesson_id, "student_id": student_id})
    return result.scalar_one_or_none()


async def cancel_lesson_prompts(s: AsyncSession, *, lesson_id: uuid.UUID, at: datetime) -> int:
    """Cancel every prompt still open in an ended lesson, whichever process issued it."""
    result = await s.execute(
        update(Prompt)
        .where(Prompt.lesson_id == lesson_id, Prompt.status == PromptStatus.PENDING)
        .values(status=PromptStatus.CANCELLED, resolved_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def resolve_prompt(
    s: AsyncSession, *, prompt_id: str, status: PromptStatus, at: datetime
) -> bool:
    """Set a pending prompt's final status; False if it was already resolved (never twice)."""
    result = await s.execute(
        _RESOLVE_PROMPT, {"prompt_id": prompt_id, "new_status": status, "at": at}
    )
    return bool(getattr(result, "rowcount", 0))


async def resolve_prompts(
    s: AsyncSession, *, prompt_ids: Sequence[str], status: PromptStatus, at: datetime
) -> int:
    """:func:`resolve_prompt` for many prompts in few statements; how many were pending."""
    resolved = 0
    for start in range(0, len(prompt_ids), 500):
        result = await s.execute(
            update(Prompt)
            .where(
                Prompt.id.in_(prompt_ids[start : start + 500]),
                Prompt.status == PromptStatus.PENDING,
            )
            .values(status=status, resolved_at=at)
        )
        resolved += int(getattr(result, "rowcount", 0) or 0)
    return resolved


async def lesson_prompts(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> list[Prompt]:
    if student_id is not None:  # a student joining: built once
        result = await s.execute(
            _STUDENT_PROMPTS, {"lesson_id": lesson_id, "student_id": student_id}
        )
    else:
        result = await s.execute(
            select(Prompt).where(Prompt.lesson_id == lesson_id).order_by(Prompt.issued_at)
        )
    return list(result.scalars())


async def last_checks(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> dict[uuid.UUID, tuple[str, datetime]]:
    """Each student's latest check outcome and time in the lesson."""
    if student_id is not None:  # a student joining: built once
        result = await s.execute(
            _STUDENT_LAST_CHECK, {"lesson_id": lesson_id, "student_id": student_id}
        )
    else:
        result = await s.execute(_last_checks(student=False), {"lesson_id": lesson_id})
    return {row[0]: (row[1], row[2]) for row in result}


def _last_checks(*, student: bool) -> Select[uuid.UUID, str, datetime]:
    lesson = Check.lesson_id == bindparam("lesson_id")
    stmt = select(Check.student_id, func.max(Check.received_at).label("at")).where(lesson)
    if student:
        stmt = stmt.where(Check.student_id == bindparam("student_id"))
    latest = stmt.group_by(Check.student_id).subquery()
    return (
        select(Check.student_id, Check.outcome, Check.received_at)
        .join(
            latest,
            (Check.student_id == latest.c.student_id) & (Check.received_at == latest.c.at),
        )
        .where(lesson)
    )


async def add_check(s: AsyncSession, **fields: Any) -> None:
    await s.execute(_ADD_CHECK, {"id": uuid.uuid4(), "thumbnail": None, "hint": None, **fields})


CHECKS_ORDER = Order([Check.received_at, Check.id])


async def checks_page(
    s: AsyncSession,
    *,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID | None,
    after: Position | None,
    limit: int,
) -> Page[tuple[Check, str, bool]]:
    """The lesson's verdict log, oldest first, with each student's name and whether the check
    has a thumbnail (the image itself is not loaded)."""
    stmt = (
        select(Check, User.name, Check.thumbnail.is_not(None))
        .join(User, User.id == Check.student_id)
        .where(Check.lesson_id == lesson_id)
    )
    if student_id is not None:
        stmt = stmt.where(Check.student_id == student_id)
    return await keyset_page(s, stmt, CHECKS_ORDER, after=after, limit=limit, scalars=False)


async def check_thumbnail(
    s: AsyncSession, *, check_id: uuid.UUID
) -> tuple[uuid.UUID, bytes | None] | None:
    """A check's lesson and thumbnail; None when there is no such check."""
    row = (
        await s.execute(select(Check.lesson_id, Check.thumbnail).where(Check.id == check_id))
    ).first()
    return (row[0], row[1]) if row else None


async def purge_thumbnails(s: AsyncSession, *, now: datetime) -> int:
    """Drop thumbnails older than their course's retention period; returns how many."""
    purged = 0
    courses = (await s.execute(select(Course.id, Course.policy))).all()
    for course_id, policy in courses:
        days = int(policy.get("retention_days", 30))
        lessons = select(Lesson.id).where(Lesson.course_id == course_id)
        result = await s.execute(
            update(Check)
            .where(
                Check.lesson_id.in_(lessons),
                Check.thumbnail.is_not(None),
                Check.received_at < now - timedelta(days=days),
            )
            .values(thumbnail=None)
        )
        purged += int(getattr(result, "rowcount", 0) or 0)
    return purged


async def cancel_prompt(s: AsyncSession, *, prompt_id: str, at: datetime) -> bool:
    return await resolve_prompt(s, prompt_id=prompt_id, status=PromptStatus.CANCELLED, at=at)


# Built here, once `_last_checks` is defined: the per-student form runs for every join.
_STUDENT_LAST_CHECK = _last_checks(student=True)
