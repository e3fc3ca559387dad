"""Users, courses and enrolments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Course,
    Enrolment,
    PresenceInterval,
    Prompt,
    Role,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

# And the reads made for every student who joins a lesson.
_IS_ENROLLED = select(Enrolment.id).where(
    Enrolment.course_id == bindparam("course_id"), Enrolment.student_id == bindparam("student_id")
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
