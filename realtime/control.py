"""Lesson control: what a tutor or an admin does to a whole lesson, and what processes ask
each other over the bus.

Each question on the bus (see ``realtime.cluster``) is answered by every process for what it
holds, from the table :attr:`LessonControl.bus_handlers`:

========================  ================================================  ==================
operation                 what this process does                            answers
========================  ================================================  ==================
``check_now``             prompts the lesson's students connected here      how many prompted
``states``                nothing                                           states of its
                                                                            connected students
``end``                   ends its part of the lesson (prompts, sockets)    whether it held it
``disconnect_user``       closes the user's sockets here                    how many
``enrolment_changed``     forgets the student's enrolment it read           0
``rights_changed``        re-checks the sockets of the user or course here  how many it closed
                          (``realtime.rights``) and closes those no longer
                          allowed
========================  ================================================  ==================

A tutor's request is checked against the caller's current right before it is carried out; a
socket found no longer allowed is closed, and the request refused.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from realtime import payloads
from realtime.admission import Admission
from realtime.checks import CheckNow
from realtime.clock import Clock, Timer
from realtime.cluster import Bus
from realtime.connections import Connection, Connections
from realtime.emitter import STUDENT_NS, TUTOR_NS, Emitter
from realtime.errors import PayloadError
from realtime.live import LiveLesson, LiveLessons
from realtime.rights import ACCESS_ENDED, Rights
from realtime.tasks import TaskSet
from storage import repositories as repo
from storage.batch import GroupCommit
from storage.db import Sessions
from storage.models import LessonStatus

logger = logging.getLogger(__name__)

# A refused request is answered, then its socket closed this long after.
CLOSE_AFTER_S = 0.2

BusHandler = Callable[[dict[str, Any]], Awaitable[Any]]


class LessonControl:
    def __init__(
        self,
        *,
        clock: Clock,
        sessions: Sessions,
        commits: GroupCommit,
        bus: Bus,
        lessons: LiveLessons,
        connections: Connections,
        checks: CheckNow,
        emitter: Emitter,
        rights: Rights,
        tasks: TaskSet,
        admission: Admission,
        on_ended: Callable[[uuid.UUID], Awaitable[None]] | None = None,
        expiry_sweep_s: float = 1.0,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._commits = commits
        self._bus = bus
        self._lessons = lessons
        self._connections = connections
        self._checks = checks
        self._emitter = emitter
        self._rights = rights
        self._tasks = tasks
        self._admission = admission
        self._on_ended = on_ended
        self._expiry_sweep_s = expiry_sweep_s
        self._sweep: Timer | None = None
        self.bus_handlers: dict[str, BusHandler] = {
            "check_now": self._check_here,
            "states": self._states_here,
            "end": self._end_here,
            "disconnect_user": self._disconnect_here,
            "rights_changed": self._recheck_here,
            "enrolment_changed": self._forget_enrolment_here,
        }

    async def on_bus(self, op: str, payload: dict[str, Any]) -> Any:
        handler = self.bus_handlers.get(op)
        if handler is None:
            raise ValueError(f"unknown bus operation {op!r}")
        return await handler(payload)

    # -- a tutor's requests ---------------------------------------------------------------

    async def check_now(self, sid: str, data: Any) -> dict[str, Any]:
        """Prompt one student (``{student_id}``) or everyone (``{}``) on every process."""
        conn = self._connections.get(sid)
        live = self._lessons.get(conn.lesson_id) if conn else None
        if conn is None or live is None:
            return {"issued": 0, "error": "not connected to a lesson"}
        if await self._refused(conn):
            return {"issued": 0, "error": ACCESS_ENDED}
        try:
            target = payloads.check_now_target(data)
        except PayloadError as exc:
            return {"issued": 0, "error": str(exc)}
        if target is not None and str(target) not in live.classroom.tracks:
            async with self._sessions() as s:
                enrolled = await repo.is_enrolled(
                    s, course_id=await self._course_of(s, live), student_id=target
                )
            if not enrolled:
                return {"issued": 0, "error": "student_id: not enrolled in this lesson"}
        answers = await self._bus.ask(
            "check_now",
            {"lesson_id": str(live.lesson_id), "student_id": str(target) if target else None},
        )
        issued = sum(a for a in answers if isinstance(a, int))
        async with self._sessions() as s, s.begin():
            await repo.audit(
                s,
                actor_id=conn.user_id,
                action="lesson.check_now",
                target_type="lesson",
                target_id=str(live.lesson_id),
                detail={"student_id": str(target) if target else None, "issued": issued},
            )
        if answers.unreachable:  # some students are on a process that cannot be reached now
            return {"issued": issued, "unreachable": True}
        return {"issued": issued}

    async def _course_of(self, s: AsyncSession, live: LiveLesson) -> uuid.UUID:
        lesson = await repo.get_lesson(s, lesson_id=live.lesson_id)
        assert lesson is not None
        return lesson.course_id

    async def end_by(self, sid: str) -> dict[str, Any]:
        """A tutor's ``end_lesson``: their lesson ends if they may still end it."""
        conn = self._connections.get(sid)
        if conn is None:
            return {"ok": False, "error": "not connected to a lesson"}
        if await self._refused(conn):
            return {"ok": False, "error": ACCESS_ENDED}
        await self.end_lesson(conn.lesson_id, actor_id=conn.user_id)
        return {"ok": True}

    async def _refused(self, conn: Connection) -> bool:
        """Re-check the caller's right now; close their socket when it is gone."""
        why = await self._rights.refusal(conn)
        if why is None:
            return False
        logger.info(
            "%s %s may no longer act in lesson %s (%s): closing sid %s",
            conn.role,
            conn.user_id,
            conn.lesson_id,
            why,
            conn.sid,
        )
        conn.revoked = True
        # Closed a moment later, so that the refusal's answer reaches the client first.
        self._tasks.spawn(self._close(conn, after_s=CLOSE_AFTER_S), f"revoked-{conn.sid}")
        return True

    async def _close(self, conn: Connection, after_s: float = 0.0) -> None:
        conn.revoked = True
        if after_s:
            await self._clock.sleep(after_s)
        await self._emitter.disconnect(conn.sid, STUDENT_NS if conn.is_student else TUTOR_NS)

    async def end_lesson(self, lesson_id: uuid.UUID, actor_id: uuid.UUID) -> bool:
        """End a live lesson: cancel open prompts, tell everyone, close student sockets."""
        now = self._clock.now()
        async with self._sessions() as s, s.begin():
            ended = await repo.end_lesson(s, lesson_id=lesson_id, at=now)
            if ended:
                await repo.audit(
                    s,
                    actor_id=actor_id,
                    action="lesson.end",
                    target_type="lesson",
                    target_id=str(lesson_id),
                )
        answers = await self._bus.ask("end", {"lesson_id": str(lesson_id)})
        async with self._sessions() as s, s.begin():
            # Whatever no process answered for (one that stopped meanwhile) is cancelled too.
            await repo.cancel_lesson_prompts(s, lesson_id=lesson_id, at=now)
        if not ended and not any(answers):
            return False
        logger.info("lesson %s ended by %s", lesson_id, actor_id)
        if self._on_ended is not None:
            # Its records are sealed now (records.sealer), not at the next interval.
            await self._on_ended(lesson_id)
        return True

    async def rights_changed(
        self, *, user_id: uuid.UUID | None = None, course_id: uuid.UUID | None = None
    ) -> int:
        """After a user's or a course's rights changed: on every process, re-check the sockets
        concerned and close those no longer allowed; how many were closed."""
        answers = await self._bus.ask(
            "rights_changed",
            {
                "user_id": str(user_id) if user_id else None,
                "course_id": str(course_id) if course_id else None,
            },
        )
        return sum(a for a in answers if isinstance(a, int))

    async def enrolment_changed(self, student_id: uuid.UUID) -> None:
        """A student's face enrolment was made, decided or erased: every process reads it
        afresh at their next comparison."""
        await self._bus.ask("enrolment_changed", {"student_id": str(student_id)})

    async def _forget_enrolment_here(self, payload: dict[str, Any]) -> int:
        for live in self._lessons:
            live.enrolled.pop(payload["student_id"], None)
        return 0

    async def disconnect_user(self, user_id: uuid.UUID) -> int:
        """Close every connection of a user (disabled or deleted), on every process."""
        answers = await self._bus.ask("disconnect_user", {"user_id": str(user_id)})
        return sum(a for a in answers if isinstance(a, int))

    async def queue_changed(self, reachable: bool) -> None:
        """The message queue was lost (tell this process's tutors that students on other
        processes may be out of date) or is back (send them their class afresh, and end here
        the lessons that were ended meanwhile)."""
        lessons = list(self._lessons)
        if reachable and lessons:
            async with self._sessions() as s:
                found = [await repo.get_lesson(s, lesson_id=live.lesson_id) for live in lessons]
            for lesson in found:
                if lesson is not None and lesson.status is LessonStatus.ENDED:
                    await self._end_here({"lesson_id": str(lesson.id)})
        for conn in self._connections:
            if conn.is_student:
                continue
            await self._emitter.to_sid(conn.sid, TUTOR_NS, "cluster", {"reachable": reachable})
            if reachable and (live := self._lessons.get(conn.lesson_id)) is not None:
                self._tasks.spawn(self._admission.send_roster(conn.sid, live), f"roster-{conn.sid}")

    # -- what this process answers ----------------------------------------------------------

    async def _check_here(self, payload: dict[str, Any]) -> int:
        live = self._lessons.get(uuid.UUID(payload["lesson_id"]))
        return await self._checks.here(live, payload.get("student_id")) if live else 0

    async def _states_here(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        lesson_id = uuid.UUID(payload["lesson_id"])
        live = self._lessons.get(lesson_id)
        if live is None:
            return []
        here = {str(c.user_id) for c in self._connections.students_in(lesson_id)}
        return [payloads.student_state(live.classroom.track(sid)) for sid in here]

    async def _end_here(self, payload: dict[str, Any]) -> bool:
        """End this process's part of a lesson: its prompts, timers and connections."""
        lesson_id = uuid.UUID(payload["lesson_id"])
        live = self._lessons.pop(lesson_id)
        now = self._clock.now()
        if live is not None:
            live.cancel_timers()
            # The prompts open here, in one statement (not those resolved but still being
            # written: their verdicts stand).
            open_here = [r.prompt_id for r in live.classroom.end(now)]
            if open_here:

                async def write(s: AsyncSession) -> None:
                    await repo.resolve_prompts(
                        s, prompt_ids=open_here, status=PromptStatus.CANCELLED, at=now
                    )

                await self._commits.run(write)
        await self._emitter.lesson_ended(lesson_id)
        students = [c.sid for c in self._connections.students_in(lesson_id)]
        # Together: each closes a presence interval, and those writes then share transactions.
        await asyncio.gather(*(self._emitter.disconnect(sid, STUDENT_NS) for sid in students))
        return live is not None

    async def _recheck_here(self, payload: dict[str, Any]) -> int:
        course_id = uuid.UUID(payload["course_id"]) if payload.get("course_id") else None
        self._rights.forget(course_id)
        concerned: list[Connection] = []
        if payload.get("user_id"):
            # One person's right changed (in that course, or everywhere): their sockets only.
            concerned = self._connections.of_user(uuid.UUID(payload["user_id"]))
        elif course_id is not None:
            lessons = {live.lesson_id for live in self._lessons if live.course_id == course_id}
            concerned = self._connections.in_lessons(lessons)
        closed = 0
        for conn in concerned:
            if await self._refused(conn):
                closed += 1
        return closed

    def start_expiry_sweep(self) -> None:
        """Close, every few seconds, the sockets whose token has expired."""
        self._sweep = self._clock.call_later(self._expiry_sweep_s, self._sweep_expired)

    def stop_expiry_sweep(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def _sweep_expired(self) -> None:
        for conn in self._connections:
            if not conn.revoked and self._rights.expired(conn):
                logger.info("token of sid %s (user %s) expired: closing", conn.sid, conn.user_id)
                conn.revoked = True
                self._tasks.spawn(self._close(conn), f"expired-{conn.sid}")
        self.start_expiry_sweep()

    async def _disconnect_here(self, payload: dict[str, Any]) -> int:
        mine = self._connections.of_user(uuid.UUID(payload["user_id"]))
        for conn in mine:
            namespace = STUDENT_NS if conn.is_student else TUTOR_NS
            await self._emitter.disconnect(conn.sid, namespace)
        return len(mine)
