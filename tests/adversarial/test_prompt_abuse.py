"""Answering prompts one may not answer: none open, a flood, a replay, someone else's, too late,
more frames than allowed, and two connections of one student racing for one prompt.
docs/protocol.md: a frame is only accepted as the answer to the sender's own open prompt, once,
before its deadline; a prompt resolves once and is counted once."""

from __future__ import annotations

import asyncio
from typing import Any

from testkit.api import Api, Classroom
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import class_lesson, join, prompted, state_of, still_verified
from testkit.participants import Participant
from testkit.timing import timeout
from tests.adversarial.helpers import FRAME_OUTCOMES, PROTOCOL_OUTCOMES, assert_clear_refusal


async def checks_of(room: Classroom, prompt_id: str) -> list[dict[str, Any]]:
    """The verdict log's entries for one prompt (every page)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = f"?limit=200&cursor={cursor}" if cursor else "?limit=200"
        page = await room.api.call(
            "GET", f"/api/lessons/{room.lesson_id}/checks{query}", room.tutor["token"]
        )
        found += [c for c in page["items"] if c["prompt_id"] == prompt_id]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def verdicts_for(sock: Participant, prompt_id: str) -> list[Any]:
    return [v for v in sock.received("verdict") if v["prompt_id"] == prompt_id]


async def test_captures_with_no_open_prompt_change_nothing(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    for prompt_id in ("made-up", "A" * 22, "-" * 64, "0"):
        ack = await student.call("capture", {"prompt_id": prompt_id, "image": face_jpeg()})
        assert_clear_refusal(ack, {"unknown_prompt"}, prompt_id)
        assert (ack["prompt_id"], ack["final"]) == (prompt_id, True)
    assert student.received("verdict") == []
    late = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    row = next(
        s for s in (await late.wait_for("roster"))["students"] if s["student_id"] == me["id"]
    )
    assert (row["state"], row["last_outcome"]) == ("waiting", None)
    assert row["checks"] == {"issued": 0, "passed": 0, "failed": 0, "missed": 0}
    await still_verified(tutor, honest, other)


async def test_a_concurrent_capture_flood_is_answered_quickly_and_spares_the_class(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (flood, honest) = await class_lesson(api, server_url, participants, 2)
    _me, other = room.students
    frame = face_jpeg()
    loop = asyncio.get_running_loop()
    started = loop.time()
    acks = await asyncio.gather(
        *(flood.call("capture", {"prompt_id": f"guess-{i}", "image": frame}) for i in range(80))
    )
    elapsed = loop.time() - started
    for ack in acks:
        assert_clear_refusal(ack, {"unknown_prompt", "rate_limited"})
    outcomes = [a["outcome"] for a in acks]
    assert outcomes.count("rate_limited") >= 80 - 20, outcomes  # the bucket holds about a dozen
    # Nothing was judged: 80 frames through the detector would take far longer than this.
    assert elapsed < timeout(5), elapsed
    await still_verified(tutor, honest, other)
    # The flood's own connection recovers as its bucket refills.
    await asyncio.sleep(timeout(2.5))
    ack = await flood.call("capture", {"prompt_id": "guess-again", "image": frame})
    assert ack["outcome"] == "unknown_prompt"


async def test_replaying_a_passed_prompt_counts_nothing_twice(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 1)
    me = room.students[0]
    prompt = await prompted(tutor, student, me["id"])
    pid = prompt["prompt_id"]
    ack = await student.call("capture", {"prompt_id": pid, "image": face_jpeg()})
    assert ack["outcome"] == "present"
    replays = await asyncio.gather(
        *(student.call("capture", {"prompt_id": pid, "image": face_jpeg()}) for _ in range(5))
    )
    for replay in replays:
        assert_clear_refusal(replay, {"unknown_prompt", "expired", "rate_limited"})
        assert replay["final"] is True
    await asyncio.sleep(timeout(0.3))
    assert len(verdicts_for(student, pid)) == 1
    assert len(await checks_of(room, pid)) == 1
    late = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    row = (await late.wait_for("roster"))["students"][0]
    assert row["checks"] == {"issued": 1, "passed": 1, "failed": 0, "missed": 0}


async def test_another_students_prompt_id_never_uses_up_their_attempts(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (ada_sock, ben_sock) = await class_lesson(api, server_url, participants, 2)
    ada, ben = room.students
    prompt = await prompted(tutor, ada_sock, ada["id"])
    pid = prompt["prompt_id"]
    # Ben opens his own prompt too, then answers Ada's with failing and passing frames.
    ben_prompt = await prompted(tutor, ben_sock, ben["id"])
    for frame in (blank_jpeg(), blank_jpeg(), face_jpeg(), face_jpeg()):
        ack = await ben_sock.call("capture", {"prompt_id": pid, "image": frame})
        assert_clear_refusal(ack, {"unknown_prompt"})
    assert verdicts_for(ada_sock, pid) == [] and verdicts_for(ben_sock, pid) == []
    # Ada still has every attempt; Ben's own prompt is untouched.
    ack = await ada_sock.call("capture", {"prompt_id": pid, "image": blank_jpeg()})
    assert (ack["outcome"], ack["attempts_left"]) == ("no_face", prompt["max_frames"] - 1)
    ack = await ben_sock.call(
        "capture", {"prompt_id": ben_prompt["prompt_id"], "image": face_jpeg()}
    )
    assert (ack["outcome"], ack["final"]) == ("present", True)
    row = await tutor.wait_for("attendance", state_of(ada["id"], "checking"))
    assert row["checks"]["passed"] == 0


async def test_frames_after_the_deadline_are_refused_and_the_miss_stands(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(
        api, server_url, participants, 2, policy={"deadline_s": 1}
    )
    me, other = room.students
    prompt = await prompted(tutor, student, me["id"])
    pid = prompt["prompt_id"]
    verdict = await student.wait_for("verdict", lambda v: v["prompt_id"] == pid, within=6)
    assert verdict["status"] == "missed"
    late = await asyncio.gather(
        *(student.call("capture", {"prompt_id": pid, "image": face_jpeg()}) for _ in range(4))
    )
    for ack in late:
        assert_clear_refusal(ack, {"expired", "rate_limited"})
        assert ack["final"] is True
    await asyncio.sleep(timeout(0.3))
    assert len(verdicts_for(student, pid)) == 1
    assert await checks_of(room, pid) == []
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"))
    assert row["checks"] == {"issued": 1, "passed": 0, "failed": 0, "missed": 1}
    await still_verified(tutor, honest, other)


async def test_more_frames_than_max_frames_at_once_are_not_all_judged(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(
        api, server_url, participants, 1, policy={"max_frames": 2}
    )
    me = room.students[0]
    prompt = await prompted(tutor, student, me["id"])
    pid = prompt["prompt_id"]
    acks = await asyncio.gather(
        *(student.call("capture", {"prompt_id": pid, "image": face_jpeg()}) for _ in range(8))
    )
    judged = [a for a in acks if a["outcome"] in FRAME_OUTCOMES]
    refused = [a for a in acks if a["outcome"] in PROTOCOL_OUTCOMES]
    assert len(judged) + len(refused) == 8, acks
    assert 1 <= len(judged) <= 2, acks
    assert all(a["outcome"] == "present" for a in judged), acks
    for ack in refused:
        assert_clear_refusal(ack, PROTOCOL_OUTCOMES)
    await asyncio.sleep(timeout(0.3))
    assert len(verdicts_for(student, pid)) == 1
    assert 1 <= len(await checks_of(room, pid)) <= 2
    row = await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    assert row["checks"] == {"issued": 1, "passed": 1, "failed": 0, "missed": 0}


async def test_two_connections_of_one_student_share_one_prompt_and_its_attempts(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (first,) = await class_lesson(
        api, server_url, participants, 1, policy={"max_frames": 3}
    )
    me = room.students[0]
    second = await join(participants, server_url, "/student", me["token"], room.lesson_id)

    # Both connections answer with failing frames at once: three frames in all are judged.
    prompt = await prompted(tutor, first, me["id"])
    pid = prompt["prompt_id"]
    await second.wait_for("prompt", lambda p: p["prompt_id"] == pid)
    acks = await asyncio.gather(
        *(
            sock.call("capture", {"prompt_id": pid, "image": blank_jpeg()})
            for sock in (first, second)
            for _ in range(3)
        )
    )
    judged = [a for a in acks if a["outcome"] == "no_face"]
    assert len(judged) == 3, acks
    assert sum(a["final"] for a in judged) == 1, acks
    for ack in acks:
        if ack["outcome"] != "no_face":
            assert_clear_refusal(ack, PROTOCOL_OUTCOMES)
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"))
    assert row["checks"] == {"issued": 1, "passed": 0, "failed": 1, "missed": 0}

    # Both answer the next prompt with a face at once: it passes once.
    prompt = await prompted(tutor, first, me["id"])
    pid = prompt["prompt_id"]
    await second.wait_for("prompt", lambda p: p["prompt_id"] == pid)
    acks = await asyncio.gather(
        *(
            sock.call("capture", {"prompt_id": pid, "image": face_jpeg()})
            for sock in (first, second)
        )
    )
    assert "present" in [a["outcome"] for a in acks], acks
    await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    await asyncio.sleep(timeout(0.3))
    for sock in (first, second):
        assert len(verdicts_for(sock, pid)) == 1
    late = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    row = (await late.wait_for("roster"))["students"][0]
    assert row["checks"] == {"issued": 2, "passed": 1, "failed": 1, "missed": 0}
    assert row["ratio"] == 0.5
