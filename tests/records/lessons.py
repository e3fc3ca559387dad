"""A lesson with every kind of sealed record, written straight to a database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from realtime.rules import PromptStatus
from storage.db import Sessions
from storage.models import (
    Check,
    Course,
    Enrolment,
    Lesson,
    LessonStatus,
    PresenceInterval,
    Prompt,
    Role,
    User,
)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Made:
    lesson_id: uuid.UUID
    course_id: uuid.UUID
    students: list[uuid.UUID]


async def make_lesson(sessions: Sessions, *, ended: bool = True, title: str = "Lesson 1") -> Made:
    """Two students, each with a passed and a failed prompt, their checks and presence."""
    async with sessions() as s, s.begin():
        tutor = User(
            email=f"t-{uuid.uuid4().hex[:8]}@x.example",
            name="Tina",
            role=Role.TUTOR,
            password_hash="-",
        )
        students = [
            User(
                email=f"s{i}-{uuid.uuid4().hex[:8]}@x.example",
                name=name,
                role=Role.STUDENT,
                password_hash="-",
            )
            for i, name in enumerate(["Ada Lovelace", "Zoë Brontë"])
        ]
        s.add_all([tutor, *students])
        await s.flush()
        course = Course(title="Forklift safety", tutor_id=tutor.id, policy={})
        s.add(course)
        await s.flush()
        s.add_all([Enrolment(course_id=course.id, student_id=u.id) for u in students])
        lesson = Lesson(
            course_id=course.id,
            title=title,
            scheduled_start=START,
            scheduled_end=START + timedelta(hours=1),
            status=LessonStatus.ENDED if ended else LessonStatus.LIVE,
            started_at=START,
            ended_at=START + timedelta(hours=1) if ended else None,
        )
        s.add(lesson)
        await s.flush()
        for n, student in enumerate(students):
            s.add(
                PresenceInterval(
                    lesson_id=lesson.id,
                    student_id=student.id,
                    connected_at=START + timedelta(seconds=10 + n),
                    disconnected_at=START + timedelta(minutes=55 + n) if ended else None,
                    process_id="p1",
                )
            )
            for k, (status, outcome) in enumerate(
                [(PromptStatus.PASSED, "present"), (PromptStatus.FAILED, "no_face")]
            ):
                at = START + timedelta(minutes=10 * (k + 1), seconds=n)
                prompt = Prompt(
                    id=uuid.uuid4().hex,
                    lesson_id=lesson.id,
                    student_id=student.id,
                    issued_at=at,
                    deadline=at + timedelta(seconds=16),
                    challenge="left" if k else "none",
                    status=status,
                    resolved_at=at + timedelta(seconds=3),
                    process_id="p1",
                )
                s.add(prompt)
                await s.flush()
                s.add(
                    Check(
                        prompt_id=prompt.id,
                        lesson_id=lesson.id,
                        student_id=student.id,
                        received_at=at + timedelta(seconds=2 + n),
                        outcome=outcome,
                        face_count=1 - k,
                        score=0.9 - 0.1 * n if not k else None,
                        yaw=3.5 + n,
                        pitch=-2.0 - n,
                        brightness=120.0 + n,
                        sharpness=40.0 + n,
                        frame_sha256=f"{n}{k}" * 32,
                        detector_version=f"blaze-short-{n}",
                    )
                )
    return Made(lesson.id, course.id, [u.id for u in students])
