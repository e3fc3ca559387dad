"""The hub's parts on a fake clock: prompting, frames, check-now waves and the connection table.

What a student and a tutor would see (the events sent, the acks) as time passes, without a
server, a database or a detector: those are stand-ins at the seams (``tests/realtime/fakes.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from domain.policy import Policy
from realtime.checks import WaveTuning
from realtime.connections import Connection, Connections
from realtime.frames import HELD_HINT
from realtime.prompting import MISSED_HINT
from realtime.rights import ACCESS_ENDED
from realtime.rules import BUSY_DELAY_S, DEADLINE_GRACE
from storage.models import Role
from tests.realtime.fakes import FakeClock, Lesson, settle
from vision import Outcome

NO_CHALLENGE = Policy(challenge_probability=0.0, deadline_s=15.0, max_frames=3)


def tutor_states(lesson: Lesson, student_id: str) -> list[str]:
    return [
        p["state"] for p in lesson.emitter.events("attendance") if p["student_id"] == student_id
    ]


# -- prompting ----------------------------------------------------------------------------


async def test_a_prompt_is_recorded_then_sent_when_its_timer_falls_due() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.prompter.schedule(lesson.live, student, 12.0)

    await lesson.clock.advance(11.9)
    assert lesson.emitter.events("prompt") == []

    await lesson.clock.advance(0.2)
    (prompt,) = lesson.emitter.events("prompt", to=student)
    assert prompt["deadline_ms"] == 15_000
    assert prompt["challenge"] == "none"
    assert prompt["max_frames"] == 3
    assert len(lesson.commits.writes) == 1  # recorded before it was sent
    assert lesson.events.issued == 1
    assert tutor_states(lesson, student)[-1] == "checking"


async def test_an_unanswered_prompt_is_missed_at_its_deadline_and_the_next_one_is_timed() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    assert await lesson.prompter.issue(lesson.live, student)

    await lesson.clock.advance(15.0 + DEADLINE_GRACE.total_seconds() - 0.1)
    assert lesson.emitter.events("verdict") == []

    await lesson.clock.advance(0.2)
    (verdict,) = lesson.emitter.events("verdict", to=student)
    assert verdict["outcome"] == "missed"
    assert verdict["status"] == "missed"
    assert verdict["hint"] == MISSED_HINT
    assert tutor_states(lesson, student)[-1] == "flagged"
    # The next prompt comes within the policy's interval, not at once.
    (next_at,) = lesson.clock.due()
    assert 60.0 <= next_at - lesson.clock.elapsed <= 180.0


async def test_a_prompt_falling_due_while_vision_is_nearly_full_is_put_off() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.busy = True
    lesson.prompter.schedule(lesson.live, student, 1.0)

    await lesson.clock.advance(1.1)
    assert lesson.emitter.events("prompt") == []
    assert lesson.events.postponed == 1
    (again_at,) = lesson.clock.due()
    low, high = BUSY_DELAY_S
    assert low <= again_at - 1.0 <= high

    lesson.busy = False
    await lesson.clock.advance(high + 0.1)
    assert len(lesson.emitter.events("prompt", to=student)) == 1


async def test_a_prompt_that_cannot_be_recorded_is_never_sent_and_is_tried_again_later() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.commits.fail_with = IntegrityError("insert", {}, Exception("open prompt elsewhere"))

    assert not await lesson.prompter.issue(lesson.live, student)
    assert lesson.emitter.events("prompt") == []
    assert lesson.open_prompt(student) is None
    assert lesson.live.classroom.track(student).counts.issued == 0
    (retry_at,) = lesson.clock.due()
    assert 5.0 <= retry_at <= 20.0  # the policy's first-prompt window


async def test_a_prompt_the_lesson_ended_on_while_it_was_recorded_is_closed_not_sent() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.commits.during = lambda: lesson.live.classroom.end(lesson.clock.now())

    assert not await lesson.prompter.issue(lesson.live, student)
    assert lesson.emitter.events("prompt") == []
    assert len(lesson.commits.writes) == 2  # recorded, then its record closed (cancelled)
    assert lesson.clock.due() == []  # no deadline armed, nothing scheduled


async def test_a_reconnecting_student_gets_the_same_prompt_with_the_time_that_is_left() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    await lesson.prompter.issue(lesson.live, student)
    (sent,) = lesson.emitter.events("prompt", to=student)

    await lesson.clock.advance(5.0)
    await lesson.prompter.resend("new-sid", lesson.live, student)
    (resent,) = lesson.emitter.events("prompt", to="new-sid")
    assert resent["prompt_id"] == sent["prompt_id"]
    assert resent["deadline_ms"] == 10_000


# -- frames -------------------------------------------------------------------------------


async def test_a_passing_frame_resolves_the_prompt_and_tells_student_and_tutors() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    await lesson.prompter.issue(lesson.live, student)
    prompt_id = lesson.open_prompt(student)

    ack = await lesson.frames.capture("sid-0", {"prompt_id": prompt_id, "image": b"jpeg"})

    assert ack["outcome"] == "present"
    assert ack["final"] is True
    assert ack["status"] == "passed"
    assert lesson.emitter.events("verdict", to=student) == [ack]
    assert tutor_states(lesson, student)[-1] == "verified"
    assert lesson.outbox.written == [f"resolution of prompt {prompt_id}"]
    assert lesson.frames.in_flight == 0
    assert await lesson.frames.drained(0.1)


async def test_a_failed_frame_leaves_attempts_and_the_prompt_open() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.vision.outcome = Outcome.NO_FACE
    await lesson.prompter.issue(lesson.live, student)
    prompt_id = lesson.open_prompt(student)

    ack = await lesson.frames.capture("sid-0", {"prompt_id": prompt_id, "image": b"jpeg"})

    assert ack["outcome"] == "no_face"
    assert ack["final"] is False
    assert ack["attempts_left"] == 2
    assert lesson.open_prompt(student) == prompt_id
    assert lesson.outbox.written == [f"check for prompt {prompt_id}"]


async def test_a_verdict_the_database_cannot_take_yet_is_held_and_the_student_told() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.outbox.available = False
    await lesson.prompter.issue(lesson.live, student)

    ack = await lesson.frames.capture(
        "sid-0", {"prompt_id": lesson.open_prompt(student), "image": b"jpeg"}
    )
    assert ack["outcome"] == "present"
    assert ack["hint"] == HELD_HINT


async def test_a_busy_vision_pool_refuses_the_frame_without_costing_an_attempt() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.vision.saturated = True
    await lesson.prompter.issue(lesson.live, student)
    prompt_id = lesson.open_prompt(student)

    ack = await lesson.frames.capture("sid-0", {"prompt_id": prompt_id, "image": b"jpeg"})

    assert ack["outcome"] == "rate_limited"
    assert ack["final"] is False
    assert ack["attempts_left"] == 3
    assert lesson.open_prompt(student) == prompt_id

    # Every frame met a busy server: at the deadline the check is cancelled, not missed.
    await lesson.clock.advance(16.1)
    (verdict,) = lesson.emitter.events("verdict", to=student)
    assert verdict["status"] == "cancelled"
    assert lesson.live.classroom.track(student).counts.missed == 0


async def test_refused_captures_empty_the_bucket_and_it_refills_with_time() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    unknown = {"prompt_id": "not-a-prompt", "image": b"jpeg"}
    outcomes = [(await lesson.frames.capture("sid-0", unknown))["outcome"] for _ in range(13)]
    assert outcomes == ["unknown_prompt"] * 12 + ["rate_limited"]

    await lesson.clock.advance(1.0)
    assert (await lesson.frames.capture("sid-0", unknown))["outcome"] == "unknown_prompt"


async def test_a_frame_sent_just_before_the_socket_closed_is_still_judged() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    await lesson.prompter.issue(lesson.live, student)
    lesson.connections.remove("sid-0")

    ack = await lesson.frames.capture(
        "sid-0", {"prompt_id": lesson.open_prompt(student), "image": b"jpeg"}
    )
    assert ack["status"] == "passed"


async def test_draining_waits_for_a_frame_being_judged() -> None:
    lesson = Lesson(policy=NO_CHALLENGE)
    (student,) = lesson.student_ids
    lesson.vision.gate = asyncio.Event()
    await lesson.prompter.issue(lesson.live, student)
    judging = asyncio.create_task(
        lesson.frames.capture("sid-0", {"prompt_id": lesson.open_prompt(student), "image": b"j"})
    )
    await settle()
    assert lesson.frames.in_flight == 1
    assert not await lesson.frames.drained(0.05)

    lesson.vision.gate.set()
    assert (await judging)["status"] == "passed"
    assert await lesson.frames.drained(0.05)


async def test_frames_of_a_revoked_or_expired_connection_are_refused_without_judging() -> None:
    lesson = Lesson(2, policy=NO_CHALLENGE)
    first, second = lesson.student_ids
    for student in lesson.student_ids:
        await lesson.prompter.issue(lesson.live, student)
    revoked = lesson.connections.get("sid-0")
    expiring = lesson.connections.get("sid-1")
    assert revoked is not None and expiring is not None
    revoked.revoked = True
    expiring.expires_at = lesson.clock.now() + timedelta(seconds=2)

    ack = await lesson.frames.capture(
        "sid-0", {"prompt_id": lesson.open_prompt(first), "image": b"j"}
    )
    assert ack["outcome"] == "unknown_prompt" and ack["hint"] == ACCESS_ENDED
    await lesson.clock.advance(2.0)
    ack = await lesson.frames.capture(
        "sid-1", {"prompt_id": lesson.open_prompt(second), "image": b"j"}
    )
    assert ack["outcome"] == "unknown_prompt" and ack["hint"] == ACCESS_ENDED
    assert lesson.vision.judged == 0


# -- check now ------------------------------------------------------------------------------


async def test_check_everyone_prompts_a_window_at_a_time_and_each_student_once() -> None:
    lesson = Lesson(5, policy=NO_CHALLENGE, waves=WaveTuning(wave=2, answer_wait_s=1.0))

    assert await lesson.checks.here(lesson.live, None) == 5
    await settle()
    assert len(lesson.emitter.events("prompt")) == 2
    # Asked again while three wait for their wave: nobody is counted twice.
    assert await lesson.checks.here(lesson.live, None) == 0

    await lesson.clock.advance(0.9)
    assert len(lesson.emitter.events("prompt")) == 2
    await lesson.clock.advance(0.2)  # the first pair held the window for answer_wait_s
    assert len(lesson.emitter.events("prompt")) == 4
    await lesson.clock.advance(1.1)
    prompted = [who for kind, who, event, _ in lesson.emitter.sent if event == "prompt"]
    assert sorted(prompted) == sorted(lesson.student_ids)


async def test_an_answered_and_judged_prompt_frees_its_place_in_the_window_at_once() -> None:
    lesson = Lesson(3, policy=NO_CHALLENGE, waves=WaveTuning(wave=1, answer_wait_s=5.0))
    await lesson.checks.here(lesson.live, None)
    await settle()
    (first,) = [who for _, who, event, _ in lesson.emitter.sent if event == "prompt"]

    sid = f"sid-{lesson.student_ids.index(first)}"
    await lesson.frames.capture(sid, {"prompt_id": lesson.open_prompt(first), "image": b"j"})
    await lesson.clock.advance(0.1)  # one look at the window, long before answer_wait_s
    assert len(lesson.emitter.events("prompt")) == 2


async def test_check_one_student_replaces_their_timed_prompt() -> None:
    lesson = Lesson(2, policy=NO_CHALLENGE)
    first, second = lesson.student_ids
    lesson.prompter.schedule(lesson.live, first, 100.0)

    assert await lesson.checks.here(lesson.live, first) == 1
    assert [who for _, who, e, _ in lesson.emitter.sent if e == "prompt"] == [first]
    assert first not in lesson.live.next_prompt  # its timer is gone: one prompt, not two
    assert second not in [who for _, who, e, _ in lesson.emitter.sent if e == "prompt"]


# -- the connection table ---------------------------------------------------------------------


async def test_a_closed_connection_is_remembered_for_a_few_seconds_only() -> None:
    clock = FakeClock()
    table = Connections(clock, just_left_s=5.0)
    lesson_id, user_id = uuid.uuid4(), uuid.uuid4()
    table.add(Connection(sid="a", user_id=user_id, lesson_id=lesson_id, role=Role.STUDENT))
    table.add(Connection(sid="b", user_id=uuid.uuid4(), lesson_id=lesson_id, role=Role.TUTOR))
    assert table.counts == {"students": 1, "tutors": 1}
    assert [c.sid for c in table.students_in(lesson_id)] == ["a"]

    assert table.remove("a") is not None
    assert table.get("a") is None
    assert table.counts == {"students": 0, "tutors": 1}
    await clock.advance(4.9)
    assert table.get_or_just_left("a") is not None
    await clock.advance(0.2)
    assert table.get_or_just_left("a") is None
