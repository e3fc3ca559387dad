"""`trust-lesson demo`: a tutor, three students, a course and a live lesson to try things on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.schemas import PolicyIn
from server.security import hash_password
from storage import repositories as repo
from storage.db import Sessions
from storage.models import LessonStatus, Role, User
from storage.startup import once, one_at_a_time
from storage.types import utcnow

DEMO_PASSWORD = "demo-password"
ADMIN = ("admin@demo.test", "Demo Admin")
TUTOR = ("tutor@demo.test", "Tess Tutor")
STUDENTS = (
    ("ada@demo.test", "Ada Student"),
    ("ben@demo.test", "Ben Student"),
    ("cleo@demo.test", "Cleo Student"),
)
# Livelier than the production defaults, so a person trying the demo sees prompts soon.
DEMO_POLICY = PolicyIn(
    interval_min_s=20, interval_max_s=45, first_prompt_min_s=3, first_prompt_max_s=8
)


async def other_users(s: AsyncSession) -> int:
    """How many users the database holds beside the demo's own."""
    emails = [ADMIN[0], TUTOR[0], *(email for email, _ in STUDENTS)]
    found = await s.scalar(select(func.count()).select_from(User).where(User.email.not_in(emails)))
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class Demo:
    lesson_id: str
    course_id: str
    created: bool


async def seed(sessions: Sessions) -> Demo:
    """Create the demo records (idempotent: an existing demo is reused)."""
    password_hash = await hash_password(DEMO_PASSWORD)
    # Several processes seeding at once: one writes, the others find its demo.
    return await once(sessions, lambda s: _seed(s, password_hash), "seeding the demo")


async def _seed(s: AsyncSession, password_hash: str) -> Demo:
    await one_at_a_time(s, "seeding the demo")
    tutor = await repo.get_user_by_email(s, email=TUTOR[0])
    if tutor is not None:
        lesson = await repo.demo_lesson(s, tutor_id=tutor.id)
        if lesson is not None:
            return Demo(str(lesson.id), str(lesson.course_id), created=False)
    users = {}
    for (email, name), role in [
        (ADMIN, Role.ADMIN),
        (TUTOR, Role.TUTOR),
        *[(student, Role.STUDENT) for student in STUDENTS],
    ]:
        user = await repo.get_user_by_email(s, email=email)
        if user is None:
            user = await repo.add_user(
                s, email=email, name=name, role=role, password_hash=password_hash
            )
        users[email] = user
    course = await repo.add_course(
        s,
        title="Defensive Driving — theory",
        tutor_id=users[TUTOR[0]].id,
        policy=DEMO_POLICY.model_dump(),
    )
    await repo.add_enrolments(
        s, course_id=course.id, student_ids=[users[email].id for email, _ in STUDENTS]
    )
    now = utcnow()
    lesson = await repo.add_lesson(
        s,
        course_id=course.id,
        title="Lesson 1: hazard perception",
        scheduled_start=now,
        scheduled_end=now + timedelta(hours=2),
    )
    lesson.status = LessonStatus.LIVE
    lesson.started_at = now
    return Demo(str(lesson.id), str(course.id), created=True)


def describe(demo: Demo, public_url: str) -> str:
    base = public_url.rstrip("/")
    students = "\n".join(f"    {email:<22} {name} (student)" for email, name in STUDENTS)
    return f"""\
Trust Lesson Live demo {"created" if demo.created else "(already there)"}
  Open two browser windows (each keeps its own sign-in; the camera works on 127.0.0.1,
  localhost or HTTPS):
    tutor dashboard: {base}/tutor/lessons/{demo.lesson_id}   sign in as {TUTOR[0]}
    student page:    {base}/student/lessons/{demo.lesson_id} sign in as {STUDENTS[0][0]}
  sign-in page:      {base}/
  lesson:  {demo.lesson_id}  (live)
  course:  {demo.course_id}
  API:     {base}/api  (docs: {base}/api/docs, health: {base}/api/health)
  sockets: {base}/socket.io/  namespaces /student and /tutor,
           auth {{"token": <access_token>, "lesson_id": "{demo.lesson_id}"}}
  logins (password for all: {DEMO_PASSWORD}):
    {ADMIN[0]:<22} {ADMIN[1]} (admin)
    {TUTOR[0]:<22} {TUTOR[1]} (tutor)
{students}
"""
