""" "Check now": the tutor prompts one student, or everyone, at once.

A large class is prompted a window at a time: every student answers within a second of their
prompt, and a thousand frames at once would only meet a full vision pool (answered
`rate_limited`, sent again, and again). A window's worth goes out at once; each further prompt
when one of the window's is answered and judged, or after ``answer_wait_s`` without an answer.
The window is ``wave`` prompts, and never more than three quarters of the vision pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from realtime.clock import Clock
from realtime.live import LiveLesson
from realtime.prompting import Prompter
from realtime.tasks import TaskSet


@dataclass(frozen=True, slots=True)
class WaveTuning:
    wave: int = 25
    """At most this many "check everyone" prompts wait for their answer to be judged."""
    answer_wait_s: float = 1.0
    """A prompt with no frame after this long gives its place in the window to the next."""
    poll_s: float = 0.02
    """How often a full window is looked at again (answers come from other tasks)."""


DEFAULT_WAVES = WaveTuning()


class CheckNow:
    def __init__(
        self,
        *,
        clock: Clock,
        prompter: Prompter,
        tasks: TaskSet,
        vision_capacity: int,
        stopping: Callable[[], bool],
        tuning: WaveTuning = DEFAULT_WAVES,
    ) -> None:
        """``vision_capacity``: frames the vision pool takes at once; ``stopping``: whether
        this process is draining (then no further wave goes out)."""
        self._clock = clock
        self._prompter = prompter
        self._tasks = tasks
        self._stopping = stopping
        self._capacity = vision_capacity
        self.tune(tuning)

    def tune(self, tuning: WaveTuning) -> WaveTuning:
        """Use other wave sizes and waits from now on; returns the tuning used until now."""
        previous = getattr(self, "tuning", tuning)
        self.tuning = tuning
        self.window = max(1, min(tuning.wave, self._capacity * 3 // 4))
        return previous

    async def here(self, live: LiveLesson, student_id: str | None) -> int:
        """Prompt now the students connected to this process (one, or all); how many."""
        targets = [student_id] if student_id else list(live.classroom.tracks)
        chosen = [
            t
            for t in targets
            if t in live.classroom.tracks
            and live.classroom.can_issue(t)
            and t not in live.check_queued
        ]
        for target in chosen:
            self._prompter.unschedule(live, target)
        first, rest = chosen[: self.window], chosen[self.window :]
        # Together, so their records share transactions.
        issued = await asyncio.gather(*(self._prompter.issue(live, t) for t in first))
        if rest:
            live.check_queued.update(rest)
            prompted = [t for t, ok in zip(first, issued, strict=True) if ok]
            self._tasks.spawn(self._window_by_window(live, rest, prompted), "check-now")
        return sum(issued) + len(rest)

    async def _window_by_window(
        self, live: LiveLesson, students: list[str], prompted: list[str]
    ) -> None:
        queue = deque(students)
        try:
            while queue and not (live.classroom.ended or self._stopping()):
                now = self._clock.now()
                prompted = [t for t in prompted if self._awaiting_judgement(live, t, now)]
                if len(prompted) >= self.window:
                    await self._clock.sleep(self.tuning.poll_s)
                    continue
                count = min(self.window - len(prompted), len(queue))
                wave = [queue.popleft() for _ in range(count)]
                live.check_queued.difference_update(wave)
                issued = await asyncio.gather(*(self._prompter.issue(live, t) for t in wave))
                prompted += [t for t, ok in zip(wave, issued, strict=True) if ok]
        finally:
            live.check_queued.difference_update(students)

    def _awaiting_judgement(self, live: LiveLesson, student_id: str, now: datetime) -> bool:
        """Whether a prompt still holds its place in the window: its frame is being judged, or
        it was issued so recently that its frame is surely on its way."""
        prompt = live.classroom.track(student_id).open_prompt
        if prompt is None:
            return False
        if prompt.frames_in_flight:
            return True
        return (
            not prompt.frames_started
            and (now - prompt.issued_at).total_seconds() < self.tuning.answer_wait_s
        )
