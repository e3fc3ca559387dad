"""Property-based tests (Hypothesis) of the socket payload validators and the classroom rules.

The validators take anything a client can send and must either return a well-formed value or
raise PayloadError, never another exception. The rules are driven by a state machine through
random sequences of connects, disconnects, prompts, frames (admitted, judged, given back),
deadlines, withdrawals and the end of the lesson, with the clock moving forward; after every
step the counts must add up and no prompt may be open twice, resolve twice or take a frame
once resolved.

Runs are derandomized (the same examples every run, in CI too) and write no example database.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain.attendance import Counts, connected_seconds, decide_attendance
from domain.policy import Policy
from domain.statuses import Attendance, PromptStatus, StudentState
from realtime import payloads
from realtime.errors import PayloadError
from realtime.rules import (
    DEADLINE_GRACE,
    Classroom,
    FrameTicket,
    OpenPrompt,
    Refusal,
    Resolution,
    RulesError,
    Track,
)

QUICK = settings(
    derandomize=True,
    database=None,
    deadline=None,  # two shared cores: wall-clock time per example is not a property
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- anything a Socket.IO client can send ------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.binary(max_size=64)
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
IDS = st.uuids().map(str) | st.uuids().map(lambda u: u.hex.upper()) | st.text(max_size=70)
PAYLOADS = JSONISH | st.fixed_dictionaries(
    {},
    optional={
        "prompt_id": JSONISH | IDS | st.text(min_size=60, max_size=70),
        "image": JSONISH
        | st.binary(max_size=64)
        | st.binary(max_size=64).map(bytearray)
        | st.binary(max_size=64).map(memoryview),
        "token": JSONISH | st.text(max_size=200),
        "lesson_id": JSONISH | IDS,
        "student_id": JSONISH | IDS,
        "state": JSONISH | st.sampled_from(sorted(payloads.CAMERA_STATES)),
    },
)


def _short_error(exc: PayloadError) -> None:
    # The message names the field; it never echoes what the client sent.
    assert 0 < len(str(exc)) <= 120, str(exc)


@QUICK
@given(PAYLOADS)
def test_capture_returns_a_frame_or_says_which_field_is_wrong(data: Any) -> None:
    try:
        frame = payloads.capture(data)
    except PayloadError as exc:
        _short_error(exc)
        return
    assert isinstance(frame.prompt_id, str) and 0 < len(frame.prompt_id) <= payloads.MAX_ID_CHARS
    assert isinstance(frame.image, bytes) and frame.image
    assert payloads.prompt_id_of(data) == frame.prompt_id


@QUICK
@given(PAYLOADS)
def test_prompt_id_of_echoes_only_a_well_formed_id(data: Any) -> None:
    echoed = payloads.prompt_id_of(data)
    assert echoed is None or (isinstance(echoed, str) and 0 < len(echoed) <= payloads.MAX_ID_CHARS)


@QUICK
@given(PAYLOADS)
def test_connect_auth_returns_a_token_and_lesson_id_or_refuses(auth: Any) -> None:
    try:
        parsed = payloads.connect_auth(auth)
    except PayloadError as exc:
        _short_error(exc)
        return
    assert isinstance(parsed.token, str) and parsed.token
    assert isinstance(parsed.lesson_id, uuid.UUID)


@QUICK
@given(PAYLOADS)
def test_camera_state_is_one_of_the_three_or_refused(data: Any) -> None:
    try:
        state = payloads.camera_state(data)
    except PayloadError as exc:
        _short_error(exc)
        return
    assert state in payloads.CAMERA_STATES


@QUICK
@given(PAYLOADS)
def test_check_now_target_is_everyone_one_id_or_refused(data: Any) -> None:
    try:
        target = payloads.check_now_target(data)
    except PayloadError as exc:
        _short_error(exc)
        return
    assert target is None or isinstance(target, uuid.UUID)


# -- the attendance decision ----------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RATIOS = st.floats(min_value=0, max_value=1)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    present, partial = sorted((draw(RATIOS), draw(RATIOS)), reverse=True)
    return Policy(
        present_ratio=present,
        partial_ratio=partial,
        present_connected_ratio=draw(RATIOS),
    )


@QUICK
@given(
    counts=st.builds(
        Counts,
        issued=st.integers(0, 50),
        passed=st.integers(0, 50),
        failed=st.integers(0, 50),
        missed=st.integers(0, 50),
    ),
    connected_s=st.floats(0, 1e6),
    live_s=st.floats(0, 1e6),
    policy=policies(),
)
def test_no_answered_prompt_is_never_present(
    counts: Counts, connected_s: float, live_s: float, policy: Policy
) -> None:
    decision = decide_attendance(counts, connected_s, live_s, policy)
    ratio = counts.ratio
    assert ratio is None or 0 <= ratio <= 1
    if counts.passed == 0:
        assert decision is Attendance.ABSENT
    if decision is Attendance.PRESENT:
        assert ratio is not None and ratio >= policy.present_ratio - 1e-9
        assert live_s > 0 and connected_s / live_s >= policy.present_connected_ratio - 1e-9
    if decision is not Attendance.ABSENT:
        assert ratio is not None and ratio >= policy.partial_ratio - 1e-9


@QUICK
@given(
    st.lists(st.tuples(st.floats(-100, 1100), st.none() | st.floats(-100, 1100)), max_size=8),
    st.floats(0, 1000),
)
def test_connected_time_is_within_the_live_window(
    spans: list[tuple[float, float | None]], live_s: float
) -> None:
    at = [
        (T0 + timedelta(seconds=a), None if b is None else T0 + timedelta(seconds=b))
        for a, b in spans
    ]
    total = connected_seconds(at, T0, T0 + timedelta(seconds=live_s))
    assert 0 <= total <= live_s + 1e-6
    # Connections that overlap count once: never more than the window, whatever the count.
    doubled = connected_seconds(at + at, T0, T0 + timedelta(seconds=live_s))
    assert math.isclose(doubled, total, abs_tol=1e-6)


# -- the classroom rules as a state machine ------------------------------------------------------

STUDENTS = ("ada", "ben", "cy")
PICK = st.integers(min_value=0, max_value=1_000)


class ClassroomMachine(RuleBasedStateMachine):
    """Random lessons; a model of what was issued and resolved is checked against the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.room = Classroom("lesson", Policy(), random.Random(0))
        self.now = T0
        self.ids = 0
        self.issued: dict[str, OpenPrompt] = {}  # every prompt ever issued, by id
        self.resolutions: dict[str, Resolution] = {}
        self.tickets: list[FrameTicket] = []
        self.admitted: Counter[str] = Counter()  # frames admitted per prompt, net of give-backs
        self.refused_busy: Counter[str] = Counter()  # frames given back: the server was busy

    @initialize(
        max_frames=st.integers(1, 4),
        deadline_s=st.sampled_from([1.0, 5.0, 15.0]),
        challenge=st.sampled_from([0.0, 0.5]),
        seed=st.integers(0, 2**16),
    )
    def start(self, max_frames: int, deadline_s: float, challenge: float, seed: int) -> None:
        policy = Policy(
            max_frames=max_frames, deadline_s=deadline_s, challenge_probability=challenge
        )
        self.room = Classroom("lesson", policy, random.Random(seed))
        for student in STUDENTS:
            self.room.enrol(Track(student, student.title()))
            self.room.connect(student)

    # -- helpers ------------------------------------------------------------------------------

    def _record(self, resolution: Resolution | None) -> None:
        if resolution is None:
            return
        assert resolution.prompt_id not in self.resolutions, "a prompt resolved twice"
        assert resolution.prompt_id in self.issued
        assert resolution.student_id == self.issued[resolution.prompt_id].student_id
        assert resolution.at == self.now
        self.resolutions[resolution.prompt_id] = resolution

    def _known_ids(self) -> list[str]:
        return [*self.issued, "made-up", ""]

    def _counts_of(self, student: str) -> Counts:
        mine = [r.status for r in self.resolutions.values() if r.student_id == student]
        counts = Counts.from_statuses(mine)
        # Counts.from_statuses counts resolved prompts; an open one is issued too.
        if self.room.track(student).open_prompt is not None:
            counts.issued += 1
        return counts

    # -- events ---------------------------------------------------------------------------------

    @rule(seconds=st.floats(min_value=0, max_value=3) | st.floats(min_value=0, max_value=30))
    def time_passes(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(student=st.sampled_from(STUDENTS))
    def connect(self, student: str) -> None:
        was = self.room.track(student).connections
        came_online = self.room.connect(student)
        assert came_online == (was == 0)

    @rule(student=st.sampled_from(STUDENTS))
    def disconnect(self, student: str) -> None:
        was = self.room.track(student).connections
        went_offline = self.room.disconnect(student)
        assert went_offline == (was == 1)
        assert self.room.track(student).connections == max(0, was - 1)

    @rule(student=st.sampled_from(STUDENTS))
    def issue(self, student: str) -> None:
        track = self.room.track(student)
        if not self.room.can_issue(student):
            # Never two open prompts, none to an offline student, none after the end.
            assert self.room.ended or not track.connected or track.open_prompt is not None
            with pytest.raises(RulesError):
                self.room.issue(student, f"p{self.ids}", self.now)
            return
        self.ids += 1
        prompt = self.room.issue(student, f"p{self.ids}", self.now)
        assert prompt.student_id == student and prompt.issued_at == self.now
        assert prompt.challenge in ("none", "turn_left", "turn_right")
        self.issued[prompt.prompt_id] = prompt

    @precondition(lambda self: self.room.open_prompts())
    @rule(pick=PICK)
    def answer(self, pick: int) -> None:
        """The student answers their own open prompt: admitted while time and attempts last."""
        open_prompts = self.room.open_prompts()
        prompt = open_prompts[pick % len(open_prompts)]
        allowed = (
            not prompt.deadline_passed
            and self.now <= prompt.deadline + DEADLINE_GRACE
            and prompt.attempts_left > 0
        )
        ticket = self.room.begin_frame(prompt.student_id, prompt.prompt_id, self.now)
        if not allowed:
            assert isinstance(ticket, Refusal)
            return
        assert isinstance(ticket, FrameTicket)
        assert (ticket.student_id, ticket.challenge) == (prompt.student_id, prompt.challenge)
        self.admitted[prompt.prompt_id] += 1
        assert self.admitted[prompt.prompt_id] <= self.room.policy.max_frames
        self.tickets.append(ticket)

    @rule(student=st.sampled_from(STUDENTS), pick=PICK)
    def begin_frame(self, student: str, pick: int) -> None:
        """Any student names any prompt id, their own or not, open or not."""
        ids = self._known_ids()
        prompt_id = ids[pick % len(ids)]
        prompt = self.issued.get(prompt_id)
        ticket = self.room.begin_frame(student, prompt_id, self.now)
        if isinstance(ticket, FrameTicket):
            # Only the sender's own open prompt, before its deadline, within max_frames.
            assert prompt is not None and prompt.student_id == student
            assert prompt_id not in self.resolutions
            assert self.now <= prompt.deadline + DEADLINE_GRACE
            self.admitted[prompt_id] += 1
            assert self.admitted[prompt_id] <= self.room.policy.max_frames
            self.tickets.append(ticket)
            return
        assert isinstance(ticket, Refusal)
        if prompt is None:
            assert ticket is Refusal.UNKNOWN_PROMPT
        elif prompt.student_id != student:
            assert ticket is Refusal.UNKNOWN_PROMPT  # never "expired": no hint it exists
        elif prompt_id in self.resolutions:
            assert ticket in (Refusal.UNKNOWN_PROMPT, Refusal.EXPIRED)

    @precondition(lambda self: self.tickets)
    @rule(pick=PICK, passed=st.booleans())
    def finish_frame(self, pick: int, passed: bool) -> None:
        ticket = self.tickets.pop(pick % len(self.tickets))
        was_resolved = ticket.prompt_id in self.resolutions
        before = self.room.track(ticket.student_id).counts
        snapshot = (before.issued, before.passed, before.failed, before.missed)
        outcome = "present" if passed else "no_face"
        result = self.room.finish_frame(ticket, outcome, passed, self.now)
        assert result.prompt_id == ticket.prompt_id and result.outcome == outcome
        if was_resolved:
            # Nothing is accepted for a resolved prompt: a late verdict changes no count.
            assert result.resolution is None and result.final
            after = self.room.track(ticket.student_id).counts
            assert (after.issued, after.passed, after.failed, after.missed) == snapshot
            return
        self._record(result.resolution)
        if passed:
            assert result.resolution is not None
            assert result.resolution.status is PromptStatus.PASSED
        if result.resolution is not None:
            assert result.final and result.attempts_left == 0
        else:
            assert not result.final and result.attempts_left >= 0

    @precondition(lambda self: self.tickets)
    @rule(pick=PICK, busy=st.booleans())
    def cancel_frame(self, pick: int, busy: bool) -> None:
        """A frame given back unjudged: the server was too busy (``busy``), or it faulted."""
        ticket = self.tickets.pop(pick % len(self.tickets))
        was_resolved = ticket.prompt_id in self.resolutions
        result = self.room.cancel_frame(ticket, self.now, busy=busy)
        assert result.outcome is Refusal.RATE_LIMITED
        if was_resolved:
            assert result.resolution is None and result.final
            return
        self.admitted[ticket.prompt_id] -= 1
        if busy:
            self.refused_busy[ticket.prompt_id] += 1
        self._record(result.resolution)
        if result.resolution is not None:
            assert result.resolution.status is self._deadline_status(ticket.prompt_id)

    @precondition(lambda self: self.issued)
    @rule(pick=PICK)
    def deadline(self, pick: int) -> None:
        """The deadline timer fires (at the deadline plus its grace, as the hub arms it)."""
        prompt = list(self.issued.values())[pick % len(self.issued)]
        self.now = max(self.now, prompt.deadline + DEADLINE_GRACE)
        was_resolved = prompt.prompt_id in self.resolutions
        in_flight = prompt.frames_in_flight
        resolution = self.room.deadline(prompt.prompt_id, self.now)
        if was_resolved:
            assert resolution is None
            return
        if in_flight:
            assert resolution is None  # waits for the frames being judged
            assert self.room.open_prompt(prompt.prompt_id) is prompt
            return
        assert resolution is not None
        assert resolution.status is self._deadline_status(prompt.prompt_id)
        self._record(resolution)

    def _deadline_status(self, prompt_id: str) -> PromptStatus:
        """What a deadline makes of a prompt: failed once a frame was judged; cancelled when
        frames came but the server was too busy for every one; missed when none came."""
        if self.admitted[prompt_id]:
            return PromptStatus.FAILED
        return PromptStatus.CANCELLED if self.refused_busy[prompt_id] else PromptStatus.MISSED

    @precondition(lambda self: self.issued)
    @rule(pick=PICK)
    def withdraw(self, pick: int) -> None:
        prompt_id = list(self.issued)[pick % len(self.issued)]
        was_resolved = prompt_id in self.resolutions
        resolution = self.room.withdraw(prompt_id, self.now)
        if was_resolved:
            assert resolution is None
            return
        assert resolution is not None and resolution.status is PromptStatus.CANCELLED
        self._record(resolution)

    @precondition(lambda self: len(self.issued) >= 6)  # late in a lesson, not at its start
    @rule()
    def end(self) -> None:
        open_before = {p.prompt_id for p in self.room.open_prompts()}
        for resolution in self.room.end(self.now):
            assert resolution.status is PromptStatus.CANCELLED
            assert resolution.prompt_id in open_before
            self._record(resolution)
        assert self.room.ended and self.room.open_prompts() == []

    # -- what must always hold ------------------------------------------------------------

    @invariant()
    def counts_add_up(self) -> None:
        for student in STUDENTS:
            track = self.room.track(student)
            counts = track.counts
            open_now = 1 if track.open_prompt is not None else 0
            assert counts.issued == counts.passed + counts.failed + counts.missed + open_now
            assert min(counts.issued, counts.passed, counts.failed, counts.missed) >= 0
            assert counts.ratio is None or 0 <= counts.ratio <= 1
            expected = self._counts_of(student)
            assert (counts.issued, counts.passed, counts.failed, counts.missed) == (
                expected.issued,
                expected.passed,
                expected.failed,
                expected.missed,
            )

    @invariant()
    def at_most_one_open_prompt_per_student(self) -> None:
        open_prompts = self.room.open_prompts()
        owners = [p.student_id for p in open_prompts]
        assert len(owners) == len(set(owners))
        for prompt in open_prompts:
            assert self.room.track(prompt.student_id).open_prompt is prompt
            assert prompt.prompt_id not in self.resolutions
            assert 0 <= prompt.frames_in_flight <= prompt.frames_started
            assert prompt.frames_started <= prompt.max_frames
        for student in STUDENTS:
            prompt = self.room.track(student).open_prompt
            assert prompt is None or prompt in open_prompts
        unresolved = set(self.issued) - set(self.resolutions)
        assert unresolved == {p.prompt_id for p in open_prompts}

    @invariant()
    def the_state_follows_the_facts(self) -> None:
        for student in STUDENTS:
            track = self.room.track(student)
            assert track.connections >= 0
            state = track.state
            if not track.connected:
                assert state is StudentState.OFFLINE
            elif track.open_prompt is not None:
                assert state is StudentState.CHECKING
            else:
                assert state is not StudentState.CHECKING
        if self.room.ended:
            assert not any(self.room.can_issue(s) for s in STUDENTS)


ClassroomMachine.TestCase.settings = settings(QUICK, max_examples=400, stateful_step_count=50)
TestClassroomRules = ClassroomMachine.TestCase
