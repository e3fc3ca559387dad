"""The reads behind a lesson's attendance report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from storage.models import (
    Enrolment,
    PresenceInterval,
    Prompt,
    User,
)

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
