"""Rights of live connections: whether each socket may still do what it was admitted for.

A socket is admitted once (``realtime.admission``), but rights change while it is open: a
course moves to another tutor, a student is unenrolled, a user is demoted, disabled, or signs
out everywhere, a token expires. So:

- a tutor's actions (check now, end the lesson) re-check the caller's right at call time,
  against the database, with the lesson's tutor and enrolments cached per lesson;
- a student's frames and camera changes (the hot path) are refused once the connection has been
  found revoked, its token has expired, or the lesson's cached enrolments no longer hold them
  (a database read only when that cache was dropped by a change);
- a change of rights is announced over the bus (``rights_changed``); every process forgets what
  it cached for that course, re-checks the affected connections it holds, and closes those no
  longer allowed;
- a sweep closes sockets whose token has expired; the page then signs in again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from realtime.clock import Clock
from realtime.connections import Connection
from storage import repositories as repo
from storage.access import token_user
from storage.db import Sessions
from storage.models import Role, User

logger = logging.getLogger(__name__)

TOKEN_EXPIRED = "token_expired"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_ENROLLED = "not_enrolled"
GONE = "lesson_gone"
ACCESS_ENDED = "your access to this lesson has ended; sign in again"


@dataclass(frozen=True, slots=True)
class LessonAccess:
    """Who may be in one lesson: its course's tutor and enrolled students."""

    course_id: uuid.UUID
    tutor_id: uuid.UUID
    enrolled: frozenset[uuid.UUID]


def role_refusal(user: User, conn_is_student: bool, access: LessonAccess) -> str | None:
    """Why a user may not take this connection's part in this lesson."""
    if conn_is_student:
        if user.role is not Role.STUDENT:
            return FORBIDDEN
        if user.id not in access.enrolled:
            return NOT_ENROLLED
        return None
    if user.role is Role.ADMIN or (user.role is Role.TUTOR and access.tutor_id == user.id):
        return None
    return FORBIDDEN


class Rights:
    def __init__(self, *, clock: Clock, sessions: Sessions) -> None:
        self._clock = clock
        self._sessions = sessions
        self._lessons: dict[uuid.UUID, LessonAccess] = {}

    def expired(self, conn: Connection) -> bool:
        return conn.expires_at is not None and conn.expires_at <= self._clock.now()

    async def may_send(self, conn: Connection) -> bool:
        """For a student's frames and camera changes: not revoked, not expired, and still
        enrolled by the lesson's cached enrolments (read again only after a change)."""
        if conn.revoked or self.expired(conn):
            return False
        access = self._lessons.get(conn.lesson_id)
        if access is None:
            async with self._sessions() as s:
                access = await self._access(s, conn.lesson_id)
        return access is not None and conn.user_id in access.enrolled

    def remember(self, lesson_id: uuid.UUID, access: LessonAccess) -> None:
        self._lessons[lesson_id] = access

    async def refusal(self, conn: Connection) -> str | None:
        """Why this connection may no longer act (None: it may), read now from the database
        (the lesson's tutor and enrolments from the cache)."""
        if conn.revoked:
            return UNAUTHORIZED
        if self.expired(conn):
            return TOKEN_EXPIRED
        async with self._sessions() as s:
            if conn.token_version is None or conn.token_id is None:
                user = await repo.get_user(s, user_id=conn.user_id)
                user = None if user is None or user.disabled else user
            else:
                # Signed out, replaced (a new password, role), disabled or deleted: refused.
                user = await token_user(
                    s, user_id=conn.user_id, version=conn.token_version, token_id=conn.token_id
                )
            if user is None:
                return UNAUTHORIZED
            access = await self._access(s, conn.lesson_id)
        if access is None:
            return GONE
        return role_refusal(user, conn.is_student, access)

    async def _access(self, s: AsyncSession, lesson_id: uuid.UUID) -> LessonAccess | None:
        if (cached := self._lessons.get(lesson_id)) is not None:
            return cached
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        if found is None:
            return None
        _lesson, course = found
        enrolled = await repo.enrolled_student_ids(s, course_id=course.id)
        access = LessonAccess(course.id, course.tutor_id, frozenset(enrolled))
        self._lessons[lesson_id] = access
        return access

    def lessons_of_course(self, course_id: uuid.UUID) -> set[uuid.UUID]:
        return {lid for lid, a in self._lessons.items() if a.course_id == course_id}

    def forget(self, course_id: uuid.UUID | None = None) -> None:
        """Drop what was cached about a course's lessons (all courses when None)."""
        if course_id is None:
            self._lessons.clear()
            return
        for lesson_id in self.lessons_of_course(course_id):
            del self._lessons[lesson_id]
