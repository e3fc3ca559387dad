"""The lesson hub: the one object the Socket.IO namespaces and the app talk to.

The namespaces (``realtime.namespaces``) receive each event and hand it here with its raw
payload; the part that handles it validates the payload (``realtime.payloads``), asks the
classroom rules (``realtime.rules``) what happens, persists the decision and emits it. The hub
itself only builds the parts, in :meth:`LessonHub.start`, and forwards to them:

==========================  =================================================================
``realtime.emitter``        room names, and every emit (which events skip the message queue)
``realtime.connections``    this process's connections and their rate-limit buckets
``realtime.live``           each live lesson, loaded once per process
``realtime.prompting``      prompt timers, issuing, resending and resolving prompts
``realtime.frames``         a capture: judging, evidence, the frames in flight
``realtime.checks``         "check now", in waves the vision pool can take
``realtime.admission``      authenticating, joining, catching up, leaving, the camera state
``realtime.control``        ending a lesson, closing a user's sockets, the bus's questions
==========================  =================================================================

Each part imports only parts above it in this table (and the clock, the task set and the
domain). Time comes from a :class:`~realtime.clock.Clock`, so the parts are unit-tested with a
fake clock and a recording emitter (``tests/realtime/test_hub_parts.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import socketio

from identity.pool import IdentityPool
from realtime.admission import Admission, TokenDecoder
from realtime.checks import DEFAULT_WAVES, CheckNow, WaveTuning
from realtime.clock import Clock, LoopClock
from realtime.cluster import Bus, LocalBus
from realtime.connections import DEFAULT_BUCKET, Bucket, Connection, Connections
from realtime.control import LessonControl
from realtime.emitter import Emitter, SocketEmitter
from realtime.errors import HubNotStarted, Refused
from realtime.events import HubEvents, NoEvents
from realtime.faces import FaceChecks, TemplateOpener
from realtime.frames import Frames
from realtime.live import LiveLesson, LiveLessons
from realtime.outbox import Outbox
from realtime.prompting import Prompter
from realtime.rights import Rights
from realtime.tasks import TaskSet
from storage import repositories as repo
from storage.batch import GroupCommit
from storage.db import Sessions
from vision import Vision

logger = logging.getLogger(__name__)


class LessonHub:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        clock: Clock | None = None,
        emitter: Emitter | None = None,
        waves: WaveTuning = DEFAULT_WAVES,
        bucket: Bucket = DEFAULT_BUCKET,
    ) -> None:
        self.sio = sio
        self.clock: Clock = clock or LoopClock()
        self.emitter: Emitter = emitter or SocketEmitter(sio)
        self.waves = waves
        self.bucket = bucket
        self.draining = False
        self.process_id = "local"
        self.bus: Bus = LocalBus()
        self.events: HubEvents = NoEvents()
        self.tasks = TaskSet()
        self.connections = Connections(self.clock)
        self._parts: _Parts | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(
        self,
        *,
        sessions: Sessions,
        vision: Vision,
        tokens: TokenDecoder,
        events: HubEvents | None = None,
        process_id: str = "local",
        bus: Bus | None = None,
        stale_after_s: float = 15.0,
        db_wait_s: float = 5.0,
        identity: IdentityPool | None = None,
        face_cipher: TemplateOpener | None = None,
        on_lesson_ended: Callable[[uuid.UUID], Awaitable[None]] | None = None,
    ) -> None:
        """``identity`` and ``face_cipher``: the face comparison's workers and the key of the
        templates; without them every prompt is presence only."""
        self.events = events or NoEvents()
        self.process_id = process_id
        self.bus = bus or LocalBus()
        commits = GroupCommit(sessions)
        outbox = Outbox(commits, wait_s=db_wait_s)
        lessons = LiveLessons(sessions)
        rights = Rights(clock=self.clock, sessions=sessions)
        faces = FaceChecks(sessions=sessions, pool=identity, cipher=face_cipher)
        prompter = Prompter(
            clock=self.clock,
            emitter=self.emitter,
            commits=commits,
            outbox=outbox,
            tasks=self.tasks,
            events=self.events,
            process_id=process_id,
            busy=lambda: vision.pending >= max(1, vision.max_pending * 3 // 4),
        )
        frames = Frames(
            clock=self.clock,
            connections=self.connections,
            lessons=lessons,
            prompter=prompter,
            emitter=self.emitter,
            outbox=outbox,
            vision=vision,
            events=self.events,
            tasks=self.tasks,
            rights=rights,
            faces=faces,
        )
        checks = CheckNow(
            clock=self.clock,
            prompter=prompter,
            tasks=self.tasks,
            vision_capacity=vision.max_pending,
            stopping=lambda: self.draining,
            tuning=self.waves,
        )
        admission = Admission(
            clock=self.clock,
            sessions=sessions,
            commits=commits,
            outbox=outbox,
            tokens=tokens,
            lessons=lessons,
            connections=self.connections,
            prompter=prompter,
            emitter=self.emitter,
            bus=self.bus,
            tasks=self.tasks,
            process_id=process_id,
            stale_after=timedelta(seconds=stale_after_s),
            rights=rights,
            faces=faces,
            bucket=self.bucket,
        )
        control = LessonControl(
            clock=self.clock,
            sessions=sessions,
            commits=commits,
            bus=self.bus,
            lessons=lessons,
            connections=self.connections,
            checks=checks,
            emitter=self.emitter,
            rights=rights,
            tasks=self.tasks,
            admission=admission,
            on_ended=on_lesson_ended,
        )
        self._parts = _Parts(
            sessions,
            vision,
            commits,
            outbox,
            lessons,
            prompter,
            frames,
            checks,
            admission,
            control,
            rights,
        )
        await self.bus.start(control.on_bus, self.queue_changed)
        control.start_expiry_sweep()

    @property
    def parts(self) -> _Parts:
        if self._parts is None:
            raise HubNotStarted("LessonHub.start() was not called")
        return self._parts

    async def stop(self) -> None:
        """Stop timers, let running work finish, close this process's presence records and
        cancel the prompts it was timing (their students are prompted afresh wherever they
        reconnect)."""
        self.draining = True
        if self._parts is None:
            return
        parts = self._parts
        parts.control.stop_expiry_sweep()
        for live in parts.lessons:
            live.cancel_timers()
        await self.tasks.wait(timeout_s=10)
        await parts.outbox.flush(timeout_s=5)
        at = self.clock.now()
        async with parts.sessions() as s, s.begin():
            for presence_id in self.connections.presence_ids():
                await repo.close_presence(s, interval_id=presence_id, at=at)
            await repo.cancel_process_prompts(s, process_id=self.process_id, at=at)
        await self.bus.close()
        self.connections.clear()
        parts.lessons.clear()

    def begin_drain(self) -> None:
        """Refuse new connections from now on; frames being judged still get their answer."""
        self.draining = True

    async def drained(self, timeout_s: float) -> bool:
        """Wait until no frame is being judged; False if some still are after the timeout."""
        if self._parts is None:
            return True
        return await self._parts.frames.drained(timeout_s)

    @property
    def connection_counts(self) -> dict[str, int]:
        return self.connections.counts

    def connection(self, sid: str) -> Connection | None:
        return self.connections.get(sid)

    @property
    def outbox(self) -> Outbox:
        return self.parts.outbox

    @property
    def commits(self) -> GroupCommit:
        return self.parts.commits

    @property
    def sessions(self) -> Sessions:
        return self.parts.sessions

    @property
    def vision(self) -> Vision:
        return self.parts.vision

    # -- what the namespaces call -------------------------------------------------------------

    async def authenticate(self, auth: Any, namespace: str) -> tuple[Connection, LiveLesson]:
        """Check a new connection, or raise ``realtime.errors.Refused`` with a code."""
        if self.draining:
            # Before anything else (also before start()): a draining process takes no one.
            raise Refused("unavailable", "this server is restarting; reconnect in a moment")
        return await self.parts.admission.authenticate(auth, namespace)

    async def student_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.parts.admission.student_joined(sid, conn, live)

    async def tutor_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        await self.parts.admission.tutor_joined(sid, conn, live)

    async def left(self, sid: str) -> None:
        if self._parts is not None:
            await self._parts.admission.left(sid)

    async def capture(self, sid: str, data: Any) -> dict[str, Any]:
        return await self.parts.frames.capture(sid, data)

    async def camera(self, sid: str, data: Any) -> dict[str, Any]:
        return await self.parts.admission.camera(sid, data)

    async def check_now(self, sid: str, data: Any) -> dict[str, Any]:
        return await self.parts.control.check_now(sid, data)

    # -- what the app calls -------------------------------------------------------------------

    async def end_lesson(self, lesson_id: uuid.UUID, actor_id: uuid.UUID) -> bool:
        """End a live lesson on every process; False when it was not live anywhere."""
        return await self.parts.control.end_lesson(lesson_id, actor_id)

    async def queue_changed(self, reachable: bool) -> None:
        """The message queue was lost or is back (``realtime.cluster``, ``realtime.queue_link``)."""
        if self._parts is not None:
            await self._parts.control.queue_changed(reachable)

    def forget_rights(
        self, *, course_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> None:
        """This process only: drop the cached rights of a course's lessons (all when None);
        what was cached is read again at the next action. ``user_id`` is accepted for symmetry
        with :meth:`rights_changed`: users' rights are never cached."""
        del user_id
        if self._parts is not None:
            self._parts.rights.forget(course_id)

    async def end_lesson_by(self, sid: str) -> dict[str, Any]:
        """A tutor's ``end_lesson`` event, checked against their current right."""
        return await self.parts.control.end_by(sid)

    async def enrolment_changed(self, student_id: uuid.UUID) -> None:
        """A face enrolment was made, decided or erased (``server.routes.faces``)."""
        if self._parts is not None:
            await self._parts.control.enrolment_changed(student_id)

    async def disconnect_user(self, user_id: uuid.UUID) -> int:
        """Close every connection of a user (disabled or deleted), on every process."""
        return await self.parts.control.disconnect_user(user_id)

    async def review_changed(
        self, lesson_id: uuid.UUID, student_id: uuid.UUID, payload: dict[str, Any]
    ) -> None:
        """A prompt was reviewed or contested: tell the lesson's open dashboards and the
        student, whichever process they are on (works before :meth:`start` too)."""
        await self.emitter.review_changed(lesson_id, str(student_id), payload)

    async def rights_changed(
        self, *, user_id: uuid.UUID | None = None, course_id: uuid.UUID | None = None
    ) -> int:
        """A user's role or a course's tutor or enrolments changed: close, on every process,
        the sockets no longer allowed; how many."""
        return await self.parts.control.rights_changed(user_id=user_id, course_id=course_id)


@dataclass(slots=True)
class _Parts:
    """What :meth:`LessonHub.start` built, for as long as the hub runs."""

    sessions: Sessions
    vision: Vision
    commits: GroupCommit
    outbox: Outbox
    lessons: LiveLessons
    prompter: Prompter
    frames: Frames
    checks: CheckNow
    admission: Admission
    control: LessonControl
    rights: Rights
