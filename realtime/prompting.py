"""Prompting: when each student is asked for a frame, and what happens when a prompt resolves.

A timer per connected student issues their next prompt at a moment they cannot predict; a timer
per open prompt resolves it at its deadline. Every prompt is recorded before it is sent (an
unrecorded prompt could never be proven), and every resolution is written, then told to the
student and to the tutors.
"""

from __future__ import annotations

import logging
import random
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from realtime import payloads
from realtime.clock import Clock
from realtime.emitter import STUDENT_NS, Emitter
from realtime.events import HubEvents
from realtime.live import LiveLesson
from realtime.outbox import Outbox
from realtime.rules import DEADLINE_GRACE, Refusal, Resolution
from realtime.tasks import TaskSet
from storage import repositories as repo
from storage.batch import GroupCommit

logger = logging.getLogger(__name__)

_RNG = random.SystemRandom()
MISSED_HINT = "no frame arrived before the deadline"
BUSY_HINT = "the server was too busy to check your frames in time; this check does not count"


class Prompter:
    def __init__(
        self,
        *,
        clock: Clock,
        emitter: Emitter,
        commits: GroupCommit,
        outbox: Outbox,
        tasks: TaskSet,
        events: HubEvents,
        process_id: str,
        busy: Callable[[], bool],
    ) -> None:
        """``busy`` says whether the vision pool is nearly full: then a prompt falling due is
        put off, since its answer would only be refused."""
        self._clock = clock
        self._emitter = emitter
        self._commits = commits
        self._outbox = outbox
        self._tasks = tasks
        self._events = events
        self._process_id = process_id
        self._busy = busy

    # -- timers ---------------------------------------------------------------------------

    def schedule(self, live: LiveLesson, student_id: str, delay: float) -> None:
        """(Re)arm the timer of the student's next prompt."""
        self.unschedule(live, student_id)
        live.next_prompt[student_id] = self._clock.call_later(
            delay, self._on_prompt_timer, live, student_id
        )

    def unschedule(self, live: LiveLesson, student_id: str) -> None:
        if (old := live.next_prompt.pop(student_id, None)) is not None:
            old.cancel()

    def _on_prompt_timer(self, live: LiveLesson, student_id: str) -> None:
        live.next_prompt.pop(student_id, None)
        if self._busy():
            # Its answer would only meet `rate_limited` (and the student be asked again and
            # again): put the prompt off a few random seconds. Under overload each student is
            # prompted less often, instead of every prompt failing to be checked.
            self._events.prompt_postponed()
            self.schedule(live, student_id, live.classroom.busy_delay())
            return
        self._tasks.spawn(self.issue(live, student_id), f"prompt-{student_id}")

    def _arm_deadline(self, live: LiveLesson, prompt_id: str, deadline: datetime) -> None:
        delay = (deadline + DEADLINE_GRACE - self._clock.now()).total_seconds()
        live.deadlines[prompt_id] = self._clock.call_later(
            max(0.0, delay), self._on_deadline, live, prompt_id
        )

    def _on_deadline(self, live: LiveLesson, prompt_id: str) -> None:
        live.deadlines.pop(prompt_id, None)
        resolution = live.classroom.deadline(prompt_id, self._clock.now())
        if resolution is not None:
            self._tasks.spawn(self.resolved(live, resolution, None), f"deadline-{prompt_id}")

    # -- issuing --------------------------------------------------------------------------

    async def issue(self, live: LiveLesson, student_id: str) -> bool:
        """Open a prompt for the student now, if they are connected and have none open."""
        if not live.classroom.can_issue(student_id):
            return False
        prompt_id = secrets.token_urlsafe(16)  # 128 random bits
        prompt = live.classroom.issue(student_id, prompt_id, self._clock.now())
        # Whether its frames are compared with the enrolled face: decided here, never sent.
        prompt.compares_identity = live.identity.should_check(
            first_of_lesson=live.classroom.track(student_id).counts.issued == 1, rng=_RNG
        )

        async def write(s: AsyncSession) -> None:
            await repo.add_prompt(
                s,
                prompt_id=prompt_id,
                lesson_id=live.lesson_id,
                student_id=uuid.UUID(student_id),
                issued_at=prompt.issued_at,
                deadline=prompt.deadline,
                challenge=prompt.challenge,
                process_id=self._process_id,
            )

        try:
            await self._commits.run(write)
        except IntegrityError:
            # Another process holds an open prompt for this student (a second connection
            # there, or a process that stopped and is not yet settled): never two at once.
            logger.info("student %s has an open prompt elsewhere; trying later", student_id)
            self._take_back(live, student_id, prompt_id)
            return False
        except Exception:
            # Unrecorded, the prompt could never be proven: take it back and try again later.
            logger.exception("prompt for %s in lesson %s not recorded", student_id, live.lesson_id)
            self._take_back(live, student_id, prompt_id)
            return False
        open_now = live.classroom.track(student_id).open_prompt
        if open_now is None or open_now.prompt_id != prompt_id:
            # Settled while it was being recorded (the lesson ended meanwhile): its record is
            # closed as well, and nothing is sent.
            at = self._clock.now()

            async def close(s: AsyncSession) -> None:
                await repo.cancel_prompt(s, prompt_id=prompt_id, at=at)

            await self._commits.run(close)
            return False
        self._arm_deadline(live, prompt_id, prompt.deadline)
        self._events.prompt_issued()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("prompt %s issued to %s in %s", prompt_id, student_id, live.lesson_id)
        await self._emitter.to_student(
            live.lesson_id, student_id, "prompt", self.payload(live, student_id)
        )
        await self._emitter.attendance(live.lesson_id, live.classroom.track(student_id))
        return True

    def _take_back(self, live: LiveLesson, student_id: str, prompt_id: str) -> None:
        live.classroom.withdraw(prompt_id, self._clock.now())
        if live.classroom.track(student_id).connected and not live.classroom.ended:
            self.schedule(live, student_id, live.classroom.first_delay())

    def payload(self, live: LiveLesson, student_id: str) -> dict[str, Any]:
        """The ``prompt`` event for the student's open prompt."""
        prompt = live.classroom.track(student_id).open_prompt
        assert prompt is not None
        remaining = (prompt.deadline - self._clock.now()).total_seconds()
        return {
            "prompt_id": prompt.prompt_id,
            "challenge": prompt.challenge,
            # Time left to answer, in milliseconds from receipt: immune to clock skew.
            "deadline_ms": max(0, int(remaining * 1000)),
            "max_frames": prompt.max_frames,
        }

    async def resend(self, sid: str, live: LiveLesson, student_id: str) -> None:
        """Send a reconnected student the prompt they still have open (never a second one)."""
        if live.classroom.track(student_id).open_prompt is not None:
            await self._emitter.to_sid(sid, STUDENT_NS, "prompt", self.payload(live, student_id))

    # -- resolving ------------------------------------------------------------------------

    async def resolved(
        self, live: LiveLesson, resolution: Resolution, check: dict[str, Any] | None
    ) -> bool:
        """Persist a prompt's resolution (with the deciding check), tell the student and tutors,
        and time the student's next prompt.

        False when the database is unavailable and the write is held for later."""

        async def write(s: AsyncSession) -> None:
            if check is not None:
                await repo.add_check(s, **check)
            await repo.resolve_prompt(
                s, prompt_id=resolution.prompt_id, status=resolution.status, at=resolution.at
            )

        written = await self._outbox.write(f"resolution of prompt {resolution.prompt_id}", write)
        student_id = resolution.student_id
        track = live.classroom.track(student_id)
        if check is None:  # resolved by its deadline
            if resolution.status is PromptStatus.MISSED:
                outcome, hint = "missed", MISSED_HINT
            elif resolution.status is PromptStatus.CANCELLED:  # every frame met a busy server
                outcome, hint = Refusal.RATE_LIMITED.value, BUSY_HINT
            else:
                outcome, hint = track.last_outcome or "", None
            await self._emitter.to_student(
                live.lesson_id,
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
            self.schedule(live, student_id, live.classroom.next_delay())
        await self._emitter.attendance(live.lesson_id, track)
        return written
