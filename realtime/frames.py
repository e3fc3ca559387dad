"""Frames: a student's capture for an open prompt, judged by vision and recorded.

The order matters: who sent it (a connection of this process, or one that just closed), then
the connection's rate limit, then whether the prompt is open for this student, and only then
the image. A frame whose verdict resolves its prompt is written with the resolution; any other
is written alone. The count of frames being judged is what a draining process waits for.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from identity.errors import IdentityClosed, IdentitySaturated
from identity.flow import IdentityStatus, frame_decision
from realtime import payloads
from realtime.clock import Clock
from realtime.connections import Connection, Connections
from realtime.emitter import Emitter
from realtime.errors import PayloadError
from realtime.events import HubEvents
from realtime.faces import FaceChecks
from realtime.live import LiveLesson, LiveLessons
from realtime.outbox import Outbox
from realtime.prompting import Prompter
from realtime.rights import ACCESS_ENDED, Rights
from realtime.rules import DIFFERENT_PERSON, FrameTicket, Refusal
from realtime.tasks import TaskSet
from storage import repositories as repo
from vision import Challenge, ImageLimits, PoolClosed, PoolSaturated, Verdict
from vision.thumbnail import make_thumbnail

logger = logging.getLogger(__name__)

PROTOCOL_HINTS = {
    Refusal.UNKNOWN_PROMPT: "this prompt is not open for you",
    Refusal.EXPIRED: "too late for this prompt — wait for the next one",
    Refusal.RATE_LIMITED: "the server is busy — send the frame again",
}
# The outcome of a frame that passed presence but whose face could not be told apart well
# enough from, or matched with, the enrolled one (too small, too dark): another is asked for.
IDENTITY_UNCERTAIN = "identity_uncertain"
FAULT_HINT = "this frame could not be checked on the server; send another"
HELD_HINT = "checked; it will be recorded as soon as the server's database is back"


@dataclass(slots=True)
class Judged:
    """A judged frame's outcome, with the identity comparison taken into account."""

    outcome: str
    passed: bool
    hint: str | None
    uncertain: bool = False
    """Presence passed, identity undecided: another frame is asked for."""
    identity: str | None = None
    identity_fields: dict[str, Any] = field(default_factory=dict)


class FrameJudge(Protocol):
    """What frames need of vision (``vision.Vision``)."""

    @property
    def limits(self) -> ImageLimits: ...

    async def judge(self, data: bytes, challenge: Challenge) -> Verdict:
        """The verdict, or raise PoolSaturated / PoolClosed when it cannot be judged now."""


def refusal_reply(
    prompt_id: str | None, refusal: Refusal, *, final: bool = True, attempts_left: int = 0
) -> dict[str, Any]:
    return payloads.frame_reply(
        prompt_id,
        refusal.value,
        final=final,
        attempts_left=attempts_left,
        hint=PROTOCOL_HINTS[refusal],
    )


class Frames:
    def __init__(
        self,
        *,
        clock: Clock,
        connections: Connections,
        lessons: LiveLessons,
        prompter: Prompter,
        emitter: Emitter,
        outbox: Outbox,
        vision: FrameJudge,
        events: HubEvents,
        tasks: TaskSet,
        rights: Rights,
        faces: FaceChecks,
    ) -> None:
        self._clock = clock
        self._faces = faces
        self._rights = rights
        self._connections = connections
        self._lessons = lessons
        self._prompter = prompter
        self._emitter = emitter
        self._outbox = outbox
        self._vision = vision
        self._events = events
        self._tasks = tasks
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        """Frames being judged now."""
        return self._in_flight

    async def drained(self, timeout_s: float) -> bool:
        """Wait until no frame is being judged; False if some still are after the timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def capture(self, sid: str, data: Any) -> dict[str, Any]:
        """Judge one frame sent for a prompt; returns the ack. Counted in flight from the
        moment it arrives (a draining process waits for its answer, whatever it waits on)."""
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._capture(sid, data)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _capture(self, sid: str, data: Any) -> dict[str, Any]:
        # A frame sent just before the socket closed may be handled just after its disconnect:
        # it came over an authenticated connection, so it is still judged and recorded.
        conn = self._connections.get_or_just_left(sid)
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
            return refusal_reply(echo_id, Refusal.UNKNOWN_PROMPT)
        if not await self._rights.may_send(conn):
            return payloads.frame_reply(
                echo_id, Refusal.UNKNOWN_PROMPT, final=True, attempts_left=0, hint=ACCESS_ENDED
            )
        if not conn.may_capture(self._clock.monotonic()):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("capture rate-limited for sid %s in lesson %s", sid, conn.lesson_id)
            return refusal_reply(echo_id, Refusal.RATE_LIMITED, final=False)
        try:
            frame = payloads.capture(data)
        except PayloadError as exc:
            conn.charge()
            return self._bad_payload(live, conn, echo_id, exc)
        student_id = str(conn.user_id)
        ticket = live.classroom.begin_frame(student_id, frame.prompt_id, self._clock.now())
        if isinstance(ticket, Refusal):
            conn.charge()
            return refusal_reply(frame.prompt_id, ticket)
        return await self._judge(live, conn, ticket, frame.image)

    def _bad_payload(
        self, live: LiveLesson, conn: Connection, echo_id: str | None, exc: PayloadError
    ) -> dict[str, Any]:
        # Whether the prompt is open for this student comes first, whatever the image.
        if echo_id is None:
            return refusal_reply(None, Refusal.UNKNOWN_PROMPT)
        refusal = live.classroom.refusal(str(conn.user_id), echo_id, self._clock.now())
        open_prompt = live.classroom.open_prompt(echo_id)
        if refusal is not None or open_prompt is None:
            return refusal_reply(echo_id, refusal or Refusal.UNKNOWN_PROMPT)
        return payloads.frame_reply(
            echo_id,
            "bad_image",
            final=False,
            attempts_left=open_prompt.attempts_left,
            hint=str(exc),
        )

    async def _judge(
        self, live: LiveLesson, conn: Connection, ticket: FrameTicket, image: bytes
    ) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            verdict = await self._vision.judge(image, Challenge(ticket.challenge))
            self._events.frame_judged(verdict.outcome.value, time.perf_counter() - started)
            judged = await self._identity(live, ticket, image, verdict)
        except (PoolSaturated, PoolClosed, IdentitySaturated, IdentityClosed):
            return await self._not_judged(live, ticket, busy=True)
        except Exception:
            # A fault in the vision or identity code (a worker that died on this frame twice),
            # not in the frame: the attempt is not held against the student, who is asked for
            # another frame. The connection's bucket is charged, so a frame that faults every
            # time cannot be sent again and again for nothing.
            logger.exception("judging a frame for prompt %s failed", ticket.prompt_id)
            conn.charge()
            return await self._not_judged(live, ticket, busy=False)
        except BaseException:
            cancelled = live.classroom.cancel_frame(ticket, self._clock.now())
            if cancelled.resolution is not None:
                self._tasks.spawn(
                    self._prompter.resolved(live, cancelled.resolution, None), "resolve"
                )
            raise
        if judged.uncertain:
            result = live.classroom.finish_uncertain(ticket, judged.outcome, self._clock.now())
        else:
            result = live.classroom.finish_frame(
                ticket, judged.outcome, judged.passed, self._clock.now()
            )
        if judged.identity is not None:
            live.classroom.track(ticket.student_id).identity = judged.identity
        check = {
            "prompt_id": ticket.prompt_id,
            "lesson_id": live.lesson_id,
            "student_id": conn.user_id,
            "received_at": ticket.received_at,
            "outcome": judged.outcome,
            "face_count": verdict.face_count,
            "score": verdict.score,
            "yaw": verdict.yaw,
            "pitch": verdict.pitch,
            "brightness": verdict.brightness,
            "sharpness": verdict.sharpness,
            "frame_sha256": verdict.sha256,
            "detector_version": verdict.detector_version,
            "hint": judged.hint[:300] if judged.hint else None,
            "thumbnail": await self._evidence(live, image, passed=judged.passed),
            **judged.identity_fields,
        }
        if logger.isEnabledFor(logging.DEBUG):
            # Every check is in the database; a log line each cost the event loop a seventh of
            # its time at 120 frames/s (bench/RESULTS.md, "Performance II").
            logger.debug(
                "check %s for %s in lesson %s: %s",
                ticket.prompt_id,
                conn.user_id,
                live.lesson_id,
                judged.outcome,
            )
        reply = payloads.frame_reply(
            ticket.prompt_id,
            judged.outcome,
            final=result.final,
            attempts_left=result.attempts_left,
            hint=judged.hint,
            status=result.resolution.status.value if result.resolution else None,
        )
        if result.resolution is not None:
            if not await self._prompter.resolved(live, result.resolution, check):
                reply["hint"] = HELD_HINT
            await self._emitter.to_student(live.lesson_id, ticket.student_id, "verdict", reply)
        else:

            async def write(s: AsyncSession) -> None:
                await repo.add_check(s, **check)

            if not await self._outbox.write(f"check for prompt {ticket.prompt_id}", write):
                reply["hint"] = HELD_HINT
            await self._emitter.attendance(live.lesson_id, live.classroom.track(ticket.student_id))
        return reply

    async def _not_judged(
        self, live: LiveLesson, ticket: FrameTicket, *, busy: bool
    ) -> dict[str, Any]:
        """Give the frame's attempt back: the server was too busy (``busy``) or faulted."""
        cancelled = live.classroom.cancel_frame(ticket, self._clock.now(), busy=busy)
        if cancelled.resolution is not None:
            await self._prompter.resolved(live, cancelled.resolution, None)
        if busy:
            return refusal_reply(
                ticket.prompt_id,
                Refusal.RATE_LIMITED,
                final=cancelled.final,
                attempts_left=cancelled.attempts_left,
            )
        return payloads.frame_reply(
            ticket.prompt_id,
            Refusal.RATE_LIMITED.value,
            final=cancelled.final,
            attempts_left=cancelled.attempts_left,
            hint=FAULT_HINT,
        )

    async def _identity(
        self, live: LiveLesson, ticket: FrameTicket, image: bytes, verdict: Verdict
    ) -> Judged:
        """The frame's outcome once identity is taken into account: compared with the enrolled
        face when it passed presence on a prompt that compares identity."""
        judged = Judged(verdict.outcome.value, verdict.passed, verdict.hint)
        prompt = live.classroom.open_prompt(ticket.prompt_id)
        if not verdict.passed or prompt is None or not prompt.compares_identity:
            return judged
        if not self._faces.enabled or verdict.box is None:
            judged.identity_fields = {"identity": IdentityStatus.NOT_ENROLLED.value}
            return judged
        enrolled = live.enrolled.get(ticket.student_id)
        if enrolled is None or enrolled.state is not None:
            # Read afresh for each comparison of an enrolled student: an enrolment approved,
            # or withdrawn, during the lesson counts from the next check (a withdrawn template
            # is never used again). One who had not enrolled is read again once an enrolment
            # of theirs changes (LessonControl.enrolment_changed).
            enrolled = await self._faces.enrolled(uuid.UUID(ticket.student_id))
            live.enrolled[ticket.student_id] = enrolled
        if not enrolled.comparable:
            judged.identity_fields = {"identity": IdentityStatus.NOT_ENROLLED.value}
            return judged
        result = await self._faces.compare(enrolled, image, verdict)
        another = prompt.attempts_left > 0 and not prompt.deadline_passed
        decision = frame_decision(result, another_frame_possible=another)
        judged.identity = decision.identity.value
        judged.identity_fields = {
            "identity": decision.identity.value,
            "identity_distance": result.distance,
            "identity_model": result.model_version,
        }
        if decision.outcome is None:
            judged.uncertain = True
            judged.outcome, judged.passed = IDENTITY_UNCERTAIN, False
            judged.hint = decision.hint
        elif decision.outcome == DIFFERENT_PERSON:
            judged.outcome, judged.passed, judged.hint = DIFFERENT_PERSON, False, decision.hint
        elif decision.hint:
            judged.hint = decision.hint
        return judged

    async def _evidence(self, live: LiveLesson, image: bytes, *, passed: bool) -> bytes | None:
        """A thumbnail when the course's evidence policy keeps this frame; else nothing."""
        evidence = live.classroom.policy.evidence
        if evidence == "all" or (evidence == "failures" and not passed):
            return await asyncio.to_thread(make_thumbnail, image, self._vision.limits)
        return None
