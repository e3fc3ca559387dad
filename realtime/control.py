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
========================  ================================================  ==================
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
from realtime.checks import CheckNow
from realtime.clock import Clock
from realtime.cluster import Bus
from realtime.connections import Connections
from realtime.emitter import STUDENT_NS, TUTOR_NS, Emitter
from realtime.errors import PayloadError
from realtime.live import LiveLesson, LiveLessons
from storage import repositories as repo
from storage.batch import GroupCommit
from storage.db import Sessions

logger = logging.getLogger(__name__)

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
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._commits = commits
        self._bus = bus
        self._lessons = lessons
        self._connections = connections
        self._checks = checks
        self._emitter = emitter
        self.bus_handlers: dict[str, BusHandler] = {
            "check_now": self._check_here,
            "states": self._states_here,
            "end": self._end_here,
            "disconnect_user": self._disconnect_here,
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
        return {"issued": issued}

    async def _course_of(self, s: AsyncSession, live: LiveLesson) -> uuid.UUID:
        lesson = await repo.get_lesson(s, lesson_id=live.lesson_id)
        assert lesson is not None
        return lesson.course_id

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
        return True

    async def disconnect_user(self, user_id: uuid.UUID) -> int:
        """Close every connection of a user (disabled or deleted), on every process."""
        answers = await self._bus.ask("disconnect_user", {"user_id": str(user_id)})
        return sum(a for a in answers if isinstance(a, int))

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

    async def _disconnect_here(self, payload: dict[str, Any]) -> int:
        mine = self._connections.of_user(uuid.UUID(payload["user_id"]))
        for conn in mine:
            namespace = STUDENT_NS if conn.is_student else TUTOR_NS
            await self._emitter.disconnect(conn.sid, namespace)
        return len(mine)
