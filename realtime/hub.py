"""The lesson hub: connects the classroom rules to sockets, storage and vision.

For every event it decodes nothing itself (the namespaces do), asks the rules what happens,
persists the decision, then emits it. Timers issue prompts and resolve deadlines; the tasks
they start are kept referenced until they finish.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import socketio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from realtime import payloads
from realtime.cluster import Bus, LocalBus
from realtime.errors import PayloadError, Refused
from realtime.live import History, LiveLesson, lesson_histories, load_live_lesson
from realtime.outbox import Outbox
from realtime.rules import (
    DEADLINE_GRACE,
    FrameTicket,
    Policy,
    PromptStatus,
    Refusal,
    Resolution,
    Track,
)
from storage import access
from storage import repositories as repo
from storage.batch import GroupCommit
from storage.db import Sessions
from storage.models import LessonStatus, Role
from vision import Challenge, PoolClosed, PoolSaturated, VisionPool
from vision.thumbnail import make_thumbnail

logger = logging.getLogger(__name__)

STUDENT_NS = "/student"
TUTOR_NS = "/tutor"

PROTOCOL_HINTS = {
    Refusal.UNKNOWN_PROMPT: "this prompt is not open for you",
    Refusal.EXPIRED: "too late for this prompt — wait for the next one",
    Refusal.RATE_LIMITED: "the server is busy — send the frame again",
}
MISSED_HINT = "no frame arrived before the deadline"
BUSY_HINT = "the server was too busy to check your frames in time; this check does not count"
JUST_LEFT_S = 5.0
FAULT_HINT = "this frame could not be checked on the server; send another"
HELD_HINT = "checked; it will be recorded as soon as the server's database is back"
# Per connection: refused captures (no open prompt, too late, malformed) and camera changes
# draw from a bucket of this size, refilled at a steady rate; when it is empty every capture is
# answered `rate_limited` at once, and camera changes reach the tutors at most once per refill.
# Answers to an open prompt draw nothing: max_frames already bounds them, so an honest student
# is never rate-limited, however often the tutor checks.
CAPTURE_BURST = 12
CAPTURE_REFILL_PER_S = 1.0
# "Check everyone": at most this many of its prompts (and never more than three quarters of
# the vision pool's capacity) wait for their answer to be judged at any time.
CHECK_WAVE = 25
CHECK_ANSWER_WAIT_S = 1.0
CHECK_POLL_S = 0.02


class TokenDecoder(Protocol):
    """What the hub needs from the token codec (``server.security.TokenCodec``)."""

    def decode(self, token: object) -> Any:
        """The token's claims (with ``user_id``), or raise for a bad or expired token."""


@dataclass(slots=True)
class Connection:
    sid: str
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    role: Role
    presence_id: uuid.UUID | None = None
    tokens: float = CAPTURE_BURST
    refilled_at: float = 0.0
    camera_update_due: bool = False

    def may_capture(self, now: float) -> bool:
        """Refill the bucket; False while the connection's refusals have emptied it."""
        elapsed = now - self.refilled_at
        self.tokens = min(CAPTURE_BURST, self.tokens + elapsed * CAPTURE_REFILL_PER_S)
        self.refilled_at = now
        return self.tokens >= 1

    def charge(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


def _awaiting_judgement(live: LiveLesson, student_id: str, now: datetime) -> bool:
    """Whether a "check everyone" prompt still holds its place in the window: its frame is
    being judged, or it was issued so recently that its frame is surely on its way."""
    prompt = live.classroom.track(student_id).open_prompt
    if prompt is None:
        return False
    if prompt.frames_in_flight:
        return True
    return not prompt.frames_started and (now - prompt.issued_at).total_seconds() < (
        CHECK_ANSWER_WAIT_S
    )


def students_room(lesson_id: uuid.UUID) -> str:
    return f"lesson:{lesson_id}:students"


def student_room(lesson_id: uuid.UUID, student_id: str) -> str:
    return f"lesson:{lesson_id}:student:{student_id}"


def tutors_room(lesson_id: uuid.UUID) -> str:
    return f"lesson:{lesson_id}:tutors"


def _now() -> datetime:
    return datetime.now(UTC)


class HubEvents(Protocol):
    """What the hub reports as it works (the server counts these for its metrics)."""

    def prompt_issued(self) -> None: ...

    def prompt_postponed(self) -> None: ...

    def frame_judged(self, outcome: str, seconds: float) -> None: ...


class _Quiet:
    def prompt_issued(self) -> None:
        pass

    def prompt_postponed(self) -> None:
        pass

    def frame_judged(self, outcome: str, seconds: float) -> None:
        pass


class LessonHub:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.events: HubEvents = _Quiet()
        self._outbox: Outbox | None = None
        self._commits: GroupCommit | None = None
        self.process_id = "local"
        self.bus: Bus = LocalBus()
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stale_after = timedelta(seconds=15)
        self._sessions: Sessions | None = None
        self._vision: VisionPool | None = None
        self._tokens: TokenDecoder | None = None
        self._lessons: dict[uuid.UUID, LiveLesson] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[LiveLesson]] = {}
        self._connections: dict[str, Connection] = {}
        # Connections closed in the last few seconds, for frames still on their way in.
        self._just_left: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(
        self,
        *,
        sessions: Sessions,
        vision: VisionPool,
        tokens: TokenDecoder,
        events: HubEvents | None = None,
        process_id: str = "local",
        bus: Bus | None = None,
        stale_after_s: float = 15.0,
        db_wait_s: float = 5.0,
    ) -> None:
        self.events = events or _Quiet()
        self.process_id = process_id
        self.bus = bus or LocalBus()
        self._stale_after = timedelta(seconds=stale_after_s)
        self._commits = GroupCommit(sessions)
        self._outbox = Outbox(self._commits, wait_s=db_wait_s)
        await self.bus.start(self._on_bus)
        self._sessions = sessions
        self._vision = vision
        self._tokens = tokens

    async def stop(self) -> None:
        """Stop timers, let running work finish, close this process's presence records and
        cancel the prompts it was timing (their students are prompted afresh wherever they
        reconnect)."""
        self.draining = True
        for live in self._lessons.values():
            live.cancel_timers()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        if self._outbox is not None:
            await self._outbox.flush(timeout_s=5)
        at = _now()
        open_ids = [c.presence_id for c in self._connections.values() if c.presence_id]
        if self._sessions is not None:
            async with self._sessions() as s, s.begin():
                for presence_id in open_ids:
                    await repo.close_presence(s, interval_id=presence_id, at=at)
                await repo.cancel_process_prompts(s, process_id=self.process_id, at=at)
        await self.bus.close()
        self._connections.clear()
        self._lessons.clear()

    def begin_drain(self) -> None:
        """Refuse new connections from now on; frames being judged still get their answer."""
        self.draining = True

    async def drained(self, timeout_s: float) -> bool:
        """Wait until no frame is being judged; False if some still are after the timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "LessonHub.start() was not called"
        return self._outbox

    @property
    def commits(self) -> GroupCommit:
        assert self._commits is not None, "LessonHub.start() was not called"
        return self._commits

    @property
    def sessions(self) -> Sessions:
        assert self._sessions is not None, "LessonHub.start() was not called"
        return self._sessions

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("task %s failed", task.get_name(), exc_info=exc)

    @property
    def connection_counts(self) -> dict[str, int]:
        students = sum(1 for c in self._connections.values() if c.role is Role.STUDENT)
        return {"students": students, "tutors": len(self._connections) - students}

    # -- connecting ---------------------------------------------------------------------------

    async def authenticate(self, auth: Any, namespace: str) -> tuple[Connection, LiveLesson]:
        """Check the token, role and lesson of a new connection, or raise :class:`Refused`."""
        if self.draining:
            raise Refused("unavailable", "this server is restarting; reconnect in a moment")
        try:
            parsed = payloads.connect_auth(auth)
        except PayloadError as exc:
            raise Refused("bad_request", str(exc)) from None
        assert self._tokens is not None, "LessonHub.start() was not called"
        try:
            claims = self._tokens.decode(parsed.token)
        except Exception:
            raise Refused("unauthorized", "the token is invalid or has expired") from None
        async with self.sessions() as s:
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
        live = await self._live(lesson.id)
        conn = Connection(sid="", user_id=user.id, lesson_id=lesson.id, role=user.role)
        return conn, live

    async def _live(self, lesson_id: uuid.UUID) -> LiveLesson:
        """This process's state of a live lesson, loaded once even under concurrent joins."""
        if (live := self._lessons.get(lesson_id)) is not None:
            return live
        if (pending := self._loading.get(lesson_id)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[LiveLesson] = asyncio.get_running_loop().create_future()
        self._loading[lesson_id] = future
        try:
            live = await self._load(lesson_id)
            self._lessons[lesson_id] = live
            future.set_result(live)
            return live
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a failure with no waiter is not reported
            raise
        finally:
            del self._loading[lesson_id]

    async def _load(self, lesson_id: uuid.UUID) -> LiveLesson:
        async with self.sessions() as s:
            found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
            assert found is not None
            lesson, course = found
            live = await load_live_lesson(s, lesson, Policy.from_stored(course.policy))
        logger.info("lesson %s loaded: %d students", lesson_id, len(live.classroom.tracks))
        return live

    async def student_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        conn.sid = sid
        conn.refilled_at = time.monotonic()
        student_id = str(conn.user_id)
        now = _now()

        async def write(s: AsyncSession) -> uuid.UUID:
            return await repo.open_presence(
                s,
                lesson_id=live.lesson_id,
                student_id=conn.user_id,
                at=now,
                process_id=self.process_id,
            )

        presence_id: uuid.UUID = await self.commits.run(write)
        if live.classroom.ended:
            # The lesson ended while this connection was being set up.
            async with self.sessions() as s, s.begin():
                await repo.close_presence(s, interval_id=presence_id, at=_now())
            raise Refused("lesson_not_live", "the lesson has ended")
        conn.presence_id = presence_id
        await self._catch_up(live, conn.user_id)
        self._connections[sid] = conn
        await self.sio.enter_room(sid, students_room(live.lesson_id), namespace=STUDENT_NS)
        await self.sio.enter_room(
            sid, student_room(live.lesson_id, student_id), namespace=STUDENT_NS
        )
        live.classroom.connect(student_id)
        track = live.classroom.track(student_id)
        logger.info("student %s joined lesson %s (sid %s)", student_id, live.lesson_id, sid)
        if track.open_prompt is not None:
            # Reconnected while a prompt is open: send the same prompt, never a second one.
            self.spawn(self._resend_prompt(sid, live, student_id), f"resend-{sid}")
        elif student_id not in live.next_prompt:
            self._schedule(live, student_id, live.classroom.first_delay())
        self.spawn(self._broadcast_state(live, student_id), f"state-{student_id}")

    async def _catch_up(self, live: LiveLesson, student_id: uuid.UUID) -> None:
        """Bring one student's track up to the records before they join here: another process
        may have prompted them since this one loaded the lesson. A prompt left open by a
        process that died is cancelled, so this process can prompt them afresh."""
        async with self.sessions() as s, s.begin():
            pending = await repo.pending_prompt(s, lesson_id=live.lesson_id, student_id=student_id)
            if (
                pending is not None
                and pending.process_id != self.process_id
                and not await repo.process_alive(
                    s, process_id=pending.process_id, seen_after=_now() - self._stale_after
                )
            ):
                await repo.cancel_prompt(s, prompt_id=pending.id, at=_now())
                logger.info("prompt %s was left open by a stopped process: cancelled", pending.id)
            histories = await lesson_histories(s, live.lesson_id, student_id)
            key = str(student_id)
            if key not in live.classroom.tracks:  # enrolled after the lesson was loaded
                user = await repo.get_user(s, user_id=student_id)
                live.classroom.enrol(Track(student_id=key, name=user.name if user else key))
        histories.get(student_id, History()).apply(live.classroom.track(key))

    async def tutor_joined(self, sid: str, conn: Connection, live: LiveLesson) -> None:
        conn.sid = sid
        self._connections[sid] = conn
        await self.sio.enter_room(sid, tutors_room(live.lesson_id), namespace=TUTOR_NS)
        logger.info("tutor %s joined lesson %s (sid %s)", conn.user_id, live.lesson_id, sid)
        self.spawn(self._send_roster(sid, live), f"roster-{sid}")

    async def left(self, sid: str) -> None:
        conn = self._connections.pop(sid, None)
        if conn is None:
            return
        self._just_left[sid] = conn
        asyncio.get_running_loop().call_later(JUST_LEFT_S, self._just_left.pop, sid, None)
        logger.info("%s %s left lesson %s (sid %s)", conn.role, conn.user_id, conn.lesson_id, sid)
        if conn.presence_id is not None:
            presence_id, at = conn.presence_id, _now()

            async def write(s: AsyncSession) -> None:
                await repo.close_presence(s, interval_id=presence_id, at=at)

            await self.outbox.write(f"end of presence {presence_id}", write)
        live = self._lessons.get(conn.lesson_id)
        if conn.role is not Role.STUDENT or live is None:
            return
        student_id = str(conn.user_id)
        went_offline = live.classroom.disconnect(student_id)
        # Offline: no new prompt. An open prompt keeps its deadline and resolves then.
        if went_offline and (handle := live.next_prompt.pop(student_id, None)) is not None:
            handle.cancel()
        await self._broadcast_state(live, student_id)

    # -- prompts ------------------------------------------------------------------------------

    def _schedule(self, live: LiveLesson, student_id: str, delay: float) -> None:
        if (old := live.next_prompt.pop(student_id, None)) is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        live.next_prompt[student_id] = loop.call_later(
            delay, self._on_prompt_timer, live, student_id
        )

    def _on_prompt_timer(self, live: LiveLesson, student_id: str) -> None:
        live.next_prompt.pop(student_id, None)
        if self._vision_nearly_full():
            # Its answer would only meet `rate_limited` (and the student be asked again and
            # again): put the prompt off a few random seconds. Under overload each student is
            # prompted less often, instead of every prompt failing to be checked.
            self.events.prompt_postponed()
            self._schedule(live, student_id, live.classroom.busy_delay())
            return
        self.spawn(self.issue_prompt(live, student_id), f"prompt-{student_id}")

    def _vision_nearly_full(self) -> bool:
        assert self._vision is not None
        return self._vision.pending >= max(1, self._vision.max_pending * 3 // 4)

    def _arm_deadline(self, live: LiveLesson, prompt_id: str, deadline: datetime) -> None:
        delay = (deadline + DEADLINE_GRACE - _now()).total_seconds()
        loop = asyncio.get_running_loop()
        live.deadlines[prompt_id] = loop.call_later(
            max(0.0, delay), self._on_deadline, live, prompt_id
        )

    def _on_deadline(self, live: LiveLesson, prompt_id: str) -> None:
        live.deadlines.pop(prompt_id, None)
        resolution = live.classroom.deadline(prompt_id, _now())
        if resolution is not None:
            self.spawn(self._resolved(live, resolution, None), f"deadline-{prompt_id}")

    async def issue_prompt(self, live: LiveLesson, student_id: str) -> bool:
        """Open a prompt for the student now, if they are connected and have none open."""
        if not live.classroom.can_issue(student_id):
            return False
        prompt_id = secrets.token_urlsafe(16)  # 128 random bits
        prompt = live.classroom.issue(student_id, prompt_id, _now())

        async def write(s: AsyncSession) -> None:
            await repo.add_prompt(
                s,
                prompt_id=prompt_id,
                lesson_id=live.lesson_id,
                student_id=uuid.UUID(student_id),
                issued_at=prompt.issued_at,
                deadline=prompt.deadline,
                challenge=prompt.challenge,
                process_id=self.process_id,
            )

        try:
            await self.commits.run(write)
        except IntegrityError:
            # Another process holds an open prompt for this student (a second connection
            # there, or a process that stopped and is not yet settled): never two at once.
            logger.info("student %s has an open prompt elsewhere; trying later", student_id)
            live.classroom.withdraw(prompt_id, _now())
            if live.classroom.track(student_id).connected and not live.classroom.ended:
                self._schedule(live, student_id, live.classroom.first_delay())
            return False
        except Exception:
            # Unrecorded, the prompt could never be proven: take it back and try again later.
            logger.exception("prompt for %s in lesson %s not recorded", student_id, live.lesson_id)
            live.classroom.withdraw(prompt_id, _now())
            if live.classroom.track(student_id).connected and not live.classroom.ended:
                self._schedule(live, student_id, live.classroom.first_delay())
            return False
        self._arm_deadline(live, prompt_id, prompt.deadline)
        self.events.prompt_issued()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("prompt %s issued to %s in %s", prompt_id, student_id, live.lesson_id)
        await self._to_student(live, student_id, "prompt", self._prompt_payload(live, student_id))
        await self._broadcast_state(live, student_id)
        return True

    async def _to_student(
        self, live: LiveLesson, student_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        # Straight to this process's sockets (ignore_queue): a student's prompts are issued,
        # timed and judged by the process that holds their connection, so the message queue
        # would only carry the event to every other process for nothing.
        await self.sio.emit(
            event,
            payload,
            room=student_room(live.lesson_id, student_id),
            namespace=STUDENT_NS,
            ignore_queue=True,
        )

    def _prompt_payload(self, live: LiveLesson, student_id: str) -> dict[str, Any]:
        prompt = live.classroom.track(student_id).open_prompt
        assert prompt is not None
        remaining = (prompt.deadline - _now()).total_seconds()
        return {
            "prompt_id": prompt.prompt_id,
            "challenge": prompt.challenge,
            # Time left to answer, in milliseconds from receipt: immune to clock skew.
            "deadline_ms": max(0, int(remaining * 1000)),
            "max_frames": prompt.max_frames,
        }

    async def _resend_prompt(self, sid: str, live: LiveLesson, student_id: str) -> None:
        if live.classroom.track(student_id).open_prompt is not None:
            payload = self._prompt_payload(live, student_id)
            await self.sio.emit("prompt", payload, to=sid, namespace=STUDENT_NS, ignore_queue=True)

    async def _resolved(
        self, live: LiveLesson, resolution: Resolution, check: dict[str, Any] | None
    ) -> bool:
        """Persist a prompt's resolution (with the deciding check), tell the student and tutors.

        False when the database is unavailable and the write is held for later."""

        async def write(s: AsyncSession) -> None:
            if check is not None:
                await repo.add_check(s, **check)
            await repo.resolve_prompt(
                s, prompt_id=resolution.prompt_id, status=resolution.status, at=resolution.at
            )

        written = await self.outbox.write(f"resolution of prompt {resolution.prompt_id}", write)
        student_id = resolution.student_id
        track = live.classroom.track(student_id)
        if check is None:  # resolved by its deadline
            if resolution.status is PromptStatus.MISSED:
                outcome, hint = "missed", MISSED_HINT
            elif resolution.status is PromptStatus.CANCELLED:  # every frame met a busy server
                outcome, hint = Refusal.RATE_LIMITED.value, BUSY_HINT
            else:
                outcome, hint = track.last_outcome or "", None
            await self._to_student(
                live,
                student_id,
                "verdict",
                payloads.frame_reply(
                    resolution.prompt_id,
                    outcome,
                    final=True,
                    attempts_left=0,
                    hint=hint,
                    status=resolution.status.value,
                ),
            )
        if track.connected and not live.classroom.ended:
            self._schedule(live, student_id, live.classroom.next_delay())
        await self._broadcast_state(live, student_id)
        return written

    # -- frames -------------------------------------------------------------------------------

    async def capture(self, sid: str, data: Any) -> dict[str, Any]:
        """Judge one frame sent for a prompt; returns the ack."""
        # A frame sent just before the socket closed may be handled just after its disconnect:
        # it came over an authenticated connection, so it is still judged and recorded.
        conn = self._connections.get(sid) or self._just_left.get(sid)
        echo_id = payloads.prompt_id_of(data)
        if conn is None:
            return payloads.frame_reply(
                echo_id,
                Refusal.UNKNOWN_PROMPT,
                final=True,
                attempts_left=0,
                hint="not connected to a lesson",
            )
        live = self._lessons.get(conn.lesson_id)
        if live is None:
            return self._refusal(echo_id, Refusal.UNKNOWN_PROMPT)
        if not conn.may_capture(time.monotonic()):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("capture rate-limited for sid %s in lesson %s", sid, conn.lesson_id)
            return self._refusal(echo_id, Refusal.RATE_LIMITED, final=False)
        try:
            frame = payloads.capture(data)
        except PayloadError as exc:
            conn.charge()
            # Whether the prompt is open for this student comes first, whatever the image.
            if echo_id is None:
                return self._refusal(None, Refusal.UNKNOWN_PROMPT)
            refusal = live.classroom.refusal(str(conn.user_id), echo_id, _now())
            open_prompt = live.classroom.open_prompt(echo_id)
            if refusal is not None or open_prompt is None:
                return self._refusal(echo_id, refusal or Refusal.UNKNOWN_PROMPT)
            return payloads.frame_reply(
                echo_id,
                "bad_image",
                final=False,
                attempts_left=open_prompt.attempts_left,
                hint=str(exc),
            )
        student_id = str(conn.user_id)
        received = _now()
        ticket = live.classroom.begin_frame(student_id, frame.prompt_id, received)
        if isinstance(ticket, Refusal):
            conn.charge()
            return self._refusal(frame.prompt_id, ticket)
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._judge(live, conn, ticket, frame.image)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _refusal(
        self, prompt_id: str | None, refusal: Refusal, *, final: bool = True, attempts_left: int = 0
    ) -> dict[str, Any]:
        return payloads.frame_reply(
            prompt_id,
            refusal.value,
            final=final,
            attempts_left=attempts_left,
            hint=PROTOCOL_HINTS[refusal],
        )

    async def _judge(
        self, live: LiveLesson, conn: Connection, ticket: FrameTicket, image: bytes
    ) -> dict[str, Any]:
        assert self._vision is not None
        started = time.perf_counter()
        try:
            verdict = await self._vision.judge(image, Challenge(ticket.challenge))
        except (PoolSaturated, PoolClosed):
            cancelled = live.classroom.cancel_frame(ticket, _now(), busy=True)
            if cancelled.resolution is not None:
                await self._resolved(live, cancelled.resolution, None)
            return self._refusal(
                ticket.prompt_id,
                Refusal.RATE_LIMITED,
                final=cancelled.final,
                attempts_left=cancelled.attempts_left,
            )
        except Exception:
            # A fault in the vision code, not in the frame: the attempt is not held against
            # the student, who is asked for another frame. The connection's bucket is charged,
            # so a frame that faults every time cannot be sent again and again for nothing.
            logger.exception("judging a frame for prompt %s failed", ticket.prompt_id)
            conn.charge()
            cancelled = live.classroom.cancel_frame(ticket, _now())
            if cancelled.resolution is not None:
                await self._resolved(live, cancelled.resolution, None)
            return payloads.frame_reply(
                ticket.prompt_id,
                Refusal.RATE_LIMITED.value,
                final=cancelled.final,
                attempts_left=cancelled.attempts_left,
                hint=FAULT_HINT,
            )
        except BaseException:
            cancelled = live.classroom.cancel_frame(ticket, _now())
            if cancelled.resolution is not None:
                self.spawn(self._resolved(live, cancelled.resolution, None), "resolve")
            raise
        self.events.frame_judged(verdict.outcome.value, time.perf_counter() - started)
        result = live.classroom.finish_frame(ticket, verdict.outcome, verdict.passed, _now())
        check = {
            "prompt_id": ticket.prompt_id,
            "lesson_id": live.lesson_id,
            "student_id": conn.user_id,
            "received_at": ticket.received_at,
            "outcome": verdict.outcome.value,
            "face_count": verdict.face_count,
            "score": verdict.score,
            "yaw": verdict.yaw,
            "pitch": verdict.pitch,
            "brightness": verdict.brightness,
            "sharpness": verdict.sharpness,
            "frame_sha256": verdict.sha256,
            "detector_version": verdict.detector_version,
            "thumbnail": await self._evidence(live, image, passed=verdict.passed),
        }
        logger.info(
            "check %s for %s in lesson %s: %s",
            ticket.prompt_id,
            conn.user_id,
            live.lesson_id,
            verdict.outcome,
        )
        reply = payloads.frame_reply(
            ticket.prompt_id,
            verdict.outcome.value,
            final=result.final,
            attempts_left=result.attempts_left,
            hint=verdict.hint,
            status=result.resolution.status.value if result.resolution else None,
        )
        if result.resolution is not None:
            if not await self._resolved(live, result.resolution, check):
                reply["hint"] = HELD_HINT
            await self._to_student(live, ticket.student_id, "verdict", reply)
        else:

            async def write(s: AsyncSession) -> None:
                await repo.add_check(s, **check)

            if not await self.outbox.write(f"check for prompt {ticket.prompt_id}", write):
                reply["hint"] = HELD_HINT
            await self._broadcast_state(live, ticket.student_id)
        return reply

    async def _evidence(self, live: LiveLesson, image: bytes, *, passed: bool) -> bytes | None:
        """A thumbnail when the course's evidence policy keeps this frame; else nothing."""
        evidence = live.classroom.policy.evidence
        if evidence == "all" or (evidence == "failures" and not passed):
            assert self._vision is not None
            return await asyncio.to_thread(make_thumbnail, image, self._vision.limits)
        return None

    # -- student and tutor events ------------------------------------------------------------------

    async def camera(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self._connections.get(sid)
        live = self._lessons.get(conn.lesson_id) if conn else None
        if conn is None or live is None:
            return {"ok": False, "error": "not connected to a lesson"}
        try:
            state = payloads.camera_state(data)
        except PayloadError as exc:
            return {"ok": False, "error": str(exc)}
        student_id = str(conn.user_id)
        if not live.classroom.set_camera(student_id, state):
            return {"ok": True}
        if conn.may_capture(time.monotonic()):
            conn.charge()
            await self._broadcast_state(live, student_id)
        elif not conn.camera_update_due:
            # Toggling faster than the bucket refills: the tutors get the latest state once
            # per refill, not every change.
            conn.camera_update_due = True
            asyncio.get_running_loop().call_later(
                1 / CAPTURE_REFILL_PER_S, self._camera_update, live, conn
            )
        return {"ok": True}

    def _camera_update(self, live: LiveLesson, conn: Connection) -> None:
        conn.camera_update_due = False
        if conn.sid in self._connections:
            self.spawn(self._broadcast_state(live, str(conn.user_id)), f"camera-{conn.sid}")

    async def check_now(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self._connections.get(sid)
        live = self._lessons.get(conn.lesson_id) if conn else None
        if conn is None or live is None:
            return {"issued": 0, "error": "not connected to a lesson"}
        try:
            target = payloads.check_now_target(data)
        except PayloadError as exc:
            return {"issued": 0, "error": str(exc)}
        if target is not None and str(target) not in live.classroom.tracks:
            async with self.sessions() as s:
                enrolled = await repo.is_enrolled(
                    s, course_id=await self._course_of(s, live), student_id=target
                )
            if not enrolled:
                return {"issued": 0, "error": "student_id: not enrolled in this lesson"}
        answers = await self.bus.ask(
            "check_now",
            {"lesson_id": str(live.lesson_id), "student_id": str(target) if target else None},
        )
        issued = sum(a for a in answers if isinstance(a, int))
        async with self.sessions() as s, s.begin():
            await repo.audit(
                s,
                actor_id=conn.user_id,
                action="lesson.check_now",
                target_type="lesson",
                target_id=str(live.lesson_id),
                detail={"student_id": str(target) if target else None, "issued": issued},
            )
        return {"issued": issued}

    async def end_lesson(self, lesson_id: uuid.UUID, actor_id: uuid.UUID) -> bool:
        """End a live lesson: cancel open prompts, tell everyone, close student sockets."""
        now = _now()
        async with self.sessions() as s, s.begin():
            ended = await repo.end_lesson(s, lesson_id=lesson_id, at=now)
            if ended:
                await repo.audit(
                    s,
                    actor_id=actor_id,
                    action="lesson.end",
                    target_type="lesson",
                    target_id=str(lesson_id),
                )
        answers = await self.bus.ask("end", {"lesson_id": str(lesson_id)})
        async with self.sessions() as s, s.begin():
            # Whatever no process answered for (one that stopped meanwhile) is cancelled too.
            await repo.cancel_lesson_prompts(s, lesson_id=lesson_id, at=now)
        if not ended and not any(answers):
            return False
        logger.info("lesson %s ended by %s", lesson_id, actor_id)
        return True

    async def _end_here(self, lesson_id: uuid.UUID) -> bool:
        """End this process's part of a lesson: its prompts, timers and connections."""
        live = self._lessons.pop(lesson_id, None)
        now = _now()
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

                await self.commits.run(write)
        message = {"lesson_id": str(lesson_id)}
        # Straight to this process's own sockets (ignore_queue: the rooms' members here), not
        # through the queue: each process tells its own, so "ended" always arrives before the
        # socket closes.
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
        students = [
            sid
            for sid, c in self._connections.items()
            if c.lesson_id == lesson_id and c.role is Role.STUDENT
        ]
        # Together: each closes a presence interval, and those writes then share transactions.
        await asyncio.gather(
            *(self.sio.disconnect(sid, namespace=STUDENT_NS, ignore_queue=True) for sid in students)
        )
        return live is not None

    # -- between processes ----------------------------------------------------------------

    async def disconnect_user(self, user_id: uuid.UUID) -> int:
        """Close every connection of a user (disabled or deleted), on every process."""
        answers = await self.bus.ask("disconnect_user", {"user_id": str(user_id)})
        return sum(a for a in answers if isinstance(a, int))

    async def _on_bus(self, op: str, payload: dict[str, Any]) -> Any:
        if op == "disconnect_user":
            user_id = uuid.UUID(payload["user_id"])
            mine = [(sid, c) for sid, c in self._connections.items() if c.user_id == user_id]
            for sid, conn in mine:
                namespace = STUDENT_NS if conn.role is Role.STUDENT else TUTOR_NS
                await self.sio.disconnect(sid, namespace=namespace, ignore_queue=True)
            return len(mine)
        lesson_id = uuid.UUID(payload["lesson_id"])
        if op == "end":
            return await self._end_here(lesson_id)
        live = self._lessons.get(lesson_id)
        if op == "check_now":
            return await self._check_here(live, payload.get("student_id")) if live else 0
        if op == "states":
            if live is None:
                return []
            here = {
                str(c.user_id)
                for c in self._connections.values()
                if c.lesson_id == lesson_id and c.role is Role.STUDENT
            }
            return [payloads.student_state(live.classroom.track(sid)) for sid in here]
        raise ValueError(f"unknown bus operation {op!r}")

    async def _check_here(self, live: LiveLesson, student_id: str | None) -> int:
        """Prompt now the students connected to this process (one, or all); how many.

        A large class is prompted a window at a time: every student answers within a second
        of their prompt, and a thousand frames at once would only meet a full vision pool
        (answered `rate_limited`, sent again, and again). A window's worth goes out at once;
        each further prompt when one of the window's is answered and judged, or after
        ``CHECK_ANSWER_WAIT_S`` without an answer."""
        targets = [student_id] if student_id else list(live.classroom.tracks)
        chosen = [
            t
            for t in targets
            if t in live.classroom.tracks
            and live.classroom.can_issue(t)
            and t not in live.check_queued
        ]
        for target in chosen:
            if (handle := live.next_prompt.pop(target, None)) is not None:
                handle.cancel()
        window = self._check_window()
        first, rest = chosen[:window], chosen[window:]
        # Together, so their records share transactions.
        issued = await asyncio.gather(*(self.issue_prompt(live, t) for t in first))
        if rest:
            live.check_queued.update(rest)
            prompted = [t for t, ok in zip(first, issued, strict=True) if ok]
            self.spawn(self._check_window_by_window(live, rest, prompted), "check-now")
        return sum(issued) + len(rest)

    def _check_window(self) -> int:
        assert self._vision is not None
        return max(1, min(CHECK_WAVE, self._vision.max_pending * 3 // 4))

    async def _check_window_by_window(
        self, live: LiveLesson, students: list[str], prompted: list[str]
    ) -> None:
        queue = deque(students)
        window = self._check_window()
        try:
            while queue and not (live.classroom.ended or self.draining):
                now = _now()
                prompted = [t for t in prompted if _awaiting_judgement(live, t, now)]
                if len(prompted) >= window:
                    # Prompts are answered from other tasks; look again shortly.
                    await asyncio.sleep(CHECK_POLL_S)
                    continue
                wave = [queue.popleft() for _ in range(min(window - len(prompted), len(queue)))]
                live.check_queued.difference_update(wave)
                issued = await asyncio.gather(*(self.issue_prompt(live, t) for t in wave))
                prompted += [t for t, ok in zip(wave, issued, strict=True) if ok]
        finally:
            live.check_queued.difference_update(students)

    async def _course_of(self, s: AsyncSession, live: LiveLesson) -> uuid.UUID:
        lesson = await repo.get_lesson(s, lesson_id=live.lesson_id)
        assert lesson is not None
        return lesson.course_id

    # -- tutor updates ----------------------------------------------------------------------------

    async def _send_roster(self, sid: str, live: LiveLesson) -> None:
        # The records for everyone, then the live state of each connected student from the
        # process that holds their connection.
        async with self.sessions() as s:
            histories = await lesson_histories(s, live.lesson_id)
        for student_id, history in histories.items():
            if (track := live.classroom.tracks.get(str(student_id))) is not None:
                history.apply(track)
        states = {t.student_id: payloads.student_state(t) for t in live.classroom.tracks.values()}
        for answer in await self.bus.ask("states", {"lesson_id": str(live.lesson_id)}):
            for state in answer or []:
                states[state["student_id"]] = state
        students = list(states.values())
        students.sort(key=lambda s: (s["name"].casefold(), s["student_id"]))
        await self.sio.emit(
            "roster",
            {"lesson_id": str(live.lesson_id), "students": students},
            to=sid,
            namespace=TUTOR_NS,
            ignore_queue=True,  # the tutor's socket is here
        )

    async def _broadcast_state(self, live: LiveLesson, student_id: str) -> None:
        state = payloads.student_state(live.classroom.track(student_id))
        await self.sio.emit(
            "attendance", state, room=tutors_room(live.lesson_id), namespace=TUTOR_NS
        )

    def connection(self, sid: str) -> Connection | None:
        return self._connections.get(sid)
