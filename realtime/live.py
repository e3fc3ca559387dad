"""A live lesson as this process holds it: the rules' classroom plus its timers.

Loaded from the database on the first connection to the lesson (once, however many join at
that moment), so a process that restarts, or a second process, starts from the recorded counts
and open prompts.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.attendance import Counts
from domain.policy import Policy
from domain.statuses import PromptStatus
from identity.flow import Enrolled
from identity.policy import IdentityPolicy
from realtime.clock import Timer
from realtime.rules import Classroom, Track
from storage import repositories as repo
from storage.db import Sessions
from storage.models import Lesson

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class LiveLesson:
    lesson_id: uuid.UUID
    classroom: Classroom
    course_id: uuid.UUID | None = None
    identity: IdentityPolicy = field(default_factory=IdentityPolicy)
    """Which of the lesson's prompts compare faces (the course's policy)."""
    # student id -> their enrolled face, read when they join here
    enrolled: dict[str, Enrolled] = field(default_factory=dict)
    # student id -> the timer that issues their next prompt
    next_prompt: dict[str, Timer] = field(default_factory=dict)
    # prompt id -> the timer that resolves it at its deadline
    deadlines: dict[str, Timer] = field(default_factory=dict)
    # students a "check everyone" will prompt in one of its next waves
    check_queued: set[str] = field(default_factory=set)

    def cancel_timers(self) -> None:
        for handle in (*self.next_prompt.values(), *self.deadlines.values()):
            handle.cancel()
        self.next_prompt.clear()
        self.deadlines.clear()


async def load_live_lesson(
    s: AsyncSession, lesson: Lesson, policy: Policy, identity: IdentityPolicy | None = None
) -> LiveLesson:
    """Build the classroom from the records.

    Open prompts are not taken over: each belongs to the process that issued it, which times
    its deadline. Those left by a process that died are cancelled (see realtime.cluster), and
    the student is prompted afresh by the process they reconnect to.
    """
    classroom = Classroom(str(lesson.id), policy)
    students = await repo.enrolled_students(s, course_id=lesson.course_id)
    histories = await lesson_histories(s, lesson.id)
    for student in students:
        classroom.enrol(Track(student_id=str(student.id), name=student.name))
        histories.get(student.id, History()).apply(classroom.track(str(student.id)))
    return LiveLesson(
        lesson_id=lesson.id,
        classroom=classroom,
        course_id=lesson.course_id,
        identity=identity or IdentityPolicy(),
    )


class LiveLessons:
    """The live lessons this process holds, each loaded once even under concurrent joins."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._lessons: dict[uuid.UUID, LiveLesson] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[LiveLesson]] = {}

    def get(self, lesson_id: uuid.UUID) -> LiveLesson | None:
        return self._lessons.get(lesson_id)

    def pop(self, lesson_id: uuid.UUID) -> LiveLesson | None:
        return self._lessons.pop(lesson_id, None)

    def __iter__(self) -> Iterator[LiveLesson]:
        return iter(list(self._lessons.values()))

    def clear(self) -> None:
        self._lessons.clear()

    async def load(self, lesson_id: uuid.UUID) -> LiveLesson:
        """This process's state of a live lesson, loading it on first use."""
        if (live := self._lessons.get(lesson_id)) is not None:
            return live
        if (pending := self._loading.get(lesson_id)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[LiveLesson] = asyncio.get_running_loop().create_future()
        self._loading[lesson_id] = future
        try:
            live = await self._read(lesson_id)
            self._lessons[lesson_id] = live
            future.set_result(live)
            return live
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a failure with no waiter is not reported
            raise
        finally:
            del self._loading[lesson_id]

    async def _read(self, lesson_id: uuid.UUID) -> LiveLesson:
        async with self._sessions() as s:
            found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
            assert found is not None
            lesson, course = found
            live = await load_live_lesson(
                s,
                lesson,
                Policy.from_stored(course.policy),
                IdentityPolicy.from_stored(course.policy),
            )
        logger.info("lesson %s loaded: %d students", lesson_id, len(live.classroom.tracks))
        return live


@dataclass(slots=True)
class History:
    """What the records say about one student in a lesson, whoever wrote them."""

    statuses: list[PromptStatus] = field(default_factory=list)
    last_status: PromptStatus | None = None
    last_outcome: str | None = None
    last_check_at: datetime | None = None

    def apply(self, track: Track) -> None:
        """Bring a track up to the records, unless the student is connected to this process
        (then this process writes their records, and its own state is the newer)."""
        if track.open_prompt is not None or track.connected:
            return
        track.counts = Counts.from_statuses(self.statuses)
        track.last_status = self.last_status
        track.last_outcome = self.last_outcome
        track.last_check_at = self.last_check_at


async def lesson_histories(
    s: AsyncSession, lesson_id: uuid.UUID, student_id: uuid.UUID | None = None
) -> dict[uuid.UUID, History]:
    prompts = await repo.lesson_prompts(s, lesson_id=lesson_id, student_id=student_id)
    last = await repo.last_checks(s, lesson_id=lesson_id, student_id=student_id)
    histories: dict[uuid.UUID, History] = {}
    for prompt in prompts:  # in the order issued
        history = histories.setdefault(prompt.student_id, History())
        history.statuses.append(prompt.status)
        if prompt.status not in (PromptStatus.PENDING, PromptStatus.CANCELLED):
            history.last_status = prompt.status
    for sid, (outcome, at) in last.items():
        history = histories.setdefault(sid, History())
        history.last_outcome, history.last_check_at = outcome, at
    return histories
