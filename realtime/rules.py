"""The classroom rules: prompts and each student's live state in a lesson.

The statuses, the policy and the whole-lesson attendance decision are in ``domain``.

Plain code with no I/O. Time comes in as arguments and randomness from an injected
``random.Random``, so every rule is testable without a server. The Socket.IO handlers decode
events, call into a :class:`Classroom`, persist what it decided and emit it.

A prompt's life::

    issue() -> pending --begin_frame()/finish_frame()--> passed   (any frame passes)
                       \\                                \\-> failed   (max_frames frames failed)
                        \\--deadline()--> missed (no frame) | failed (frames tried, none passed)
                        \\              \\-> cancelled (frames came, the server was too busy)
                        \\--end()------> cancelled (lesson ended while it was open)
                        \\--withdraw()-> cancelled (it could not be recorded)

A frame that arrived before the deadline is always judged and counted, even when the judging
finishes after it: the deadline then resolves the prompt when that frame's verdict is in.
"""

from __future__ import annotations

import enum
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.attendance import Counts
from domain.policy import Policy
from domain.statuses import PromptStatus, StudentState
from realtime.errors import RulesError

# Frames sent in the last moments of the countdown still travel over the network.
DEADLINE_GRACE = timedelta(seconds=1)
# How many resolved prompt ids a student's track remembers, to tell "too late" from "unknown".
RECENT_PROMPTS = 8
# The outcome of a frame showing someone other than the enrolled student (identity.flow).
DIFFERENT_PERSON = "different_person"
# A prompt due while the vision pool is nearly full waits this long (uniformly random) instead.
BUSY_DELAY_S = (2.0, 8.0)


class Refusal(enum.StrEnum):
    """Protocol outcomes: the frame was not judged."""

    UNKNOWN_PROMPT = "unknown_prompt"
    EXPIRED = "expired"
    RATE_LIMITED = "rate_limited"


CHALLENGES = ("turn_left", "turn_right")


@dataclass(slots=True)
class OpenPrompt:
    prompt_id: str
    student_id: str
    issued_at: datetime
    deadline: datetime
    challenge: str
    max_frames: int
    frames_started: int = 0
    frames_in_flight: int = 0
    frames_refused: int = 0
    """Frames that came in time but that the server was too busy to judge."""
    deadline_passed: bool = False
    compares_identity: bool = False
    """Its frames are compared with the student's enrolled face (decided by the server when it
    is issued, never told to the client)."""
    presence_passed: bool = False
    """A frame passed presence but its identity was uncertain: if no frame decides, the prompt
    passes on presence at its end."""
    mismatched: bool = False
    """A frame showed someone other than the enrolled student."""

    @property
    def status_if_undecided(self) -> PromptStatus:
        """How the prompt ends when its frames are used up, or its deadline comes, after frames
        that did not pass: on presence when one passed presence with an uncertain identity
        (and nobody else was seen), else failed."""
        if self.presence_passed and not self.mismatched:
            return PromptStatus.PASSED
        return PromptStatus.FAILED

    @property
    def attempts_left(self) -> int:
        return self.max_frames - self.frames_started


@dataclass(frozen=True, slots=True)
class Resolution:
    """A prompt reached its final status."""

    prompt_id: str
    student_id: str
    status: PromptStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class FrameTicket:
    """Permission to judge one frame for an open prompt."""

    prompt_id: str
    student_id: str
    challenge: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class FrameResult:
    prompt_id: str
    outcome: str
    final: bool
    attempts_left: int
    resolution: Resolution | None


@dataclass(slots=True)
class Track:
    """One enrolled student's live state within a lesson."""

    student_id: str
    name: str
    connections: int = 0
    camera: str = "unknown"
    identity: str = "not_enrolled"
    """not_enrolled, pending, matched, mismatch or inconclusive: what the tutor sees."""
    counts: Counts = field(default_factory=Counts)
    open_prompt: OpenPrompt | None = None
    last_status: PromptStatus | None = None
    last_outcome: str | None = None
    last_check_at: datetime | None = None
    # prompt id -> resolved by its deadline (True) or by a verdict (False)
    recent: OrderedDict[str, bool] = field(default_factory=OrderedDict)

    @property
    def connected(self) -> bool:
        return self.connections > 0

    @property
    def state(self) -> StudentState:
        if not self.connected:
            return StudentState.OFFLINE
        if self.open_prompt is not None:
            return StudentState.CHECKING
        if self.last_status is PromptStatus.PASSED:
            return StudentState.VERIFIED
        if self.last_status in (PromptStatus.FAILED, PromptStatus.MISSED):
            return StudentState.FLAGGED
        return StudentState.WAITING

    def remember(self, prompt_id: str, *, by_deadline: bool) -> None:
        self.recent[prompt_id] = by_deadline
        while len(self.recent) > RECENT_PROMPTS:
            self.recent.popitem(last=False)


class Classroom:
    """The rules for one live lesson: who is enrolled, who is connected, which prompts are open."""

    def __init__(self, lesson_id: str, policy: Policy, rng: random.Random | None = None) -> None:
        self.lesson_id = lesson_id
        self.policy = policy
        self._rng = rng or random.SystemRandom()
        self.tracks: dict[str, Track] = {}
        self._open: dict[str, OpenPrompt] = {}
        self.ended = False

    # -- roster -------------------------------------------------------------------------

    def enrol(self, track: Track) -> None:
        self.tracks[track.student_id] = track
        if track.open_prompt is not None:
            self._open[track.open_prompt.prompt_id] = track.open_prompt

    def track(self, student_id: str) -> Track:
        return self.tracks[student_id]

    def connect(self, student_id: str) -> bool:
        """Count one more connection; True when the student just came online."""
        track = self.tracks[student_id]
        track.connections += 1
        return track.connections == 1

    def disconnect(self, student_id: str) -> bool:
        """Count one connection less; True when the student just went offline."""
        track = self.tracks[student_id]
        if not track.connected:
            return False
        track.connections -= 1
        if not track.connected:
            track.camera = "unknown"
        return not track.connected

    def set_camera(self, student_id: str, state: str) -> bool:
        """Record the camera state; True when it changed."""
        track = self.tracks[student_id]
        changed = track.camera != state
        track.camera = state
        return changed

    # -- timing ---------------------------------------------------------------------------

    def first_delay(self) -> float:
        p = self.policy
        return self._rng.uniform(p.first_prompt_min_s, p.first_prompt_max_s)

    def next_delay(self) -> float:
        p = self.policy
        return self._rng.uniform(p.interval_min_s, p.interval_max_s)

    def busy_delay(self) -> float:
        """How long to put off a prompt while the server is too busy to judge its answer."""
        return self._rng.uniform(*BUSY_DELAY_S)

    # -- prompts ----------------------------------------------------------------------------

    def can_issue(self, student_id: str) -> bool:
        track = self.tracks.get(student_id)
        return (
            not self.ended and track is not None and track.connected and track.open_prompt is None
        )

    def issue(self, student_id: str, prompt_id: str, now: datetime) -> OpenPrompt:
        if not self.can_issue(student_id):
            raise RulesError(f"cannot issue a prompt to {student_id}")
        challenge = "none"
        if self._rng.random() < self.policy.challenge_probability:
            challenge = self._rng.choice(CHALLENGES)
        prompt = OpenPrompt(
            prompt_id=prompt_id,
            student_id=student_id,
            issued_at=now,
            deadline=now + timedelta(seconds=self.policy.deadline_s),
            challenge=challenge,
            max_frames=self.policy.max_frames,
        )
        track = self.tracks[student_id]
        track.open_prompt = prompt
        track.counts.issued += 1
        self._open[prompt_id] = prompt
        return prompt

    def open_prompt(self, prompt_id: str) -> OpenPrompt | None:
        return self._open.get(prompt_id)

    def open_prompts(self) -> list[OpenPrompt]:
        return list(self._open.values())

    def refusal(self, student_id: str, prompt_id: str, now: datetime) -> Refusal | None:
        """Why a frame for this prompt would be refused now; None when it would be admitted."""
        track = self.tracks.get(student_id)
        if track is None:
            return Refusal.UNKNOWN_PROMPT
        prompt = track.open_prompt
        if prompt is None or prompt.prompt_id != prompt_id:
            if track.recent.get(prompt_id):
                return Refusal.EXPIRED
            return Refusal.UNKNOWN_PROMPT
        if prompt.deadline_passed or now > prompt.deadline + DEADLINE_GRACE:
            return Refusal.EXPIRED
        if prompt.attempts_left <= 0:
            # Every allowed frame is already being judged.
            return Refusal.UNKNOWN_PROMPT
        return None

    def begin_frame(self, student_id: str, prompt_id: str, now: datetime) -> FrameTicket | Refusal:
        """Admit one frame for judging, or say why it is refused.

        A frame is only ever the answer to the sender's own open prompt, before its deadline,
        within ``max_frames``.
        """
        if (refusal := self.refusal(student_id, prompt_id, now)) is not None:
            return refusal
        prompt = self.tracks[student_id].open_prompt
        assert prompt is not None
        prompt.frames_started += 1
        prompt.frames_in_flight += 1
        return FrameTicket(prompt_id, student_id, prompt.challenge, now)

    def cancel_frame(
        self, ticket: FrameTicket, now: datetime, *, busy: bool = False
    ) -> FrameResult:
        """Give back the attempt of a frame that could not be judged.

        ``busy``: the server had no room to judge it (its vision pool was full). A prompt
        whose every frame met a busy server is cancelled at its deadline, not missed: the
        student answered, the server could not check. (A frame that made the detector fault
        is not ``busy``: a frame a student can make fail that way must not excuse a prompt.)

        If the deadline passed meanwhile, this was the frame the prompt waited for: the
        result then carries the prompt's resolution.
        """
        prompt = self._open.get(ticket.prompt_id)
        if prompt is None:
            return FrameResult(ticket.prompt_id, Refusal.RATE_LIMITED, True, 0, None)
        prompt.frames_started -= 1
        prompt.frames_in_flight -= 1
        if busy:
            prompt.frames_refused += 1
        if prompt.deadline_passed:
            if prompt.frames_in_flight:
                return FrameResult(ticket.prompt_id, Refusal.RATE_LIMITED, False, 0, None)
            resolution = self._resolve(prompt, self._deadline_status(prompt), now, True)
            return FrameResult(ticket.prompt_id, Refusal.RATE_LIMITED, True, 0, resolution)
        return FrameResult(
            ticket.prompt_id, Refusal.RATE_LIMITED, False, prompt.attempts_left, None
        )

    def finish_frame(
        self, ticket: FrameTicket, outcome: str, passed: bool, now: datetime
    ) -> FrameResult:
        """Apply one judged frame's outcome to its prompt."""
        prompt = self._frame_done(ticket, outcome, now)
        if prompt is None:
            # A concurrent frame already resolved the prompt (or the lesson ended): this
            # verdict is logged only and does not change what the tutor sees.
            return FrameResult(ticket.prompt_id, outcome, True, 0, None)
        if passed:
            resolution = self._resolve(prompt, PromptStatus.PASSED, now, False)
            return FrameResult(ticket.prompt_id, outcome, True, 0, resolution)
        if outcome == DIFFERENT_PERSON:
            prompt.mismatched = True
        return self._undecided(prompt, outcome, now)

    def finish_uncertain(self, ticket: FrameTicket, outcome: str, now: datetime) -> FrameResult:
        """A frame that passed presence but whose identity could not be decided: it uses its
        attempt and the student is asked for another; a prompt with no frame left, or past its
        deadline, passes on presence (identity inconclusive, never a failure by itself)."""
        prompt = self._frame_done(ticket, outcome, now)
        if prompt is None:
            return FrameResult(ticket.prompt_id, outcome, True, 0, None)
        prompt.presence_passed = True
        return self._undecided(prompt, outcome, now)

    def _frame_done(self, ticket: FrameTicket, outcome: str, now: datetime) -> OpenPrompt | None:
        prompt = self._open.get(ticket.prompt_id)
        if prompt is None:
            return None
        track = self.tracks[ticket.student_id]
        track.last_outcome = outcome
        track.last_check_at = now
        prompt.frames_in_flight -= 1
        return prompt

    def _undecided(self, prompt: OpenPrompt, outcome: str, now: datetime) -> FrameResult:
        """After a frame that did not pass: resolve when no frame or time is left."""
        out_of_frames = prompt.attempts_left <= 0 and prompt.frames_in_flight == 0
        if out_of_frames or (prompt.deadline_passed and prompt.frames_in_flight == 0):
            resolution = self._resolve(
                prompt, prompt.status_if_undecided, now, by_deadline=not out_of_frames
            )
            return FrameResult(prompt.prompt_id, outcome, True, 0, resolution)
        attempts_left = 0 if prompt.deadline_passed else prompt.attempts_left
        return FrameResult(prompt.prompt_id, outcome, False, attempts_left, None)

    def deadline(self, prompt_id: str, now: datetime) -> Resolution | None:
        """The prompt's deadline came. Resolves it unless a frame is still being judged."""
        prompt = self._open.get(prompt_id)
        if prompt is None:
            return None
        if prompt.frames_in_flight > 0:
            prompt.deadline_passed = True
            return None
        return self._resolve(prompt, self._deadline_status(prompt), now, True)

    def withdraw(self, prompt_id: str, now: datetime) -> Resolution | None:
        """Take back a prompt that never reached the student (it could not be recorded)."""
        prompt = self._open.get(prompt_id)
        if prompt is None:
            return None
        return self._resolve(prompt, PromptStatus.CANCELLED, now, True)

    def end(self, now: datetime) -> list[Resolution]:
        """The lesson ended: cancel every open prompt; no new prompt can be issued."""
        self.ended = True
        return [
            self._resolve(prompt, PromptStatus.CANCELLED, now, True)
            for prompt in list(self._open.values())
        ]

    @staticmethod
    def _deadline_status(prompt: OpenPrompt) -> PromptStatus:
        if prompt.frames_started:
            return prompt.status_if_undecided
        return PromptStatus.CANCELLED if prompt.frames_refused else PromptStatus.MISSED

    def _resolve(
        self, prompt: OpenPrompt, status: PromptStatus, now: datetime, by_deadline: bool
    ) -> Resolution:
        del self._open[prompt.prompt_id]
        track = self.tracks[prompt.student_id]
        track.open_prompt = None
        track.counts.add(status)
        track.remember(prompt.prompt_id, by_deadline=by_deadline)
        if status is not PromptStatus.CANCELLED:
            track.last_status = status
            if status is PromptStatus.MISSED:
                track.last_outcome = "missed"
                track.last_check_at = now
        return Resolution(prompt.prompt_id, prompt.student_id, status, now)
