"""Admission: who may join a lesson's room, joining, leaving, and the camera's state.

A connection is admitted when its token is valid, its user exists and may take that role in
that lesson, and the lesson is live. A student's join opens a presence interval, catches their
track up with what other processes recorded, and times their first prompt (or resends the one
still open); a tutor's join sends the roster of the whole class.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from realtime import payloads
from realtime.clock import Clock
from realtime.cluster import Bus
from realtime.connections import DEFAULT_BUCKET, Bucket, Connection, Connections
from realtime.emitter import STUDENT_NS, TUTOR_NS, Emitter
from realtime.errors import PayloadError, Refused
from realtime.faces import FaceChecks
from realtime.live import History, LiveLesson, LiveLessons, lesson_histories
from realtime.outbox import Outbox
from realtime.prompting import Prompter
from realtime.rights import ACCESS_ENDED, Rights
from realtime.rules import Track
from realtime.tasks import TaskSet
from storage import access, liveness
from storage import repositories as repo
from storage.batch import GroupCommit
from storage.db import Sessions
from storage.models import LessonStatus, Role

logger = logging.getLogger(__name__)

# A student's identity once compared in this lesson: kept over what their enrolment says.
COMPARED = frozenset({"matched", "mismatch", "inconclusive"})


class TokenDecoder(Protocol):
    """What admission needs from the token codec (``server.security.TokenCodec``)."""

    def decode(self, token: object) -> Any:
        """The token's claims (with ``user_id``), or raise for a bad or expired token."""


class Admission:
    def __init__(
        self,
        *,
        clock: Clock,
        sessions: Sessions,
        commits: GroupCommit,
        outbox: Outbox,
        tokens: TokenDecoder,
        lessons: LiveLessons,
        connections: Connections,
        prompter: Prompter,
        emitter: Emitter,
        bus: Bus,
        tasks: TaskSet,
        process_id: str,
        stale_after: timedelta,
        rights: Rights,
        faces: FaceChecks,
        bucket: Bucket = DEFAULT_BUCKET,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._commits = commits
        self._outbox = outbox
        self._tokens = tokens
        self._lessons = lessons
        self._connections = connections
        self._prompter = prompter
        self._emitter = emitter
        self._bus = bus
        self._tasks = tasks
        self._process_id = process_id
        self._stale_after = stale_after
        self._bucket = bucket
        self._rights = rights
        self._faces = faces

    async def authenticate(self, auth: Any, namespace: str) -> tuple[Connection, LiveLesson]:
        """Check the token, role and lesson of a new connection, or raise :class:`Refused`."""
        try:
            parsed = payloads.connect_auth(auth)
        except PayloadError as exc:
            raise Refused("bad_request", str(exc)) from None
        try:
            claims = self._tokens.decode(parsed.token)
        except Exception:
            raise Refused("unauthorized", "the token is invalid or has expired") from None
        async with self._sessions() as s:
            user = await access.token_user(
                s, user_id=claims.user_id, version=claims.version, token_id=claims.token_id
            )
            if user is None:
                raise Refused("unauthorized", "the token has been signed out or replaced")
            found = await repo.get_lesson_with_course(s, lesson_id=parsed.lesson_id)
            if found is None:
                raise Refused("bad_request", "no such lesson")
            lesson, course = found
            if namespace == STUDENT_NS:
                if user.role is not Role.STUDENT:
                    raise Refused("forbidden", "only students connect to /student")
                if not await repo.is_enrolled(s, course_id=course.id, student_id=user.id):
                    raise Refused("not_enrolled", "you are not enrolled in this lesson's course")
            elif user.role is Role.STUDENT or (
                user.role is Role.TUTOR and course.tutor_id != user.id
            ):
                raise Refused("forbidden", "only this course's tutor or an admin may watch")
            if lesson.status is not LessonStatus.LIVE:
                raise Refused("lesson_not_live", f"the lesson is {lesson.status.value}, not live")
        live = await self._lessons.load(lesson.id)
        conn = Connection(
            sid="",
            user_id=user.id,
            lesson_id=lesson.id,
            role=user.role,
            tokens=self._bucket.burst,
            bucket=self._bucket,
            expires_at=getattr(claims, "expires_at", None),
            token_version=claims.version,
            token_id=claims.token_id,
        )
        return conn, live

    # -- students -------------------------------------------------------------------------

    async def student_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        conn.sid = sid
        conn.refilled_at = self._clock.monotonic()
        student_id = str(conn.user_id)
        now = self._clock.now()

        async def write(s: AsyncSession) -> uuid.UUID:
            return await repo.open_presence(
                s,
                lesson_id=live.lesson_id,
                student_id=conn.user_id,
                at=now,
                process_id=self._process_id,
            )

        presence_id: uuid.UUID = await self._commits.run(write)
        if live.classroom.ended:
            # The lesson ended while this connection was being set up.
            async with self._sessions() as s, s.begin():
                await repo.close_presence(s, interval_id=presence_id, at=self._clock.now())
            raise Refused("lesson_not_live", "the lesson has ended")
        conn.presence_id = presence_id
        await self._catch_up(live, conn.user_id)
        enrolled = await self._faces.enrolled(conn.user_id)
        live.enrolled[student_id] = enrolled
        track = live.classroom.track(student_id)
        if track.identity not in COMPARED:
            track.identity = enrolled.status.value
        self._connections.add(conn)
        await self._emitter.join_student(sid, live.lesson_id, student_id)
        live.classroom.connect(student_id)
        logger.info("student %s joined lesson %s (sid %s)", student_id, live.lesson_id, sid)
        if track.open_prompt is not None:
            # Reconnected while a prompt is open: send the same prompt, never a second one.
            self._tasks.spawn(self._prompter.resend(sid, live, student_id), f"resend-{sid}")
        elif student_id not in live.next_prompt:
            self._prompter.schedule(live, student_id, live.classroom.first_delay())
        self._tasks.spawn(self._emitter.attendance(live.lesson_id, track), f"state-{student_id}")

    async def _catch_up(self, live: LiveLesson, student_id: uuid.UUID) -> None:
        """Bring one student's track up to the records before they join here: another process
        may have prompted them since this one loaded the lesson. A prompt left open by a
        process that died is cancelled, so this process can prompt them afresh."""
        async with self._sessions() as s, s.begin():
            pending = await repo.pending_prompt(s, lesson_id=live.lesson_id, student_id=student_id)
            if (
                pending is not None
                and pending.process_id != self._process_id
                # On the database's clock: a process whose own clock is off is not dead.
                and not await liveness.process_alive(
                    s, process_id=pending.process_id, stale_after=self._stale_after
                )
            ):
                await repo.cancel_prompt(s, prompt_id=pending.id, at=self._clock.now())
                logger.info("prompt %s was left open by a stopped process: cancelled", pending.id)
            histories = await lesson_histories(s, live.lesson_id, student_id)
            key = str(student_id)
            if key not in live.classroom.tracks:  # enrolled after the lesson was loaded
                user = await repo.get_user(s, user_id=student_id)
                live.classroom.enrol(Track(student_id=key, name=user.name if user else key))
        histories.get(student_id, History()).apply(live.classroom.track(key))

    # -- tutors ---------------------------------------------------------------------------

    async def tutor_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        conn.sid = sid
        self._connections.add(conn)
        await self._emitter.join_tutor(sid, live.lesson_id)
        logger.info("tutor %s joined lesson %s (sid %s)", conn.user_id, live.lesson_id, sid)
        self._tasks.spawn(self._send_roster(sid, live), f"roster-{sid}")

    async def _send_roster(self, sid: str, live: LiveLesson) -> None:
        # The records for everyone, then the live state of each connected student from the
        # process that holds their connection.
        async with self._sessions() as s:
            histories = await lesson_histories(s, live.lesson_id)
        for student_id, history in histories.items():
            if (track := live.classroom.tracks.get(str(student_id))) is not None:
                history.apply(track)
        states = {t.student_id: payloads.student_state(t) for t in live.classroom.tracks.values()}
        answers = await self._bus.ask("states", {"lesson_id": str(live.lesson_id)})
        for answer in answers:
            for state in answer or []:
                states[state["student_id"]] = state
        students = list(states.values())
        students.sort(key=lambda s: (s["name"].casefold(), s["student_id"]))
        roster = {
            "lesson_id": str(live.lesson_id),
            "students": students,
            # Some students are on a process that cannot be reached now: their states may lag.
            "unreachable": answers.unreachable,
        }
        await self._emitter.to_sid(sid, TUTOR_NS, "roster", roster)

    async def send_roster(self, sid: str, live: LiveLesson) -> None:
        """The whole class, afresh, to one tutor socket of this process."""
        await self._send_roster(sid, live)

    # -- leaving and the camera -----------------------------------------------------------

    async def left(self, sid: str) -> None:
        conn = self._connections.remove(sid)
        if conn is None:
            return
        logger.info("%s %s left lesson %s (sid %s)", conn.role, conn.user_id, conn.lesson_id, sid)
        if conn.presence_id is not None:
            presence_id, at = conn.presence_id, self._clock.now()

            async def write(s: AsyncSession) -> None:
                await repo.close_presence(s, interval_id=presence_id, at=at)

            await self._outbox.write(f"end of presence {presence_id}", write)
        live = self._lessons.get(conn.lesson_id)
        if not conn.is_student or live is None:
            return
        student_id = str(conn.user_id)
        went_offline = live.classroom.disconnect(student_id)
        # Offline: no new prompt. An open prompt keeps its deadline and resolves then.
        if went_offline:
            self._prompter.unschedule(live, student_id)
        await self._emitter.attendance(live.lesson_id, live.classroom.track(student_id))

    async def camera(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self._connections.get(sid)
        live = self._lessons.get(conn.lesson_id) if conn else None
        if conn is None or live is None:
            return {"ok": False, "error": "not connected to a lesson"}
        if not await self._rights.may_send(conn):
            return {"ok": False, "error": ACCESS_ENDED}
        try:
            state = payloads.camera_state(data)
        except PayloadError as exc:
            return {"ok": False, "error": str(exc)}
        student_id = str(conn.user_id)
        if not live.classroom.set_camera(student_id, state):
            return {"ok": True}
        if conn.may_capture(self._clock.monotonic()):
            conn.charge()
            await self._emitter.attendance(live.lesson_id, live.classroom.track(student_id))
        elif not conn.camera_update_due:
            # Toggling faster than the bucket refills: the tutors get the latest state once
            # per refill, not every change.
            conn.camera_update_due = True
            self._clock.call_later(1 / conn.bucket.refill_per_s, self._camera_update, live, conn)
        return {"ok": True}

    def _camera_update(self, live: LiveLesson, conn: Connection) -> None:
        conn.camera_update_due = False
        if conn.sid in self._connections:
            track = live.classroom.track(str(conn.user_id))
            self._tasks.spawn(self._emitter.attendance(live.lesson_id, track), f"camera-{conn.sid}")
