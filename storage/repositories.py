"""Queries and writes, one function each. Every function takes the session explicitly.

Callers own the transaction (``async with sessions() as s, s.begin():``); nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from storage.models import (
    AuditEntry,
    Base,
    Check,
    Course,
    Enrolment,
    Lesson,
    LessonStatus,
    PresenceInterval,
    Prompt,
    Role,
    ServerProcess,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

# The writes made for every connection, prompt and frame, built once: a statement built per call
# (``insert(Model).values(...)``) costs more CPU on the event loop than running it. Core
# statements with bound parameters are compiled once and cached.
_prompts = Base.metadata.tables[Prompt.__tablename__]
_presence = Base.metadata.tables[PresenceInterval.__tablename__]
_OPEN_PRESENCE = insert(_presence)
_CLOSE_PRESENCE = (
    update(_presence)
    .where(_presence.c.id == bindparam("interval_id"), _presence.c.disconnected_at.is_(None))
    .values(disconnected_at=bindparam("at"))
)
_ADD_PROMPT = insert(_prompts)
_RESOLVE_PROMPT = (
    update(_prompts)
    .where(_prompts.c.id == bindparam("prompt_id"), _prompts.c.status == PromptStatus.PENDING)
    .values(status=bindparam("new_status"), resolved_at=bindparam("at"))
)
_ADD_CHECK = insert(Base.metadata.tables[Check.__tablename__])
# And the reads made for every student who joins a lesson.
_IS_ENROLLED = select(Enrolment.id).where(
    Enrolment.course_id == bindparam("course_id"), Enrolment.student_id == bindparam("student_id")
)
_LESSON_WITH_COURSE = (
    select(Lesson, Course)
    .join(Course, Course.id == Lesson.course_id)
    .where(Lesson.id == bindparam("lesson_id"))
)
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

# -- users ------------------------------------------------------------------------------------


async def get_user(s: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    return await s.get(User, user_id)


async def get_user_by_email(s: AsyncSession, *, email: str) -> User | None:
    result = await s.execute(select(User).where(User.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def add_user(
    s: AsyncSession, *, email: str, name: str, role: Role, password_hash: str
) -> User:
    user = User(email=email.strip().lower(), name=name, role=role, password_hash=password_hash)
    s.add(user)
    await s.flush()
    return user


async def any_admin(s: AsyncSession) -> bool:
    result = await s.execute(select(User.id).where(User.role == Role.ADMIN).limit(1))
    return result.first() is not None


async def count_users(s: AsyncSession) -> int:
    return int(await s.scalar(select(func.count()).select_from(User)) or 0)


async def get_users(s: AsyncSession, *, user_ids: Sequence[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    result = await s.execute(select(User).where(User.id.in_(user_ids)))
    return list(result.scalars())


USERS_ORDER = Order([User.created_at, User.id])


async def users_page(
    s: AsyncSession, *, role: Sequence[Role] | None, after: Position | None, limit: int
) -> Page[User]:
    stmt = select(User)
    if role:
        stmt = stmt.where(User.role.in_(role))
    return await keyset_page(s, stmt, USERS_ORDER, after=after, limit=limit)


async def has_history(s: AsyncSession, *, user_id: uuid.UUID) -> bool:
    """Whether records that prove attendance, or a course, refer to the user."""
    for stmt in (
        select(Course.id).where(Course.tutor_id == user_id),
        select(Enrolment.id).where(Enrolment.student_id == user_id),
        select(PresenceInterval.id).where(PresenceInterval.student_id == user_id),
        select(Prompt.id).where(Prompt.student_id == user_id),
    ):
        if await s.scalar(select(exists(stmt))):
            return True
    return False


async def delete_user(s: AsyncSession, *, user_id: uuid.UUID) -> None:
    await s.execute(delete(User).where(User.id == user_id))


async def count_admins(s: AsyncSession) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == Role.ADMIN, ~User.disabled)
    return int(await s.scalar(stmt) or 0)


# -- courses and enrolments ---------------------------------------------------------------------


async def add_course(
    s: AsyncSession, *, title: str, tutor_id: uuid.UUID, policy: dict[str, Any]
) -> Course:
    course = Course(title=title, tutor_id=tutor_id, policy=policy)
    s.add(course)
    await s.flush()
    return course


async def get_course(s: AsyncSession, *, course_id: uuid.UUID) -> Course | None:
    return await s.get(Course, course_id)


COURSES_ORDER = Order([Course.created_at, Course.id])


async def courses_page(
    s: AsyncSession, *, viewer: User, after: Position | None, limit: int
) -> Page[Course]:
    """Courses the viewer may see: an admin all, a tutor their own, a student their enrolled."""
    stmt = select(Course)
    if viewer.role is Role.TUTOR:
        stmt = stmt.where(Course.tutor_id == viewer.id)
    elif viewer.role is Role.STUDENT:
        stmt = stmt.join(Enrolment, Enrolment.course_id == Course.id).where(
            Enrolment.student_id == viewer.id
        )
    return await keyset_page(s, stmt, COURSES_ORDER, after=after, limit=limit)


ENROLMENTS_ORDER = Order([User.name, User.id])


async def enrolments_page(
    s: AsyncSession, *, course_id: uuid.UUID, after: Position | None, limit: int
) -> Page[tuple[User, datetime]]:
    stmt = (
        select(User, Enrolment.created_at)
        .join(Enrolment, Enrolment.student_id == User.id)
        .where(Enrolment.course_id == course_id)
    )
    return await keyset_page(s, stmt, ENROLMENTS_ORDER, after=after, limit=limit, scalars=False)


async def remove_enrolment(s: AsyncSession, *, course_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    result = await s.execute(
        delete(Enrolment).where(
            Enrolment.course_id == course_id, Enrolment.student_id == student_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def enrolled_student_ids(s: AsyncSession, *, course_id: uuid.UUID) -> set[uuid.UUID]:
    result = await s.execute(select(Enrolment.student_id).where(Enrolment.course_id == course_id))
    return set(result.scalars())


async def add_enrolments(
    s: AsyncSession, *, course_id: uuid.UUID, student_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Enrol the students not enrolled yet; returns the ones added."""
    existing = await enrolled_student_ids(s, course_id=course_id)
    added = [sid for sid in dict.fromkeys(student_ids) if sid not in existing]
    s.add_all(Enrolment(course_id=course_id, student_id=sid) for sid in added)
    await s.flush()
    return added


async def is_enrolled(s: AsyncSession, *, course_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    result = await s.execute(_IS_ENROLLED, {"course_id": course_id, "student_id": student_id})
    return result.first() is not None


async def enrolled_students(s: AsyncSession, *, course_id: uuid.UUID) -> list[User]:
    result = await s.execute(
        select(User)
        .join(Enrolment, Enrolment.student_id == User.id)
        .where(Enrolment.course_id == course_id)
        .order_by(User.name, User.id)
    )
    return list(result.scalars())


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
    await s.execute(_ADD_CHECK, {"id": uuid.uuid4(), "thumbnail": None, **fields})


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


# -- reports --------------------------------------------------------------------------------------


async def report_students(
    s: AsyncSession, *, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> list[User]:
    """Everyone a lesson's report covers: the enrolled students, and anyone who took part in
    the lesson but has been unenrolled since (their records still prove what happened)."""
    took_part = (
        select(Prompt.student_id)
        .where(Prompt.lesson_id == lesson_id)
        .union(select(PresenceInterval.student_id).where(PresenceInterval.lesson_id == lesson_id))
    )
    enrolled = select(Enrolment.student_id).where(Enrolment.course_id == course_id)
    result = await s.execute(
        select(User)
        .where(User.id.in_(enrolled) | User.id.in_(took_part))
        .order_by(User.name, User.id)
    )
    return list(result.scalars())


async def prompt_statuses(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[PromptStatus]]:
    stmt = select(Prompt.student_id, Prompt.status).where(Prompt.lesson_id == lesson_id)
    if student_id is not None:
        stmt = stmt.where(Prompt.student_id == student_id)
    found: dict[uuid.UUID, list[PromptStatus]] = {}
    for sid, status in (await s.execute(stmt)).all():
        found.setdefault(sid, []).append(status)
    return found


async def presence(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[tuple[datetime, datetime | None]]]:
    stmt = select(
        PresenceInterval.student_id,
        PresenceInterval.connected_at,
        PresenceInterval.disconnected_at,
    ).where(PresenceInterval.lesson_id == lesson_id)
    if student_id is not None:
        stmt = stmt.where(PresenceInterval.student_id == student_id)
    found: dict[uuid.UUID, list[tuple[datetime, datetime | None]]] = {}
    for sid, start, end in (await s.execute(stmt)).all():
        found.setdefault(sid, []).append((start, end))
    return found


# -- server processes -----------------------------------------------------------------------------


async def register_process(
    s: AsyncSession, *, process_id: str, host: str, pid: int, at: datetime
) -> None:
    s.add(ServerProcess(id=process_id, host=host, pid=pid, started_at=at, last_seen_at=at))
    await s.flush()


async def heartbeat(s: AsyncSession, *, process_id: str, at: datetime) -> bool:
    """Note that the process is alive; False when its row is gone (it was taken for dead)."""
    result = await s.execute(
        update(ServerProcess).where(ServerProcess.id == process_id).values(last_seen_at=at)
    )
    return bool(getattr(result, "rowcount", 0))


async def process_alive(s: AsyncSession, *, process_id: str | None, seen_after: datetime) -> bool:
    if process_id is None:
        return False
    row = await s.get(ServerProcess, process_id)
    return row is not None and row.last_seen_at >= seen_after


async def processes(s: AsyncSession) -> list[ServerProcess]:
    return list((await s.execute(select(ServerProcess))).scalars())


async def reap_process(s: AsyncSession, *, process: ServerProcess, at: datetime) -> tuple[int, int]:
    """Settle what a dead process left open: its presence intervals end at its last heartbeat,
    its pending prompts are cancelled (the student is prompted afresh wherever they reconnect).
    Returns (intervals closed, prompts cancelled)."""
    closed = await s.execute(
        update(PresenceInterval)
        .where(
            PresenceInterval.process_id == process.id,
            PresenceInterval.disconnected_at.is_(None),
        )
        .values(disconnected_at=process.last_seen_at)
    )
    cancelled = await cancel_process_prompts(s, process_id=process.id, at=at)
    await s.execute(delete(ServerProcess).where(ServerProcess.id == process.id))
    return int(getattr(closed, "rowcount", 0) or 0), cancelled


async def cancel_process_prompts(s: AsyncSession, *, process_id: str, at: datetime) -> int:
    result = await s.execute(
        update(Prompt)
        .where(Prompt.process_id == process_id, Prompt.status == PromptStatus.PENDING)
        .values(status=PromptStatus.CANCELLED, resolved_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def cancel_prompt(s: AsyncSession, *, prompt_id: str, at: datetime) -> bool:
    return await resolve_prompt(s, prompt_id=prompt_id, status=PromptStatus.CANCELLED, at=at)


async def deregister_process(s: AsyncSession, *, process_id: str) -> None:
    await s.execute(delete(ServerProcess).where(ServerProcess.id == process_id))


# -- audit --------------------------------------------------------------------------------------


async def audit(
    s: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    s.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )


AUDIT_ORDER = Order([AuditEntry.at, AuditEntry.id], descending=True)


async def audit_page(
    s: AsyncSession,
    *,
    target_id: str | None,
    action: str | None,
    after: Position | None,
    limit: int,
) -> Page[tuple[AuditEntry, str | None]]:
    """The audit trail, newest first, with each actor's email."""
    stmt = select(AuditEntry, User.email).outerjoin(User, User.id == AuditEntry.actor_id)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return await keyset_page(s, stmt, AUDIT_ORDER, after=after, limit=limit, scalars=False)


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


# Built here, once `_last_checks` is defined: the per-student form runs for every join.
_STUDENT_LAST_CHECK = _last_checks(student=True)
