"""Room and namespace names, and the one place that sends events to sockets.

Every event leaves through :class:`SocketEmitter`, which also decides whether an event may
skip the message queue. With several processes (a Redis client manager), an emit normally goes
to every process, each delivering to its own members of the room. Events whose recipients are
surely on this process skip that round trip (``ignore_queue``):

- a student's prompts and verdicts: the process that holds a student's connection issues,
  times and judges their prompts;
- a roster for one tutor socket, which is here;
- "lesson ended", which each process tells its own sockets, so it always arrives before the
  socket closes.

Tutors' attendance updates go through the queue: a tutor may be connected to another process;
so do reviews and contests (``review``), which arrive over HTTP at any process.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import socketio

from realtime import payloads
from realtime.rules import Track

STUDENT_NS = "/student"
TUTOR_NS = "/tutor"


def students_room(lesson_id: uuid.UUID) -> str:
    return f"lesson:{lesson_id}:students"


def student_room(lesson_id: uuid.UUID, student_id: str) -> str:
    return f"lesson:{lesson_id}:student:{student_id}"


def tutors_room(lesson_id: uuid.UUID) -> str:
    return f"lesson:{lesson_id}:tutors"


class Emitter(Protocol):
    """What the hub's parts send; :class:`SocketEmitter` sends it, tests record it."""

    async def to_student(
        self, lesson_id: uuid.UUID, student_id: str, event: str, payload: dict[str, Any]
    ) -> None: ...

    async def to_sid(self, sid: str, namespace: str, event: str, payload: dict[str, Any]) -> None:
        """To one socket of this process."""

    async def attendance(self, lesson_id: uuid.UUID, track: Track) -> None:
        """A student's state, to the lesson's tutors on every process."""

    async def lesson_ended(self, lesson_id: uuid.UUID) -> None:
        """To this process's students and tutors of the lesson."""

    async def review_changed(
        self, lesson_id: uuid.UUID, student_id: str, payload: dict[str, Any]
    ) -> None:
        """A prompt's review or contest, to the lesson's tutors and the student, on every
        process."""

    async def join_student(self, sid: str, lesson_id: uuid.UUID, student_id: str) -> None: ...

    async def join_tutor(self, sid: str, lesson_id: uuid.UUID) -> None: ...

    async def disconnect(self, sid: str, namespace: str) -> None:
        """Close one socket of this process."""


class SocketEmitter:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def to_student(
        self, lesson_id: uuid.UUID, student_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        await self.sio.emit(
            event,
            payload,
            room=student_room(lesson_id, student_id),
            namespace=STUDENT_NS,
            ignore_queue=True,
        )

    async def to_sid(self, sid: str, namespace: str, event: str, payload: dict[str, Any]) -> None:
        await self.sio.emit(event, payload, to=sid, namespace=namespace, ignore_queue=True)

    async def attendance(self, lesson_id: uuid.UUID, track: Track) -> None:
        await self.sio.emit(
            "attendance",
            payloads.student_state(track),
            room=tutors_room(lesson_id),
            namespace=TUTOR_NS,
        )

    async def lesson_ended(self, lesson_id: uuid.UUID) -> None:
        message = {"lesson_id": str(lesson_id)}
        await self.sio.emit(
            "lesson_ended",
            message,
            room=students_room(lesson_id),
            namespace=STUDENT_NS,
            ignore_queue=True,
        )
        await self.sio.emit(
            "lesson_ended",
            message,
            room=tutors_room(lesson_id),
            namespace=TUTOR_NS,
            ignore_queue=True,
        )

    async def review_changed(
        self, lesson_id: uuid.UUID, student_id: str, payload: dict[str, Any]
    ) -> None:
        # Through the queue: the change is made over HTTP, on any process.
        await self.sio.emit("review", payload, room=tutors_room(lesson_id), namespace=TUTOR_NS)
        await self.sio.emit(
            "review", payload, room=student_room(lesson_id, student_id), namespace=STUDENT_NS
        )

    async def join_student(self, sid: str, lesson_id: uuid.UUID, student_id: str) -> None:
        await self.sio.enter_room(sid, students_room(lesson_id), namespace=STUDENT_NS)
        await self.sio.enter_room(sid, student_room(lesson_id, student_id), namespace=STUDENT_NS)

    async def join_tutor(self, sid: str, lesson_id: uuid.UUID) -> None:
        await self.sio.enter_room(sid, tutors_room(lesson_id), namespace=TUTOR_NS)

    async def disconnect(self, sid: str, namespace: str) -> None:
        await self.sio.disconnect(sid, namespace=namespace, ignore_queue=True)
