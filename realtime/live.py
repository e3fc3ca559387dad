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

from realtime.rules import Classroom, Counts, OpenPrompt, Policy, PromptStatus, Track
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

    def cancel_timers(self) -> None:
        for handle in (*self.next_prompt.values(), *self.deadlines.values()):
            handle.cancel()
        self.next_prompt.clear()
        self.deadlines.clear()


async def load_live_lesson(
    s: AsyncSession, lesson: Lesson, policy: Policy, now: datetime
) -> tuple[LiveLesson, list[str]]:
    """Build the classroom from the records.

    Returns the lesson and the ids of prompts whose deadline passed while no process held
    them (a restart): the caller resolves those as the deadline rules say.
    """
    classroom = Classroom(str(lesson.id), policy)
    students = await repo.enrolled_students(s, course_id=lesson.course_id)
    prompts = await repo.lesson_prompts(s, lesson_id=lesson.id)
    last = await repo.last_checks(s, lesson_id=lesson.id)

    by_student: dict[uuid.UUID, list[PromptStatus]] = {}
    open_prompts: dict[uuid.UUID, OpenPrompt] = {}
    last_status: dict[uuid.UUID, PromptStatus] = {}
    overdue: list[str] = []
    for prompt in prompts:
        by_student.setdefault(prompt.student_id, []).append(prompt.status)
        if prompt.status is PromptStatus.PENDING:
            open_prompts[prompt.student_id] = OpenPrompt(
                prompt_id=prompt.id,
                student_id=str(prompt.student_id),
                issued_at=prompt.issued_at,
                deadline=prompt.deadline,
                challenge=prompt.challenge,
                max_frames=policy.max_frames,
            )
            if prompt.deadline <= now:
                overdue.append(prompt.id)
        elif prompt.status is not PromptStatus.CANCELLED:
            last_status[prompt.student_id] = prompt.status

    for student in students:
        counts = Counts.from_statuses(by_student.get(student.id, []))
        last_outcome, last_at = last.get(student.id, (None, None))
        classroom.enrol(
            Track(
                student_id=str(student.id),
                name=student.name,
                counts=counts,
                open_prompt=open_prompts.get(student.id),
                last_status=last_status.get(student.id),
                last_outcome=last_outcome,
                last_check_at=last_at,
            )
        )
    live = LiveLesson(lesson_id=lesson.id, classroom=classroom)
    return live, overdue
