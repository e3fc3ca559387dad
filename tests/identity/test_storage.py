"""Templates at rest: encrypted in the database, and deleted by the purge on schedule."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from identity.crypto import TemplateCipher
from server.purge import purge_face_templates
from storage import faces
from storage.db import Sessions, make_engine, make_sessions
from storage.migrate import upgrade
from storage.models import (
    AuditEntry,
    Course,
    Enrolment,
    FaceTemplate,
    Lesson,
    LessonStatus,
    Role,
    TemplateState,
    User,
)
from storage.types import utcnow

CIPHER = TemplateCipher(os.urandom(32))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Sessions, Path]]:
    path = tmp_path / "faces.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    yield make_sessions(engine), path
    await engine.dispose()


async def _student(s: Sessions, name: str) -> uuid.UUID:
    async with s() as session, session.begin():
        user = User(email=f"{name}@x.example", name=name, role=Role.STUDENT, password_hash="-")
        session.add(user)
        await session.flush()
        return user.id


async def _enrol(
    s: Sessions, student_id: uuid.UUID, *, days_ago: float, state: TemplateState
) -> None:
    vector = np.linspace(-0.2, 0.2, 128, dtype=np.float32)
    async with s() as session, session.begin():
        await faces.replace_template(
            session,
            template=FaceTemplate(
                student_id=student_id,
                state=state,
                vector=CIPHER.seal_template(vector, student_id=student_id),
                model="m",
                source="admin",
                created_at=utcnow() - timedelta(days=days_ago),
            ),
        )


async def _lesson(s: Sessions, student_id: uuid.UUID, *, ended_days_ago: float) -> None:
    async with s() as session, session.begin():
        tutor = User(
            email=f"t{uuid.uuid4().hex}@x.example", name="T", role=Role.TUTOR, password_hash="-"
        )
        session.add(tutor)
        await session.flush()
        course = Course(title="C", tutor_id=tutor.id, policy={})
        session.add(course)
        await session.flush()
        session.add(Enrolment(course_id=course.id, student_id=student_id))
        end = utcnow() - timedelta(days=ended_days_ago)
        session.add(
            Lesson(
                course_id=course.id,
                title="L",
                scheduled_start=end - timedelta(hours=1),
                scheduled_end=end,
                status=LessonStatus.ENDED,
                started_at=end - timedelta(hours=1),
                ended_at=end,
            )
        )


async def test_the_template_is_encrypted_in_the_database_file(
    db: tuple[Sessions, Path],
) -> None:
    sessions, path = db
    student = await _student(sessions, "ada")
    await _enrol(sessions, student, days_ago=0, state=TemplateState.APPROVED)
    plain = np.linspace(-0.2, 0.2, 128, dtype=np.float32).tobytes()
    with sqlite3.connect(path) as raw:
        (stored,) = raw.execute("SELECT vector FROM face_templates").fetchone()
    assert plain not in stored and len(stored) == 1 + 12 + len(plain) + 16
    async with sessions() as session:
        state, sealed, model = await faces.approved_template(session, student_id=student) or (
            None,
            None,
            None,
        )
    assert state is TemplateState.APPROVED and sealed is not None and model == "m"
    assert CIPHER.open_template(sealed, student_id=student).tobytes() == plain


async def test_templates_are_purged_a_retention_period_after_the_last_lesson(
    db: tuple[Sessions, Path],
) -> None:
    sessions, _ = db
    recent = await _student(sessions, "recent")  # a lesson 10 days ago
    lapsed = await _student(sessions, "lapsed")  # last lesson 400 days ago
    new = await _student(sessions, "new")  # enrolled 2 days ago, no lesson yet
    stale = await _student(sessions, "stale")  # enrolled 400 days ago, never in a lesson
    waiting = await _student(sessions, "waiting")  # pending for 40 days, never decided
    for student in (recent, lapsed, stale):
        await _enrol(
            sessions,
            student,
            days_ago=500 if student != stale else 400,
            state=TemplateState.APPROVED,
        )
    await _enrol(sessions, new, days_ago=2, state=TemplateState.APPROVED)
    await _enrol(sessions, waiting, days_ago=40, state=TemplateState.PENDING)
    await _lesson(sessions, recent, ended_days_ago=10)
    await _lesson(sessions, lapsed, ended_days_ago=400)

    assert await purge_face_templates(sessions, retention_days=365) == 3
    async with sessions() as session:
        kept = {
            t
            for t in [recent, lapsed, new, stale, waiting]
            if await faces.get_template(session, student_id=t) is not None
        }
        audited = {
            e.target_id
            for e in (
                await session.execute(
                    AuditEntry.__table__.select().where(AuditEntry.action == "face.purge")
                )
            ).all()
        }
    assert kept == {recent, new}
    assert audited == {str(lapsed), str(stale), str(waiting)}


async def test_courses_made_before_identity_keep_it_off_after_the_migration(
    tmp_path: Path,
) -> None:
    from alembic import command
    from sqlalchemy import select, text

    from storage.migrate import _config

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_config(c), "b9f3b483d4df"))
        async with make_sessions(engine)() as session, session.begin():
            # The tables as that first schema had them (the models have grown since).
            tutor_id = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO users (id, email, name, role, password_hash, disabled, "
                    "created_at, updated_at) VALUES (:id, 't@x.example', 'T', 'TUTOR', '-', 0, "
                    ":at, :at)"
                ),
                {"id": tutor_id.hex, "at": utcnow().replace(tzinfo=None)},
            )
            await session.execute(
                Course.__table__.insert().values(
                    id=uuid.uuid4(),
                    title="Old",
                    tutor_id=tutor_id,
                    policy={"deadline_s": 15},
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        await upgrade(engine)
        async with make_sessions(engine)() as session:
            (policy,) = (await session.execute(select(Course.policy))).one()
        assert policy == {"deadline_s": 15, "identity": "off", "identity_probability": 0.34}
    finally:
        await engine.dispose()
