"""Lessons (their schedule and status) and the presence intervals of their students."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Base,
    Course,
    Enrolment,
    Lesson,
    LessonStatus,
    PresenceInterval,
    Role,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

# The writes made for every connection, prompt and frame, built once: a statement built per call
# (``insert(Model).values(...)``) costs more CPU on the event loop than running it. Core
# statements with bound parameters are compiled once and cached.
_presence = Base.metadata.tables[PresenceInterval.__tablename__]
_OPEN_PRESENCE = insert(_presence)
_CLOSE_PRESENCE = (
    update(_presence)
    .where(_presence.c.id == bindparam("interval_id"), _presence.c.disconnected_at.is_(None))
    .values(disconnected_at=bindparam("at"))
)
_LESSON_WITH_COURSE = (
    select(Lesson, Course)
    .join(Course, Course.id == Lesson.course_id)
    .where(Lesson.id == bindparam("lesson_id"))
)


# -- lessons ------------------------------------------------------------------------------------


async def add_lesson(
    s: AsyncSession,
    *,
    course_id: uuid.UUID,
    title: str,
    scheduled_start: datetime,
    scheduled_end: datetime,
) -> Lesson:
    lesson = Lesson(
        course_id=course_id,
        title=title,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        status=LessonStatus.SCHEDULED,
    )
    s.add(lesson)
    await s.flush()
    return lesson


async def get_lesson(s: AsyncSession, *, lesson_id: uuid.UUID) -> Lesson | None:
    return await s.get(Lesson, lesson_id)


async def get_lesson_with_course(
    s: AsyncSession, *, lesson_id: uuid.UUID
) -> tuple[Lesson, Course] | None:
    result = await s.execute(_LESSON_WITH_COURSE, {"lesson_id": lesson_id})
    row = result.first()
    return (row[0], row[1]) if row else None


LESSONS_ORDER = Order([Lesson.scheduled_start, Lesson.id])


async def lessons_page(
    s: AsyncSession,
    *,
    viewer: User,
    course_id: uuid.UUID | None,
    status: Sequence[LessonStatus] | None,
    after: Position | None,
    limit: int,
) -> Page[tuple[Lesson, str]]:
    """Lessons (with their course's title) the viewer may see, by scheduled start."""
    stmt = select(Lesson, Course.title).join(Course, Course.id == Lesson.course_id)
    if course_id is not None:
        stmt = stmt.where(Lesson.course_id == course_id)
    if status:
        stmt = stmt.where(Lesson.status.in_(status))
    if viewer.role is Role.TUTOR:
        stmt = stmt.where(Course.tutor_id == viewer.id)
    elif viewer.role is Role.STUDENT:
        stmt = stmt.join(Enrolment, Enrolment.course_id == Course.id).where(
            Enrolment.student_id == viewer.id
        )
    return await keyset_page(s, stmt, LESSONS_ORDER, after=after, limit=limit, scalars=False)


async def start_lesson(s: AsyncSession, *, lesson_id: uuid.UUID, at: datetime) -> bool:
    """Mark a scheduled lesson live; False when it was not scheduled (started once)."""
    return await _move_lesson(
        s, lesson_id, LessonStatus.SCHEDULED, LessonStatus.LIVE, started_at=at
    )


async def end_lesson(s: AsyncSession, *, lesson_id: uuid.UUID, at: datetime) -> bool:
    """Mark a live lesson ended; False when it was not live (ended once, by one caller)."""
    return await _move_lesson(s, lesson_id, LessonStatus.LIVE, LessonStatus.ENDED, ended_at=at)


async def _move_lesson(
    s: AsyncSession,
    lesson_id: uuid.UUID,
    before: LessonStatus,
    after: LessonStatus,
    **values: datetime,
) -> bool:
    # A conditional update: of two concurrent callers, exactly one moves the lesson.
    result = await s.execute(
        update(Lesson)
        .where(Lesson.id == lesson_id, Lesson.status == before)
        .values(status=after, **values)
    )
    return bool(getattr(result, "rowcount", 0))


async def demo_lesson(s: AsyncSession, *, tutor_id: uuid.UUID) -> Lesson | None:
    """The newest live lesson of one of the tutor's courses."""
    result = await s.execute(
        select(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .where(Course.tutor_id == tutor_id, Lesson.status == LessonStatus.LIVE)
        .order_by(Lesson.created_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


# -- presence -----------------------------------------------------------------------------------


async def open_presence(
    s: AsyncSession,
    *,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    at: datetime,
    process_id: str | None = None,
) -> uuid.UUID:
    """Open a presence interval; its id."""
    interval_id = uuid.uuid4()
    await s.execute(
        _OPEN_PRESENCE,
        {
            "id": interval_id,
            "lesson_id": lesson_id,
            "student_id": student_id,
            "connected_at": at,
            "disconnected_at": None,
            "process_id": process_id,
        },
    )
    return interval_id


async def close_presence(s: AsyncSession, *, interval_id: uuid.UUID, at: datetime) -> None:
    await s.execute(_CLOSE_PRESENCE, {"interval_id": interval_id, "at": at})
