"""Queries for face templates: one row per student, the vector sealed by `identity.crypto`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from storage.models import (
    Course,
    Enrolment,
    FaceTemplate,
    Lesson,
    PresenceInterval,
    TemplateState,
    User,
)
from storage.types import UTCDateTime

__all__ = [
    "PENDING_EXPIRES_DAYS",
    "approved_template",
    "delete_template",
    "get_template",
    "is_tutor_of",
    "pending_for",
    "purge_templates",
    "replace_template",
]

PENDING_EXPIRES_DAYS = 30
"""A student's enrolment nobody decided on is deleted, picture and all, after this many days."""


async def get_template(
    s: AsyncSession, *, student_id: uuid.UUID, with_secrets: bool = False
) -> FaceTemplate | None:
    stmt = select(FaceTemplate).where(FaceTemplate.student_id == student_id)
    if with_secrets:
        stmt = stmt.options(undefer(FaceTemplate.vector), undefer(FaceTemplate.picture))
    return (await s.execute(stmt)).scalar_one_or_none()


async def replace_template(s: AsyncSession, *, template: FaceTemplate) -> FaceTemplate:
    """Store ``template`` as the student's only one, replacing any earlier enrolment."""
    await s.execute(delete(FaceTemplate).where(FaceTemplate.student_id == template.student_id))
    s.add(template)
    await s.flush()
    return template


async def delete_template(s: AsyncSession, *, student_id: uuid.UUID) -> FaceTemplate | None:
    """Erase the student's template row now; returns what was erased (for the audit trail)."""
    found = await get_template(s, student_id=student_id)
    if found is not None:
        await s.execute(delete(FaceTemplate).where(FaceTemplate.id == found.id))
    return found


async def approved_template(
    s: AsyncSession, *, student_id: uuid.UUID
) -> tuple[TemplateState, bytes | None, str | None] | None:
    """What a live check needs: the state, the sealed vector (approved only) and its model;
    None when the student never enrolled."""
    row = (
        await s.execute(
            select(FaceTemplate.state, FaceTemplate.vector, FaceTemplate.model).where(
                FaceTemplate.student_id == student_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    state, vector, model = row
    return state, (vector if state is TemplateState.APPROVED else None), model


async def is_tutor_of(s: AsyncSession, *, tutor_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    """Whether the student is enrolled in one of the tutor's courses."""
    found = await s.execute(
        select(Enrolment.id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Enrolment.student_id == student_id, Course.tutor_id == tutor_id)
        .limit(1)
    )
    return found.first() is not None


async def pending_for(
    s: AsyncSession, *, tutor_id: uuid.UUID | None
) -> list[tuple[FaceTemplate, User]]:
    """Enrolments awaiting a decision, oldest first: all of them for an admin (``None``), those
    of the tutor's students for a tutor."""
    stmt = (
        select(FaceTemplate, User)
        .join(User, User.id == FaceTemplate.student_id)
        .where(FaceTemplate.state == TemplateState.PENDING)
        .order_by(FaceTemplate.created_at, FaceTemplate.id)
    )
    if tutor_id is not None:
        taught = (
            select(Enrolment.student_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Course.tutor_id == tutor_id)
        )
        stmt = stmt.where(FaceTemplate.student_id.in_(taught))
    return [(t, u) for t, u in (await s.execute(stmt)).all()]


async def purge_templates(
    s: AsyncSession, *, now: datetime, retention_days: int
) -> list[uuid.UUID]:
    """Delete templates ``retention_days`` after the student's last lesson (or after enrolment,
    for a student who has had none since), and enrolments left undecided for
    `PENDING_EXPIRES_DAYS`. Returns the students whose template was deleted."""
    lesson_end = func.max(func.coalesce(Lesson.ended_at, Lesson.scheduled_end, type_=UTCDateTime))
    enrolled = (
        select(Enrolment.student_id, lesson_end)
        .join(Lesson, Lesson.course_id == Enrolment.course_id)
        .where(Lesson.started_at.is_not(None))
        .group_by(Enrolment.student_id)
    )
    attended = (
        select(PresenceInterval.student_id, lesson_end)
        .join(Lesson, Lesson.id == PresenceInterval.lesson_id)
        .group_by(PresenceInterval.student_id)
    )
    last: dict[uuid.UUID, datetime] = {}
    for stmt in (enrolled, attended):
        for student_id, ended in (await s.execute(stmt)).all():
            if ended is not None and (student_id not in last or ended > last[student_id]):
                last[student_id] = ended
    rows = (
        await s.execute(
            select(
                FaceTemplate.id,
                FaceTemplate.student_id,
                FaceTemplate.state,
                FaceTemplate.created_at,
            )
        )
    ).all()
    keep_for = timedelta(days=retention_days)
    expired: list[tuple[uuid.UUID, uuid.UUID]] = []
    for template_id, student_id, state, created_at in rows:
        if state is TemplateState.PENDING:
            if created_at < now - timedelta(days=PENDING_EXPIRES_DAYS):
                expired.append((template_id, student_id))
            continue
        last_lesson = last.get(student_id)
        since = max(created_at, last_lesson) if last_lesson is not None else created_at
        if since < now - keep_for:
            expired.append((template_id, student_id))
    if expired:
        await s.execute(delete(FaceTemplate).where(FaceTemplate.id.in_([t for t, _ in expired])))
    return [student for _, student in expired]
