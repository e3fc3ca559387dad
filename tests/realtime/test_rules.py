"""Unit tests for the classroom rules (realtime/rules.py): no I/O, no sleeping.

Time is passed in as timezone-aware UTC datetimes built from ``T0``; randomness comes from an
injected, seeded ``random.Random``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.attendance import Counts, connected_seconds, decide_attendance
from domain.policy import Policy
from domain.statuses import Attendance, PromptStatus, StudentState
from realtime.rules import (
    CHALLENGES,
    DEADLINE_GRACE,
    RECENT_PROMPTS,
    Classroom,
    FrameResult,
    FrameTicket,
    OpenPrompt,
    Refusal,
    Resolution,
    RulesError,
    Track,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_room(
    policy: Policy | None = None,
    *,
    seed: int = 0,
    students: tuple[str, ...] = ("alice", "bob"),
    connect: bool = True,
) -> Classroom:
    room = Classroom("lesson-1", policy or Policy(), random.Random(seed))
    for student in students:
        room.enrol(Track(student, student.title()))
        if connect:
            room.connect(student)
    return room


def issue(room: Classroom, student: str = "alice", now: datetime = T0) -> OpenPrompt:
    return room.issue(student, f"prompt-{next(_ids)}", now)


def begin(room: Classroom, prompt: OpenPrompt, now: datetime | None = None) -> FrameTicket:
    ticket = room.begin_frame(prompt.student_id, prompt.prompt_id, now or prompt.issued_at)
    assert isinstance(ticket, FrameTicket), ticket
    return ticket


def finish(
    room: Classroom, ticket: FrameTicket, passed: bool, now: datetime | None = None
) -> FrameResult:
    outcome = "present" if passed else "no_face"
    return room.finish_frame(ticket, outcome, passed, now or ticket.received_at)


def judge(
    room: Classroom, prompt: OpenPrompt, passed: bool, now: datetime | None = None
) -> FrameResult:
    """One frame sent, admitted and judged in one go."""
    return finish(room, begin(room, prompt, now), passed, now)


def miss(room: Classroom, prompt: OpenPrompt) -> Resolution | None:
    return room.deadline(prompt.prompt_id, prompt.deadline)


def assert_counts_consistent(room: Classroom) -> None:
    for track in room.tracks.values():
        counts = track.counts
        open_ = 1 if track.open_prompt is not None else 0
        assert counts.issued == counts.passed + counts.failed + counts.missed + open_, track


# -- StudentState ---------------------------------------------------------------------------

Step = Callable[[Classroom], object]


def _connect(room: Classroom) -> None:
    room.connect("alice")


def _disconnect(room: Classroom) -> None:
    room.disconnect("alice")


def _issue(room: Classroom) -> None:
    issue(room)


def _pass(room: Classroom) -> None:
    prompt = room.track("alice").open_prompt
    assert prompt is not None
    assert judge(room, prompt, passed=True).resolution is not None


def _fail_all(room: Classroom) -> None:
    prompt = room.track("alice").open_prompt
    assert prompt is not None
    for _ in range(prompt.max_frames):
        result = judge(room, prompt, passed=False)
    assert result.resolution is not None
    assert result.resolution.status is PromptStatus.FAILED


def _fail_once_then_deadline(room: Classroom) -> None:
    prompt = room.track("alice").open_prompt
    assert prompt is not None
    judge(room, prompt, passed=False)
    resolution = miss(room, prompt)
    assert resolution is not None
    assert resolution.status is PromptStatus.FAILED


def _miss(room: Classroom) -> None:
    prompt = room.track("alice").open_prompt
    assert prompt is not None
    resolution = miss(room, prompt)
    assert resolution is not None
    assert resolution.status is PromptStatus.MISSED


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param([], StudentState.OFFLINE, id="enrolled-never-connected"),
        pytest.param([_connect], StudentState.WAITING, id="connected-never-checked"),
        pytest.param([_connect, _issue], StudentState.CHECKING, id="prompt-open"),
        pytest.param(
            [_connect, _issue, _disconnect], StudentState.OFFLINE, id="offline-with-open-prompt"
        ),
        pytest.param([_connect, _issue, _pass], StudentState.VERIFIED, id="passed"),
        pytest.param([_connect, _issue, _fail_all], StudentState.FLAGGED, id="failed-all-frames"),
        pytest.param(
            [_connect, _issue, _fail_once_then_deadline],
            StudentState.FLAGGED,
            id="failed-at-deadline",
        ),
        pytest.param([_connect, _issue, _miss], StudentState.FLAGGED, id="missed"),
        pytest.param(
            [_connect, _issue, _pass, _issue, _miss], StudentState.FLAGGED, id="passed-then-missed"
        ),
        pytest.param(
            [_connect, _issue, _miss, _issue, _pass], StudentState.VERIFIED, id="missed-then-passed"
        ),
        pytest.param(
            [_connect, _issue, _pass, _issue], StudentState.CHECKING, id="verified-then-checking"
        ),
        pytest.param(
            [_connect, _issue, _pass, _disconnect], StudentState.OFFLINE, id="verified-then-left"
        ),
        pytest.param(
            [_connect, _issue, _miss, _disconnect, _connect],
            StudentState.FLAGGED,
            id="flagged-survives-reconnect",
        ),
        pytest.param(
            [_connect, _issue, _disconnect, _miss], StudentState.OFFLINE, id="missed-while-offline"
        ),
        pytest.param(
            [_connect, _issue, _disconnect, _connect],
            StudentState.CHECKING,
            id="reconnect-with-open-prompt",
        ),
    ],
)
def test_student_state_transitions(steps: list[Step], expected: StudentState) -> None:
    room = make_room(connect=False)
    for step in steps:
        step(room)
    assert room.track("alice").state is expected
    assert room.track("bob").state is StudentState.OFFLINE
    assert_counts_consistent(room)


def test_connect_reports_coming_online_only_for_the_first_connection() -> None:
    room = make_room(connect=False)
    assert room.connect("alice") is True
    assert room.connect("alice") is False
    assert room.track("alice").connected
    assert room.track("alice").state is StudentState.WAITING


def test_two_connections_go_offline_only_when_both_are_gone() -> None:
    room = make_room(connect=False)
    room.connect("alice")
    room.connect("alice")

    assert room.disconnect("alice") is False
    assert room.track("alice").connected
    assert room.track("alice").state is StudentState.WAITING

    assert room.disconnect("alice") is True
    assert not room.track("alice").connected
    assert room.track("alice").state is StudentState.OFFLINE


def test_extra_disconnect_never_leaves_a_negative_connection_count() -> None:
    room = make_room(connect=False)
    room.connect("alice")
    room.disconnect("alice")
    room.disconnect("alice")  # a duplicate disconnect event
    assert room.track("alice").connections == 0
    # One new connection brings the student back online.
    assert room.connect("alice") is True
    assert room.track("alice").state is StudentState.WAITING


def test_camera_resets_to_unknown_on_the_last_disconnect() -> None:
    room = make_room(connect=False)
    room.connect("alice")
    room.connect("alice")
    room.set_camera("alice", "ok")

    room.disconnect("alice")
    assert room.track("alice").camera == "ok"  # the other tab still streams

    room.disconnect("alice")
    assert room.track("alice").camera == "unknown"


@pytest.mark.parametrize(
    ("states", "changed"),
    [
        (["ok"], [True]),
        (["ok", "ok"], [True, False]),
        (["ok", "denied"], [True, True]),
        (["unavailable", "unavailable", "ok"], [True, False, True]),
        (["unknown"], [False]),
    ],
)
def test_set_camera_returns_whether_it_changed(states: list[str], changed: list[bool]) -> None:
    room = make_room()
    assert [room.set_camera("alice", state) for state in states] == changed
    assert room.track("alice").camera == states[-1]


def test_set_camera_after_going_offline_reports_a_change_from_unknown() -> None:
    room = make_room()
    room.set_camera("alice", "ok")
    room.disconnect("alice")
    room.connect("alice")
    assert room.track("alice").camera == "unknown"
    assert room.set_camera("alice", "ok") is True


# -- issue() --------------------------------------------------------------------------------


def _not_connected(room: Classroom) -> str:
    room.disconnect("alice")
    return "alice"


def _not_enrolled(room: Classroom) -> str:
    return "mallory"


def _prompt_open(room: Classroom) -> str:
    issue(room)
    return "alice"


def _prompt_open_second_connection(room: Classroom) -> str:
    issue(room)
    room.connect("alice")
    return "alice"


def _prompt_open_after_reconnect(room: Classroom) -> str:
    issue(room)
    room.disconnect("alice")
    room.connect("alice")
    return "alice"


def _lesson_ended(room: Classroom) -> str:
    room.end(T0)
    return "alice"


@pytest.mark.parametrize(
    "setup",
    [
        _not_connected,
        _not_enrolled,
        _prompt_open,
        _prompt_open_second_connection,
        _prompt_open_after_reconnect,
        _lesson_ended,
    ],
)
def test_issue_refuses(setup: Callable[[Classroom], str]) -> None:
    room = make_room()
    student = setup(room)
    before = {sid: (t.counts.issued, t.open_prompt) for sid, t in room.tracks.items()}

    assert room.can_issue(student) is False
    with pytest.raises(RulesError):
        room.issue(student, "prompt-refused", at(1))

    after = {sid: (t.counts.issued, t.open_prompt) for sid, t in room.tracks.items()}
    assert after == before
    assert room.open_prompt("prompt-refused") is None


def test_a_student_can_never_hold_two_open_prompts() -> None:
    room = make_room()
    first = issue(room)
    with pytest.raises(RulesError):
        issue(room, now=at(1))
    assert room.track("alice").open_prompt is first
    assert room.track("alice").counts.issued == 1


def test_one_students_open_prompt_does_not_block_another() -> None:
    room = make_room()
    issue(room, "alice")
    assert room.can_issue("bob")
    prompt = issue(room, "bob")
    assert room.track("bob").open_prompt is prompt


@pytest.mark.parametrize("deadline_s", [15.0, 30.0, 7.5, 1.0])
def test_issue_sets_the_deadline_from_the_policy(deadline_s: float) -> None:
    room = make_room(Policy(deadline_s=deadline_s, max_frames=2))
    issued_at = at(42)
    prompt = issue(room, now=issued_at)

    assert prompt.issued_at == issued_at
    assert prompt.deadline == issued_at + timedelta(seconds=deadline_s)
    assert prompt.student_id == "alice"
    assert prompt.max_frames == 2
    assert prompt.attempts_left == 2
    assert room.open_prompt(prompt.prompt_id) is prompt
    assert room.track("alice").open_prompt is prompt


def test_issue_counts_every_issued_prompt() -> None:
    room = make_room()
    for n in range(1, 4):
        prompt = issue(room, now=at(100 * n))
        assert room.track("alice").counts.issued == n
        judge(room, prompt, passed=True)
    assert room.track("alice").counts.issued == 3
    assert room.track("bob").counts.issued == 0


def test_challenge_probability_zero_never_asks_for_a_challenge() -> None:
    challenges = {
        issue(make_room(Policy(challenge_probability=0.0), seed=seed)).challenge
        for seed in range(300)
    }
    assert challenges == {"none"}


def test_challenge_probability_one_always_asks_for_a_head_turn_in_both_directions() -> None:
    challenges = [
        issue(make_room(Policy(challenge_probability=1.0), seed=seed)).challenge
        for seed in range(200)
    ]
    assert set(challenges) == set(CHALLENGES) == {"turn_left", "turn_right"}


def test_default_challenge_probability_mixes_plain_and_challenge_prompts() -> None:
    room = make_room(seed=7)
    challenges = []
    for n in range(500):
        prompt = issue(room, now=at(n))
        challenges.append(prompt.challenge)
        judge(room, prompt, passed=True)
    share = sum(c != "none" for c in challenges) / len(challenges)
    assert set(challenges) == {"none", "turn_left", "turn_right"}
    assert 0.1 < share < 0.3  # policy default 0.2


def test_the_frame_ticket_carries_the_prompts_challenge() -> None:
    room = make_room(Policy(challenge_probability=1.0))
    prompt = issue(room)
    ticket = begin(room, prompt)
    assert ticket.challenge == prompt.challenge
    assert ticket.challenge in CHALLENGES


# -- restoring a lesson ------------------------------------------------------------------------


def test_enrolling_a_restored_track_with_an_open_prompt_keeps_the_prompt_answerable() -> None:
    room = Classroom("lesson-1", Policy(), random.Random(0))
    prompt = OpenPrompt(
        prompt_id="restored",
        student_id="alice",
        issued_at=at(0),
        deadline=at(15),
        challenge="none",
        max_frames=3,
    )
    room.enrol(Track("alice", "Alice", counts=Counts(issued=2, passed=1), open_prompt=prompt))
    room.enrol(Track("bob", "Bob"))
    room.connect("alice")

    assert room.open_prompt("restored") is prompt
    assert room.open_prompts() == [prompt]
    assert room.track("alice").state is StudentState.CHECKING
    assert not room.can_issue("alice")
    assert isinstance(room.begin_frame("alice", "restored", at(5)), FrameTicket)
    assert room.deadline("restored", at(15)) is None  # the frame is still being judged


def test_open_prompts_lists_every_open_prompt() -> None:
    room = make_room(students=("alice", "bob", "carol"))
    alices, bobs = issue(room, "alice"), issue(room, "bob")
    assert sorted(p.prompt_id for p in room.open_prompts()) == sorted(
        [alices.prompt_id, bobs.prompt_id]
    )
    judge(room, alices, passed=True)
    assert room.open_prompts() == [bobs]
    room.end(at(5))
    assert room.open_prompts() == []


def test_policy_from_stored_values_ignores_unknown_keys_and_keeps_defaults() -> None:
    policy = Policy.from_stored({"deadline_s": 30.0, "max_frames": 5, "colour": "blue"})
    assert policy == Policy(deadline_s=30.0, max_frames=5)
    assert Policy.from_stored({}) == Policy()


# -- delays -----------------------------------------------------------------------------------

DELAY_POLICIES = [
    Policy(),
    Policy(
        first_prompt_min_s=1.0, first_prompt_max_s=2.0, interval_min_s=10.0, interval_max_s=11.0
    ),
    Policy(
        first_prompt_min_s=0.0, first_prompt_max_s=60.0, interval_min_s=30.0, interval_max_s=600.0
    ),
]


@pytest.mark.parametrize("policy", DELAY_POLICIES)
def test_first_delay_is_within_bounds_and_unpredictable(policy: Policy) -> None:
    low, high = policy.first_prompt_min_s, policy.first_prompt_max_s
    delays = [make_room(policy, seed=seed).first_delay() for seed in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 150
    assert max(delays) - min(delays) > 0.8 * (high - low)


@pytest.mark.parametrize("policy", DELAY_POLICIES)
def test_next_delay_is_within_bounds_and_unpredictable(policy: Policy) -> None:
    low, high = policy.interval_min_s, policy.interval_max_s
    room = make_room(policy, seed=3)
    delays = [room.next_delay() for _ in range(1000)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 900
    assert max(delays) - min(delays) > 0.9 * (high - low)
    # Not a fixed cadence: consecutive gaps differ.
    assert len({round(b - a, 6) for a, b in itertools.pairwise(delays)}) > 900


def test_delays_without_an_injected_rng_stay_within_bounds() -> None:
    room = Classroom("lesson-1", Policy())
    assert all(5.0 <= room.first_delay() <= 20.0 for _ in range(100))
    assert all(60.0 <= room.next_delay() <= 180.0 for _ in range(100))


def test_the_same_seed_gives_the_same_schedule() -> None:
    a, b = make_room(seed=11), make_room(seed=11)
    assert [a.next_delay() for _ in range(5)] == [b.next_delay() for _ in range(5)]


# -- begin_frame() ----------------------------------------------------------------------------


def test_begin_frame_admits_a_frame_for_the_students_own_open_prompt() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = room.begin_frame("alice", prompt.prompt_id, at(3))

    assert ticket == FrameTicket(prompt.prompt_id, "alice", prompt.challenge, at(3))
    assert prompt.attempts_left == 2
    assert room.track("alice").state is StudentState.CHECKING


def test_begin_frame_refuses_another_students_prompt() -> None:
    room = make_room()
    alices = issue(room, "alice")
    bobs = issue(room, "bob")

    assert room.begin_frame("alice", bobs.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT
    assert room.begin_frame("bob", alices.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT
    # Neither prompt lost an attempt to the other student's frame.
    assert alices.attempts_left == bobs.attempts_left == 3


def test_begin_frame_refuses_another_students_prompt_when_the_sender_has_none() -> None:
    room = make_room()
    bobs = issue(room, "bob")
    assert room.begin_frame("alice", bobs.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT
    assert bobs.attempts_left == 3


@pytest.mark.parametrize("with_open_prompt", [True, False])
def test_begin_frame_refuses_a_made_up_prompt_id(with_open_prompt: bool) -> None:
    room = make_room()
    if with_open_prompt:
        issue(room)
    assert room.begin_frame("alice", "not-a-prompt", at(1)) is Refusal.UNKNOWN_PROMPT


def test_begin_frame_refuses_an_unknown_student() -> None:
    room = make_room()
    prompt = issue(room)
    assert room.begin_frame("mallory", prompt.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT
    assert prompt.attempts_left == 3


def test_replaying_a_passed_prompt_is_refused_as_unknown() -> None:
    room = make_room()
    prompt = issue(room)
    judge(room, prompt, passed=True, now=at(2))

    assert room.begin_frame("alice", prompt.prompt_id, at(3)) is Refusal.UNKNOWN_PROMPT
    assert room.track("alice").counts == Counts(issued=1, passed=1)


def test_replaying_a_prompt_failed_on_all_frames_is_refused_as_unknown() -> None:
    room = make_room()
    prompt = issue(room)
    for _ in range(3):
        judge(room, prompt, passed=False, now=at(2))
    assert room.begin_frame("alice", prompt.prompt_id, at(3)) is Refusal.UNKNOWN_PROMPT


@pytest.mark.parametrize("frames_before_deadline", [0, 1, 2])
def test_answering_a_prompt_resolved_by_its_deadline_is_expired(
    frames_before_deadline: int,
) -> None:
    room = make_room()
    prompt = issue(room)
    for _ in range(frames_before_deadline):
        judge(room, prompt, passed=False, now=at(1))
    resolution = miss(room, prompt)
    assert resolution is not None

    late = prompt.deadline + timedelta(milliseconds=200)  # still inside the grace
    assert room.begin_frame("alice", prompt.prompt_id, late) is Refusal.EXPIRED
    # The late frame changes nothing.
    assert room.track("alice").counts.resolved == 1
    assert room.track("alice").state is StudentState.FLAGGED


def test_answering_a_prompt_cancelled_by_the_end_of_the_lesson_is_expired() -> None:
    room = make_room()
    prompt = issue(room)
    room.end(at(5))
    assert room.begin_frame("alice", prompt.prompt_id, at(6)) is Refusal.EXPIRED


@pytest.mark.parametrize(
    ("after_deadline", "admitted"),
    [
        (timedelta(seconds=-14), True),
        (timedelta(seconds=-1), True),
        (timedelta(0), True),
        (timedelta(milliseconds=500), True),
        (DEADLINE_GRACE - timedelta(microseconds=1), True),
        (DEADLINE_GRACE, True),
        (DEADLINE_GRACE + timedelta(microseconds=1), False),
        (DEADLINE_GRACE + timedelta(seconds=5), False),
    ],
)
def test_frames_are_admitted_until_the_deadline_plus_grace(
    after_deadline: timedelta, admitted: bool
) -> None:
    """The deadline timer has not fired yet: the frame's own arrival time decides."""
    room = make_room()
    prompt = issue(room)
    result = room.begin_frame("alice", prompt.prompt_id, prompt.deadline + after_deadline)
    if admitted:
        assert isinstance(result, FrameTicket)
        assert prompt.attempts_left == 2
    else:
        assert result is Refusal.EXPIRED
        assert prompt.attempts_left == 3
        # Refusing the frame does not resolve the prompt; the deadline does.
        assert room.open_prompt(prompt.prompt_id) is prompt


def test_a_frame_inside_the_grace_can_still_pass_the_prompt() -> None:
    room = make_room()
    prompt = issue(room)
    inside = prompt.deadline + DEADLINE_GRACE / 2
    result = judge(room, prompt, passed=True, now=inside)
    assert result.resolution is not None
    assert result.resolution.status is PromptStatus.PASSED
    assert room.deadline(prompt.prompt_id, prompt.deadline + DEADLINE_GRACE) is None
    assert room.track("alice").state is StudentState.VERIFIED


def test_a_new_frame_after_the_deadline_fired_is_expired_even_inside_the_grace() -> None:
    room = make_room()
    prompt = issue(room)
    begin(room, prompt, at(14))  # still being judged
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None

    inside = prompt.deadline + DEADLINE_GRACE / 2
    assert room.begin_frame("alice", prompt.prompt_id, inside) is Refusal.EXPIRED


@pytest.mark.parametrize("max_frames", [1, 3, 5])
def test_no_more_than_max_frames_frames_are_judged_at_once(max_frames: int) -> None:
    room = make_room(Policy(max_frames=max_frames))
    prompt = issue(room)
    tickets = [room.begin_frame("alice", prompt.prompt_id, at(1)) for _ in range(max_frames)]
    assert all(isinstance(t, FrameTicket) for t in tickets)
    assert prompt.attempts_left == 0

    assert room.begin_frame("alice", prompt.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT
    assert prompt.frames_started == max_frames


def test_no_more_than_max_frames_frames_in_sequence() -> None:
    room = make_room()
    prompt = issue(room)
    judge(room, prompt, passed=False, now=at(1))
    judge(room, prompt, passed=False, now=at(2))
    begin(room, prompt, at(3))  # the third and last frame, being judged
    assert room.begin_frame("alice", prompt.prompt_id, at(4)) is Refusal.UNKNOWN_PROMPT


def test_resolved_prompts_are_remembered_for_a_while_only() -> None:
    room = make_room()
    missed = issue(room)
    miss(room, missed)
    for n in range(RECENT_PROMPTS - 1):
        judge(room, issue(room, now=at(100 * (n + 1))), passed=True)
    assert room.begin_frame("alice", missed.prompt_id, at(10_000)) is Refusal.EXPIRED

    judge(room, issue(room, now=at(20_000)), passed=True)
    assert room.begin_frame("alice", missed.prompt_id, at(30_000)) is Refusal.UNKNOWN_PROMPT


# -- finish_frame() ---------------------------------------------------------------------------


def test_a_passing_frame_passes_the_prompt() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, at(2))
    result = room.finish_frame(ticket, "present", True, at(3))

    assert result == FrameResult(
        prompt.prompt_id,
        "present",
        final=True,
        attempts_left=0,
        resolution=Resolution(prompt.prompt_id, "alice", PromptStatus.PASSED, at(3)),
    )
    track = room.track("alice")
    assert track.state is StudentState.VERIFIED
    assert track.counts == Counts(issued=1, passed=1)
    assert track.last_outcome == "present"
    assert track.last_check_at == at(3)
    assert room.open_prompt(prompt.prompt_id) is None


def test_failed_frames_count_the_attempts_down_then_fail_the_prompt() -> None:
    room = make_room()
    prompt = issue(room)
    assert prompt.attempts_left == 3

    first = judge(room, prompt, passed=False, now=at(1))
    assert (first.final, first.attempts_left, first.resolution) == (False, 2, None)
    assert room.track("alice").state is StudentState.CHECKING

    second = judge(room, prompt, passed=False, now=at(2))
    assert (second.final, second.attempts_left, second.resolution) == (False, 1, None)
    assert room.track("alice").state is StudentState.CHECKING

    third = judge(room, prompt, passed=False, now=at(3))
    assert third.final is True
    assert third.attempts_left == 0
    assert third.resolution == Resolution(prompt.prompt_id, "alice", PromptStatus.FAILED, at(3))

    track = room.track("alice")
    assert track.state is StudentState.FLAGGED
    assert track.counts == Counts(issued=1, failed=1)
    assert track.last_outcome == "no_face"
    assert room.open_prompt(prompt.prompt_id) is None


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([True], PromptStatus.PASSED),
        ([False, True], PromptStatus.PASSED),
        ([False, False, True], PromptStatus.PASSED),
        ([False, False, False], PromptStatus.FAILED),
    ],
)
def test_the_prompt_passes_if_any_frame_passes(
    verdicts: list[bool], expected: PromptStatus
) -> None:
    room = make_room()
    prompt = issue(room)
    results = [judge(room, prompt, passed=v, now=at(n + 1)) for n, v in enumerate(verdicts)]

    assert [r.final for r in results] == [False] * (len(verdicts) - 1) + [True]
    assert [r.resolution for r in results[:-1]] == [None] * (len(verdicts) - 1)
    final = results[-1].resolution
    assert final is not None
    assert final.status is expected
    assert room.track("alice").counts.resolved == 1
    assert_counts_consistent(room)


def test_one_bad_frame_never_fails_a_student_on_its_own() -> None:
    room = make_room()
    prompt = issue(room)
    result = judge(room, prompt, passed=False, now=at(1))
    assert result.final is False
    assert room.track("alice").state is StudentState.CHECKING
    assert room.track("alice").counts.failed == 0


def test_a_single_frame_policy_fails_on_the_first_bad_frame() -> None:
    room = make_room(Policy(max_frames=1))
    prompt = issue(room)
    result = judge(room, prompt, passed=False, now=at(1))
    assert result.final is True
    assert result.resolution is not None
    assert result.resolution.status is PromptStatus.FAILED


def test_a_cancelled_frame_gives_its_attempt_back() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, at(1))
    assert prompt.attempts_left == 2

    assert room.cancel_frame(ticket, at(1)).attempts_left == 3
    assert prompt.attempts_left == 3
    assert room.open_prompt(prompt.prompt_id) is prompt

    # Still three real frames before the prompt fails.
    results = [judge(room, prompt, passed=False, now=at(n)) for n in (2, 3, 4)]
    assert [r.final for r in results] == [False, False, True]
    assert results[-1].resolution is not None
    assert results[-1].resolution.status is PromptStatus.FAILED


def test_a_cancelled_frame_frees_a_slot_when_all_attempts_are_in_use() -> None:
    room = make_room()
    prompt = issue(room)
    tickets = [begin(room, prompt, at(1)) for _ in range(3)]
    assert room.begin_frame("alice", prompt.prompt_id, at(1)) is Refusal.UNKNOWN_PROMPT

    assert room.cancel_frame(tickets[0], at(1)).attempts_left == 1
    assert isinstance(room.begin_frame("alice", prompt.prompt_id, at(2)), FrameTicket)


def test_cancelling_a_frame_of_an_already_resolved_prompt_is_harmless() -> None:
    room = make_room()
    prompt = issue(room)
    first, second = begin(room, prompt, at(1)), begin(room, prompt, at(1))
    finish(room, first, passed=True)
    assert room.cancel_frame(second, at(1)).final
    assert room.track("alice").counts == Counts(issued=1, passed=1)


# -- deadline() -------------------------------------------------------------------------------


def test_no_frame_by_the_deadline_is_missed() -> None:
    room = make_room()
    prompt = issue(room)
    resolution = room.deadline(prompt.prompt_id, prompt.deadline)

    assert resolution == Resolution(prompt.prompt_id, "alice", PromptStatus.MISSED, prompt.deadline)
    track = room.track("alice")
    assert track.state is StudentState.FLAGGED
    assert track.counts == Counts(issued=1, missed=1)
    assert track.last_outcome == "missed"
    assert track.last_check_at == prompt.deadline
    assert room.open_prompt(prompt.prompt_id) is None


@pytest.mark.parametrize("failed_frames", [1, 2])
def test_failed_frames_by_the_deadline_fail_the_prompt(failed_frames: int) -> None:
    room = make_room()
    prompt = issue(room)
    for n in range(failed_frames):
        judge(room, prompt, passed=False, now=at(n + 1))
    resolution = room.deadline(prompt.prompt_id, prompt.deadline)

    assert resolution is not None
    assert resolution.status is PromptStatus.FAILED
    track = room.track("alice")
    assert track.counts == Counts(issued=1, failed=1)
    assert track.state is StudentState.FLAGGED
    assert track.last_outcome == "no_face"  # the frame's outcome, not "missed"


@pytest.mark.parametrize(
    ("passed", "expected"), [(True, PromptStatus.PASSED), (False, PromptStatus.FAILED)]
)
def test_a_frame_being_judged_at_the_deadline_is_never_lost(
    passed: bool, expected: PromptStatus
) -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, prompt.deadline - timedelta(seconds=1))

    assert room.deadline(prompt.prompt_id, prompt.deadline) is None
    assert room.open_prompt(prompt.prompt_id) is prompt
    assert room.track("alice").state is StudentState.CHECKING
    assert room.track("alice").counts.resolved == 0

    verdict_at = prompt.deadline + timedelta(milliseconds=300)
    result = finish(room, ticket, passed, verdict_at)
    assert result.final is True
    assert result.resolution == Resolution(prompt.prompt_id, "alice", expected, verdict_at)
    assert room.track("alice").counts.resolved == 1
    assert_counts_consistent(room)


def test_the_deadline_waits_for_every_frame_in_flight() -> None:
    room = make_room()
    prompt = issue(room)
    first, second = begin(room, prompt, at(10)), begin(room, prompt, at(11))
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None

    result = finish(room, first, passed=False, now=prompt.deadline)
    assert result.final is False
    assert result.resolution is None
    assert room.open_prompt(prompt.prompt_id) is prompt

    result = finish(room, second, passed=True, now=prompt.deadline)
    assert result.resolution is not None
    assert result.resolution.status is PromptStatus.PASSED


@pytest.mark.parametrize(
    ("failed_frames", "expected"), [(0, PromptStatus.MISSED), (1, PromptStatus.FAILED)]
)
def test_cancelling_the_last_frame_in_flight_after_the_deadline_does_not_reopen_the_prompt(
    failed_frames: int, expected: PromptStatus
) -> None:
    room = make_room()
    prompt = issue(room)
    for n in range(failed_frames):
        judge(room, prompt, passed=False, now=at(n + 1))
    ticket = begin(room, prompt, at(14))
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None

    room.cancel_frame(ticket, prompt.deadline)  # e.g. the detector faulted on it
    inside_grace = prompt.deadline + DEADLINE_GRACE / 2
    assert room.begin_frame("alice", prompt.prompt_id, inside_grace) is Refusal.EXPIRED

    room.deadline(prompt.prompt_id, prompt.deadline)  # no-op if already resolved
    track = room.track("alice")
    assert room.open_prompt(prompt.prompt_id) is None
    assert track.last_status is expected
    assert track.state is StudentState.FLAGGED
    assert track.counts.resolved == 1
    assert_counts_consistent(room)


def test_a_resolution_caused_by_cancelling_a_frame_reaches_the_caller() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, at(14))
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None

    returned = room.cancel_frame(ticket, prompt.deadline)
    resolution = (
        returned if isinstance(returned, Resolution) else getattr(returned, "resolution", None)
    )
    if resolution is None:  # or the prompt is left open for the deadline to resolve
        resolution = room.deadline(prompt.prompt_id, prompt.deadline)
    assert resolution == Resolution(prompt.prompt_id, "alice", PromptStatus.MISSED, prompt.deadline)


def _resolve_passed(room: Classroom, prompt: OpenPrompt) -> None:
    judge(room, prompt, passed=True, now=at(1))


def _resolve_failed(room: Classroom, prompt: OpenPrompt) -> None:
    for n in range(3):
        judge(room, prompt, passed=False, now=at(n + 1))


def _resolve_missed(room: Classroom, prompt: OpenPrompt) -> None:
    miss(room, prompt)


def _resolve_cancelled(room: Classroom, prompt: OpenPrompt) -> None:
    room.end(at(1))


@pytest.mark.parametrize(
    "resolve", [_resolve_passed, _resolve_failed, _resolve_missed, _resolve_cancelled]
)
def test_a_prompt_resolves_exactly_once(resolve: Callable[[Classroom, OpenPrompt], None]) -> None:
    room = make_room()
    prompt = issue(room)
    resolve(room, prompt)
    track = room.track("alice")
    counts = Counts(
        track.counts.issued, track.counts.passed, track.counts.failed, track.counts.missed
    )
    state, last_status = track.state, track.last_status

    assert room.deadline(prompt.prompt_id, prompt.deadline) is None
    assert room.deadline(prompt.prompt_id, prompt.deadline + timedelta(minutes=5)) is None
    assert room.end(at(100)) == []

    assert track.counts == counts
    assert track.state is state
    assert track.last_status is last_status
    assert_counts_consistent(room)


def test_the_deadline_of_an_unknown_prompt_is_ignored() -> None:
    room = make_room()
    assert room.deadline("never-issued", at(20)) is None


# -- concurrent frames ------------------------------------------------------------------------


@pytest.mark.parametrize("second_passes", [True, False])
def test_a_frame_finishing_after_a_concurrent_pass_is_final_and_not_double_counted(
    second_passes: bool,
) -> None:
    room = make_room()
    room.connect("alice")  # a second tab
    prompt = issue(room)
    first, second = begin(room, prompt, at(2)), begin(room, prompt, at(2))

    passed = finish(room, first, passed=True, now=at(3))
    assert passed.resolution is not None
    assert passed.resolution.status is PromptStatus.PASSED

    late = finish(room, second, passed=second_passes, now=at(4))
    assert late.final is True
    assert late.resolution is None
    assert late.attempts_left == 0

    track = room.track("alice")
    assert track.counts == Counts(issued=1, passed=1)
    assert track.state is StudentState.VERIFIED
    assert_counts_consistent(room)


def test_a_verdict_logged_after_a_concurrent_pass_does_not_change_the_shown_outcome() -> None:
    room = make_room()
    prompt = issue(room)
    first, second = begin(room, prompt, at(2)), begin(room, prompt, at(2))
    finish(room, first, passed=True, now=at(3))
    finish(room, second, passed=False, now=at(4))

    track = room.track("alice")
    assert track.state is StudentState.VERIFIED
    assert (track.last_outcome, track.last_check_at) == ("present", at(3))


def test_a_pass_after_a_concurrent_failure_still_passes_the_prompt() -> None:
    room = make_room()
    prompt = issue(room)
    first, second = begin(room, prompt, at(2)), begin(room, prompt, at(2))

    failed = finish(room, first, passed=False, now=at(3))
    assert failed.final is False
    assert failed.resolution is None

    passed = finish(room, second, passed=True, now=at(4))
    assert passed.resolution is not None
    assert passed.resolution.status is PromptStatus.PASSED
    assert room.track("alice").counts == Counts(issued=1, passed=1)


def test_all_concurrent_frames_failing_fails_the_prompt_once() -> None:
    room = make_room()
    prompt = issue(room)
    tickets = [begin(room, prompt, at(2)) for _ in range(3)]
    results = [finish(room, t, passed=False, now=at(3)) for t in tickets]

    assert [r.final for r in results] == [False, False, True]
    assert [r.resolution is not None for r in results] == [False, False, True]
    assert room.track("alice").counts == Counts(issued=1, failed=1)


# -- end() ------------------------------------------------------------------------------------


def test_ending_the_lesson_cancels_open_prompts_without_counting_them() -> None:
    room = make_room(students=("alice", "bob", "carol"))
    earlier = issue(room, "alice")
    judge(room, earlier, passed=True, now=at(1))
    alices = issue(room, "alice", at(100))
    bobs = issue(room, "bob", at(100))
    # carol has no open prompt

    resolutions = room.end(at(105))

    assert sorted(resolutions, key=lambda r: r.student_id) == [
        Resolution(alices.prompt_id, "alice", PromptStatus.CANCELLED, at(105)),
        Resolution(bobs.prompt_id, "bob", PromptStatus.CANCELLED, at(105)),
    ]
    alice, bob, carol = (room.track(s) for s in ("alice", "bob", "carol"))
    assert alice.counts == Counts(issued=1, passed=1)
    assert bob.counts == Counts()
    assert carol.counts == Counts()
    # A cancellation is not a failure: nobody turns flagged.
    assert alice.state is StudentState.VERIFIED
    assert bob.state is StudentState.WAITING
    assert carol.state is StudentState.WAITING
    assert bob.last_outcome is None
    assert room.open_prompt(alices.prompt_id) is None
    assert room.open_prompt(bobs.prompt_id) is None
    assert_counts_consistent(room)


def test_ending_a_lesson_without_open_prompts_resolves_nothing() -> None:
    room = make_room()
    assert room.end(at(1)) == []
    assert room.ended


def test_after_the_end_no_prompt_is_issued_and_late_verdicts_change_nothing() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, at(2))
    room.end(at(3))

    assert not room.can_issue("alice")
    assert not room.can_issue("bob")
    with pytest.raises(RulesError):
        issue(room, "bob", at(4))

    late = finish(room, ticket, passed=False, now=at(4))
    assert late.final is True
    assert late.resolution is None
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None
    assert room.track("alice").counts == Counts()
    assert room.track("alice").state is StudentState.WAITING


# -- counts ----------------------------------------------------------------------------------


def test_ratio_is_none_before_any_prompt_resolved() -> None:
    room = make_room()
    assert room.track("alice").counts.ratio is None
    issue(room)
    assert room.track("alice").counts.ratio is None


def test_ratio_is_passed_over_resolved_prompts() -> None:
    room = make_room()
    counts = room.track("alice").counts
    judge(room, issue(room, now=at(0)), passed=True, now=at(1))
    assert counts.ratio == 1.0
    miss(room, issue(room, now=at(100)))
    assert counts.ratio == 0.5
    _resolve_failed(room, issue(room, now=at(200)))
    assert counts.ratio == pytest.approx(1 / 3)
    issue(room, now=at(300))  # open: not resolved yet
    assert counts.ratio == pytest.approx(1 / 3)
    room.end(at(301))  # cancelled: not resolved either
    assert counts.ratio == pytest.approx(1 / 3)
    assert counts == Counts(issued=3, passed=1, failed=1, missed=1)


@pytest.mark.parametrize(
    ("counts", "resolved", "ratio"),
    [
        (Counts(), 0, None),
        (Counts(issued=1), 0, None),
        (Counts(issued=5, passed=4, missed=1), 5, 0.8),
        (Counts(issued=4, passed=1, failed=1, missed=2), 4, 0.25),
        (Counts(issued=3, missed=3), 3, 0.0),
    ],
)
def test_counts_resolved_and_ratio(counts: Counts, resolved: int, ratio: float | None) -> None:
    assert counts.resolved == resolved
    assert counts.ratio == ratio


P = PromptStatus


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Counts()),
        ([P.PENDING], Counts(issued=1)),
        ([P.PASSED, P.PASSED, P.FAILED, P.MISSED], Counts(issued=4, passed=2, failed=1, missed=1)),
        ([P.MISSED, P.PENDING], Counts(issued=2, missed=1)),
    ],
)
def test_counts_from_statuses(statuses: list[PromptStatus], expected: Counts) -> None:
    assert Counts.from_statuses(statuses) == expected


def test_counts_from_statuses_ignores_cancelled_prompts() -> None:
    statuses = [P.PASSED, P.MISSED, P.CANCELLED]
    assert Counts.from_statuses(statuses) == Counts(issued=2, passed=1, missed=1)


def test_counts_stay_consistent_over_random_lessons() -> None:
    """issued == passed + failed + missed (+1 while a prompt is open), whatever happens."""
    for seed in range(30):
        driver = random.Random(seed)
        room = make_room(seed=seed, connect=False)
        tickets: list[FrameTicket] = []
        statuses: dict[str, PromptStatus] = {}
        owners: dict[str, str] = {}
        now = T0
        for _ in range(60):
            now += timedelta(seconds=driver.uniform(0, 8))
            student = driver.choice(("alice", "bob"))
            track = room.track(student)
            action = driver.randrange(7)
            if action == 0:
                room.connect(student)
            elif action == 1:
                room.disconnect(student)
            elif action == 2 and room.can_issue(student):
                prompt = room.issue(student, f"s{seed}-{next(_ids)}", now)
                statuses[prompt.prompt_id] = P.PENDING
                owners[prompt.prompt_id] = student
            elif action == 3 and track.open_prompt is not None:
                ticket = room.begin_frame(student, track.open_prompt.prompt_id, now)
                if isinstance(ticket, FrameTicket):
                    tickets.append(ticket)
            elif action == 4 and tickets:
                ticket = tickets.pop(driver.randrange(len(tickets)))
                result = room.finish_frame(ticket, "x", driver.random() < 0.4, now)
                if result.resolution is not None:
                    statuses[result.prompt_id] = result.resolution.status
            elif action == 5 and tickets:
                ticket = tickets.pop(driver.randrange(len(tickets)))
                was_open = room.open_prompt(ticket.prompt_id) is not None
                result = room.cancel_frame(ticket, now)
                if result.resolution is not None:
                    statuses[result.prompt_id] = result.resolution.status
                if was_open and room.open_prompt(ticket.prompt_id) is None:
                    # Resolved by the cancellation (the deadline had passed).
                    last = room.track(ticket.student_id).last_status
                    assert last is not None
                    statuses[ticket.prompt_id] = last
            elif action == 6 and track.open_prompt is not None:
                resolution = room.deadline(track.open_prompt.prompt_id, now)
                if resolution is not None:
                    statuses[resolution.prompt_id] = resolution.status
            assert_counts_consistent(room)
            for t in room.tracks.values():
                assert t.open_prompt is None or t.open_prompt.attempts_left >= 0
        # Rebuilding the counts from the prompts' statuses gives the live counts.
        for sid, t in room.tracks.items():
            mine = [s for pid, s in statuses.items() if owners[pid] == sid]
            assert Counts.from_statuses(mine) == t.counts
        for resolution in room.end(now):
            statuses[resolution.prompt_id] = resolution.status
        assert_counts_consistent(room)
        assert all(t.open_prompt is None for t in room.tracks.values())
        assert P.PENDING not in statuses.values()
        assert sum(t.counts.issued for t in room.tracks.values()) == sum(
            s is not P.CANCELLED for s in statuses.values()
        )


# -- connected_seconds() ---------------------------------------------------------------------

Interval = tuple[datetime, datetime | None]


def span(start: float, end: float | None) -> Interval:
    return (at(start), None if end is None else at(end))


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        pytest.param([], 0.0, id="never-connected"),
        pytest.param([span(10, 70)], 60.0, id="single"),
        pytest.param([span(0, 100)], 100.0, id="whole-lesson"),
        pytest.param([span(-50, 30)], 30.0, id="joined-before-start"),
        pytest.param([span(90, 200)], 10.0, id="left-after-end"),
        pytest.param([span(-50, 500)], 100.0, id="longer-than-lesson"),
        pytest.param([span(-50, -10)], 0.0, id="entirely-before"),
        pytest.param([span(150, 200)], 0.0, id="entirely-after"),
        pytest.param([span(-10, 0)], 0.0, id="ends-at-start"),
        pytest.param([span(100, 120)], 0.0, id="starts-at-end"),
        pytest.param([span(10, 60), span(40, 80)], 70.0, id="overlapping-tabs"),
        pytest.param([span(40, 80), span(10, 60)], 70.0, id="overlapping-unsorted"),
        pytest.param([span(10, 90), span(20, 30)], 80.0, id="nested"),
        pytest.param([span(10, 40), span(10, 40)], 30.0, id="identical"),
        pytest.param([span(10, 40), span(40, 70)], 60.0, id="adjacent"),
        pytest.param([span(10, 20), span(30, 40)], 20.0, id="gap"),
        pytest.param([span(10, 20), span(30, 40), span(15, 35)], 30.0, id="bridge"),
        pytest.param([span(40, None)], 60.0, id="still-connected"),
        pytest.param([span(-40, None)], 100.0, id="still-connected-since-before"),
        pytest.param([span(10, 50), span(30, None)], 90.0, id="open-overlapping-closed"),
        pytest.param([span(50, 50)], 0.0, id="zero-length"),
        pytest.param([span(60, 50)], 0.0, id="negative-length"),
        pytest.param([span(60, 50), span(10, 20)], 10.0, id="negative-ignored"),
        pytest.param([span(5, 1), span(2, 20)], 18.0, id="negative-before-real"),
        pytest.param([span(30, 30), span(10, 20), span(20, 20)], 10.0, id="zero-lengths-ignored"),
        pytest.param([span(10.25, 10.75)], 0.5, id="sub-second"),
    ],
)
def test_connected_seconds(intervals: list[Interval], expected: float) -> None:
    assert connected_seconds(intervals, at(0), at(100)) == expected


def test_connected_seconds_accepts_any_iterable() -> None:
    intervals = (span(n * 10, n * 10 + 5) for n in range(10))
    assert connected_seconds(intervals, at(0), at(100)) == 50.0


def test_connected_seconds_of_an_empty_live_window_is_zero() -> None:
    assert connected_seconds([span(-10, None)], at(0), at(0)) == 0.0


# -- decide_attendance() -----------------------------------------------------------------------


def counts(passed: int, resolved: int, *, missed_share: bool = False) -> Counts:
    """``passed`` of ``resolved`` prompts; the rest failed (or missed)."""
    rest = resolved - passed
    if missed_share:
        return Counts(issued=resolved, passed=passed, missed=rest)
    return Counts(issued=resolved, passed=passed, failed=rest)


@pytest.mark.parametrize(
    ("counts_", "connected_s", "live_s", "expected"),
    [
        pytest.param(counts(5, 5), 100.0, 100.0, Attendance.PRESENT, id="perfect"),
        pytest.param(counts(4, 5), 85.0, 100.0, Attendance.PRESENT, id="0.8-and-0.85-exactly"),
        pytest.param(counts(8, 10), 17.0, 20.0, Attendance.PRESENT, id="8of10-17of20"),
        pytest.param(counts(16, 20), 3060.0, 3600.0, Attendance.PRESENT, id="hour-lesson-85pc"),
        pytest.param(counts(4, 5), 0.85 * 100, 100.0, Attendance.PRESENT, id="0.85x100"),
        pytest.param(counts(4, 5), 84.0, 100.0, Attendance.PARTIAL, id="0.8-with-0.84"),
        pytest.param(counts(4, 5), 3059.0, 3600.0, Attendance.PARTIAL, id="a-second-short"),
        pytest.param(counts(79, 100), 100.0, 100.0, Attendance.PARTIAL, id="ratio-0.79"),
        pytest.param(counts(15, 19), 100.0, 100.0, Attendance.PARTIAL, id="15of19"),
        pytest.param(counts(1, 2), 100.0, 100.0, Attendance.PARTIAL, id="ratio-0.5-exactly"),
        pytest.param(counts(5, 10), 10.0, 100.0, Attendance.PARTIAL, id="0.5-barely-connected"),
        pytest.param(counts(49, 100), 100.0, 100.0, Attendance.ABSENT, id="ratio-0.49"),
        pytest.param(counts(1, 3), 100.0, 100.0, Attendance.ABSENT, id="1of3"),
        pytest.param(Counts(), 100.0, 100.0, Attendance.ABSENT, id="nothing-resolved"),
        pytest.param(Counts(issued=1), 100.0, 100.0, Attendance.ABSENT, id="only-open-prompt"),
        pytest.param(
            counts(0, 4, missed_share=True), 100.0, 100.0, Attendance.ABSENT, id="all-missed"
        ),
        pytest.param(counts(0, 4), 100.0, 100.0, Attendance.ABSENT, id="all-failed"),
        pytest.param(counts(5, 5), 0.0, 0.0, Attendance.PARTIAL, id="live-zero-not-present"),
        pytest.param(counts(5, 5), 0.0, 100.0, Attendance.PARTIAL, id="never-connected"),
        pytest.param(counts(5, 5), 150.0, 100.0, Attendance.PRESENT, id="over-counted-time"),
    ],
)
def test_decide_attendance_default_policy(
    counts_: Counts, connected_s: float, live_s: float, expected: Attendance
) -> None:
    assert decide_attendance(counts_, connected_s, live_s, Policy()) is expected


@pytest.mark.parametrize("live_s", [0.0, -1.0])
def test_no_live_time_is_never_present(live_s: float) -> None:
    assert decide_attendance(counts(5, 5), 100.0, live_s, Policy()) is not Attendance.PRESENT


LENIENT = Policy(present_ratio=0.6, present_connected_ratio=0.5, partial_ratio=0.3)
STRICT = Policy(present_ratio=1.0, present_connected_ratio=1.0, partial_ratio=0.9)


@pytest.mark.parametrize(
    ("policy", "counts_", "connected_s", "expected"),
    [
        (LENIENT, counts(3, 5), 50.0, Attendance.PRESENT),
        (LENIENT, counts(3, 5), 49.0, Attendance.PARTIAL),
        (LENIENT, counts(59, 100), 100.0, Attendance.PARTIAL),
        (LENIENT, counts(3, 10), 100.0, Attendance.PARTIAL),
        (LENIENT, counts(29, 100), 100.0, Attendance.ABSENT),
        (LENIENT, Counts(), 100.0, Attendance.ABSENT),
        (STRICT, counts(5, 5), 100.0, Attendance.PRESENT),
        (STRICT, counts(5, 5), 99.0, Attendance.PARTIAL),
        (STRICT, counts(9, 10), 100.0, Attendance.PARTIAL),
        (STRICT, counts(4, 5), 100.0, Attendance.ABSENT),
    ],
)
def test_decide_attendance_honours_the_course_policy(
    policy: Policy, counts_: Counts, connected_s: float, expected: Attendance
) -> None:
    assert decide_attendance(counts_, connected_s, 100.0, policy) is expected


def test_a_whole_lesson_from_the_rules_to_the_verdict() -> None:
    """Counts produced by a Classroom and time from connected_seconds feed the decision."""
    room = make_room()
    verdicts = [True, True, True, False, True]  # 4 of 5 prompts pass
    for n, passed in enumerate(verdicts):
        prompt = issue(room, now=at(100 * n + 10))
        if passed:
            judge(room, prompt, passed=True, now=prompt.issued_at + timedelta(seconds=3))
        else:
            miss(room, prompt)
    room.end(at(1000))

    live_from, live_to = at(0), at(1000)
    connected = connected_seconds([span(0, 400), span(550, None)], live_from, live_to)
    assert connected == 850.0
    live_s = (live_to - live_from).total_seconds()
    counts_ = room.track("alice").counts
    assert counts_.ratio == 0.8
    assert decide_attendance(counts_, connected, live_s, Policy()) is Attendance.PRESENT

    connected = connected_seconds([span(0, 400), span(551, None)], live_from, live_to)
    assert decide_attendance(counts_, connected, live_s, Policy()) is Attendance.PARTIAL


def test_connected_exactly_85_percent_of_a_fractional_live_time_is_present() -> None:
    live_from = T0
    live_to = T0 + timedelta(hours=1, milliseconds=800)  # 3600.8 s live
    intervals = [(T0, T0 + timedelta(seconds=3060, milliseconds=680))]  # 3060.68 s = 85 %
    assert (intervals[0][1] - intervals[0][0]) * 100 == (live_to - live_from) * 85  # exactly
    connected = connected_seconds(intervals, live_from, live_to)
    live_s = (live_to - live_from).total_seconds()

    assert decide_attendance(counts(4, 5), connected, live_s, Policy()) is Attendance.PRESENT


def test_a_withdrawn_prompt_counts_neither_way_and_frees_the_student() -> None:
    room = make_room()
    prompt = issue(room)
    resolution = room.withdraw(prompt.prompt_id, at(1))
    assert resolution is not None and resolution.status is PromptStatus.CANCELLED
    track = room.track("alice")
    assert track.counts == Counts()
    assert track.state is StudentState.WAITING
    assert room.begin_frame("alice", prompt.prompt_id, at(2)) is Refusal.EXPIRED
    assert room.withdraw(prompt.prompt_id, at(3)) is None
    assert room.can_issue("alice")


# -- frames the server was too busy to judge ------------------------------------------------


def test_a_prompt_whose_every_frame_met_a_busy_server_is_cancelled_not_missed() -> None:
    room = make_room()
    judge(room, issue(room), passed=True, now=at(1))  # alice was verified before
    prompt = issue(room, now=at(100))
    for n in range(2):
        refused = room.cancel_frame(begin(room, prompt, at(101 + n)), at(101 + n), busy=True)
        assert not refused.final and refused.attempts_left == prompt.max_frames
    resolution = room.deadline(prompt.prompt_id, prompt.deadline)
    assert resolution == Resolution(
        prompt.prompt_id, "alice", PromptStatus.CANCELLED, prompt.deadline
    )
    track = room.track("alice")
    assert (track.counts.issued, track.counts.missed, track.counts.passed) == (1, 0, 1)
    assert track.state is StudentState.VERIFIED  # nothing held against her
    assert track.counts.ratio == 1.0
    assert_counts_consistent(room)


def test_a_busy_server_excuses_nothing_once_a_frame_was_judged() -> None:
    room = make_room()
    prompt = issue(room)
    room.cancel_frame(begin(room, prompt, at(1)), at(1), busy=True)
    judge(room, prompt, passed=False, now=at(2))
    resolution = room.deadline(prompt.prompt_id, prompt.deadline)
    assert resolution is not None and resolution.status is PromptStatus.FAILED


def test_a_frame_the_detector_faulted_on_excuses_no_prompt() -> None:
    # A student must not be able to turn a miss into "not counted" with a frame that faults.
    room = make_room()
    prompt = issue(room)
    room.cancel_frame(begin(room, prompt, at(1)), at(1))
    resolution = room.deadline(prompt.prompt_id, prompt.deadline)
    assert resolution is not None and resolution.status is PromptStatus.MISSED


def test_a_busy_refusal_after_the_deadline_resolves_the_prompt_as_cancelled() -> None:
    room = make_room()
    prompt = issue(room)
    ticket = begin(room, prompt, at(14))
    assert room.deadline(prompt.prompt_id, prompt.deadline) is None  # a frame is waiting
    result = room.cancel_frame(ticket, prompt.deadline, busy=True)
    assert result.final and result.resolution is not None
    assert result.resolution.status is PromptStatus.CANCELLED
    assert_counts_consistent(room)


# -- identity ---------------------------------------------------------------------------------


def test_a_prompt_whose_frames_were_all_uncertain_passes_on_presence_at_its_deadline() -> None:
    room = make_room(Policy(max_frames=3, challenge_probability=0.0))
    prompt = issue(room)
    result = room.finish_uncertain(begin(room, prompt), "identity_uncertain", at(1))
    assert (result.final, result.attempts_left, result.resolution) == (False, 2, None)

    resolution = miss(room, prompt)

    assert resolution is not None and resolution.status is PromptStatus.PASSED
    assert room.track("alice").counts.passed == 1


def test_an_uncertain_last_frame_passes_at_once() -> None:
    room = make_room(Policy(max_frames=1, challenge_probability=0.0))
    prompt = issue(room)
    result = room.finish_uncertain(begin(room, prompt), "identity_uncertain", at(1))
    assert result.final and result.resolution is not None
    assert result.resolution.status is PromptStatus.PASSED


def test_a_different_person_is_a_failed_frame_that_an_uncertain_one_cannot_excuse() -> None:
    room = make_room(Policy(max_frames=2, challenge_probability=0.0))
    prompt = issue(room)
    first = room.finish_frame(begin(room, prompt), "different_person", False, at(1))
    assert (first.final, first.attempts_left) == (False, 1)
    last = room.finish_uncertain(begin(room, prompt, at(2)), "identity_uncertain", at(2))
    assert last.resolution is not None and last.resolution.status is PromptStatus.FAILED
    assert room.track("alice").last_status is PromptStatus.FAILED
