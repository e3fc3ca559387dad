"""A live lesson as this process holds it: the rules' classroom plus its timers.

Loaded from the database on the first connection to the lesson, so a process that restarts,
or a second process, starts from the recorded counts and open prompts.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtime.rules import Classroom, Counts, Policy, PromptStatus, Track
from storage import repositories as repo
from storage.models import Lesson


@dataclass(slots=True)
class LiveLesson:
    lesson_id: uuid.UUID
    classroom: Classroom
    # student id -> the timer that issues their next prompt
    next_prompt: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    # prompt id -> the timer that resolves it at its deadline
    deadlines: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    # students a "check everyone" will prompt in one of its next waves
    check_queued: set[str] = field(default_factory=set)

    def cancel_timers(self) -> None:
        for handle in (*self.next_prompt.values(), *self.deadlines.values()):
            handle.cancel()
        self.next_prompt.clear()
        self.deadlines.clear()


async def load_live_lesson(s: AsyncSession, lesson: Lesson, policy: Policy) -> LiveLesson:
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
    return LiveLesson(lesson_id=lesson.id, classroom=classroom)


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
