"""The live lesson loop through a real server and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from typing import Any

import pytest

from realtime.checks import WaveTuning
from testkit.api import Api, Classroom, make_classroom
from testkit.frames import blank_jpeg, face_jpeg, two_faces_jpeg
from testkit.lessons import class_lesson, join, one_student_lesson, prompted, state_of
from testkit.participants import Participant
from testkit.server import app_for
from testkit.timing import timeout
from testkit.tokens import forged_tokens


async def test_a_face_frame_verifies_the_student_on_the_tutor_dashboard(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=2)
    ada = room.students[0]
    tutor = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    roster = await tutor.wait_for("roster")
    assert roster["lesson_id"] == room.lesson_id
    # The whole class, connected or not: the dashboard shows who is missing.
    assert {s["student_id"] for s in roster["students"]} == {s["id"] for s in room.students}
    assert {s["state"] for s in roster["students"]} == {"offline"}

    student = await join(participants, server_url, "/student", ada["token"], room.lesson_id)
    await tutor.wait_for("attendance", state_of(ada["id"], "waiting"))

    prompt = await prompted(tutor, student, ada["id"])
    assert set(prompt) == {"prompt_id", "challenge", "deadline_ms", "max_frames"}
    assert len(prompt["prompt_id"]) >= 22  # 128 random bits
    assert 0 < prompt["deadline_ms"] <= 15_000
    await tutor.wait_for("attendance", state_of(ada["id"], "checking"))

    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["prompt_id"] == prompt["prompt_id"]
    assert ack["outcome"] == "present"
    assert ack["final"] is True

    verdict = await student.wait_for("verdict")
    assert verdict["outcome"] == "present"
    row = await tutor.wait_for("attendance", state_of(ada["id"], "verified"))
    assert row["connected"] is True
    assert row["last_outcome"] == "present"
    assert row["checks"] == {"issued": 1, "passed": 1, "failed": 0, "missed": 0}
    assert row["ratio"] == 1.0
    assert row["name"] == ada["name"]
    assert row["last_check_at"] is not None


@pytest.mark.parametrize(
    ("frame", "outcome", "hint_words"),
    [
        (blank_jpeg, "no_face", "face"),
        (two_faces_jpeg, "multiple_faces", "only you"),
        (lambda: os.urandom(5000), "bad_image", "could not be read"),
    ],
    ids=["blank", "two-faces", "random-bytes"],
)
async def test_a_failing_frame_is_named_and_leaves_attempts(
    api: Api,
    server_url: str,
    participants: list[Participant],
    frame: Any,
    outcome: str,
    hint_words: str,
) -> None:
    _room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    prompt = await prompted(tutor, student, me["id"])

    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": frame()})
    assert ack["outcome"] == outcome
    assert ack["final"] is False
    assert ack["attempts_left"] == prompt["max_frames"] - 1
    assert hint_words in (ack["hint"] or "")
    row = await tutor.wait_for("attendance", lambda d: d["last_outcome"] == outcome)
    assert row["state"] == "checking"  # one bad frame never fails a student on its own

    # A later good frame still passes the prompt.
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert (ack["outcome"], ack["final"]) == ("present", True)
    await tutor.wait_for("attendance", state_of(me["id"], "verified"))


async def test_max_frames_failures_fail_the_prompt_and_flag_the_student(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, me, tutor, student = await one_student_lesson(
        api, server_url, participants, policy={"max_frames": 2}
    )
    prompt = await prompted(tutor, student, me["id"])
    acks = [
        await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": blank_jpeg()})
        for _ in range(3)
    ]
    assert [(a["outcome"], a["final"], a["attempts_left"]) for a in acks] == [
        ("no_face", False, 1),
        ("no_face", True, 0),
        ("unknown_prompt", True, 0),
    ]
    verdict = await student.wait_for("verdict")
    assert (verdict["outcome"], verdict["status"]) == ("no_face", "failed")
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"))
    assert row["checks"] == {"issued": 1, "passed": 0, "failed": 1, "missed": 0}
    assert row["ratio"] == 0.0


async def test_no_answer_is_missed_and_flags_the_student(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, me, tutor, student = await one_student_lesson(
        api, server_url, participants, policy={"deadline_s": 1}
    )
    prompt = await prompted(tutor, student, me["id"])

    verdict = await student.wait_for("verdict", within=5)
    assert verdict["prompt_id"] == prompt["prompt_id"]
    assert (verdict["outcome"], verdict["final"], verdict["status"]) == ("missed", True, "missed")
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"), within=5)
    assert row["last_outcome"] == "missed"
    assert row["checks"]["missed"] == 1

    # Answering after the deadline is refused as too late, and changes nothing.
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "expired"
    assert ack["final"] is True


async def test_a_frame_after_the_deadline_is_expired_and_not_judged(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, me, tutor, student = await one_student_lesson(
        api, server_url, participants, policy={"deadline_s": 1}
    )
    prompt = await prompted(tutor, student, me["id"])
    await asyncio.sleep(timeout(2.5))  # the deadline and its one-second grace
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "expired"
    row = await tutor.wait_for("attendance", state_of(me["id"], "flagged"))
    assert row["checks"]["passed"] == 0


async def test_another_students_prompt_id_is_unknown(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (ada_sock, ben_sock) = await class_lesson(api, server_url, participants, 2)
    ada = room.students[0]
    ada_prompt = await prompted(tutor, ada_sock, ada["id"])

    ack = await ben_sock.call(
        "capture", {"prompt_id": ada_prompt["prompt_id"], "image": face_jpeg()}
    )
    assert ack["outcome"] == "unknown_prompt"
    assert ack["final"] is True
    # Ada's prompt is untouched: she can still answer it herself.
    ack = await ada_sock.call(
        "capture", {"prompt_id": ada_prompt["prompt_id"], "image": face_jpeg()}
    )
    assert ack["outcome"] == "present"
    # A passed prompt cannot be replayed.
    ack = await ada_sock.call(
        "capture", {"prompt_id": ada_prompt["prompt_id"], "image": face_jpeg()}
    )
    assert ack["outcome"] == "unknown_prompt"


async def test_prompts_come_on_their_own_at_random_times(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    policy = {
        "first_prompt_min_s": 0.2,
        "first_prompt_max_s": 0.6,
        "interval_min_s": 1,
        "interval_max_s": 1.5,
        "challenge_probability": 0,
    }
    room = await make_classroom(api, n_students=1, policy=policy)
    me = room.students[0]
    student = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    first = await student.wait_for("prompt", within=5)
    assert first["challenge"] == "none"
    ack = await student.call("capture", {"prompt_id": first["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present"
    second = await student.wait_for(
        "prompt", lambda p: p["prompt_id"] != first["prompt_id"], within=6
    )
    assert second["prompt_id"] != first["prompt_id"]


async def test_check_now_for_all_prompts_every_connected_student_once(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, tutor, socks = await class_lesson(api, server_url, participants, 3, connected=2)
    assert await tutor.call("check_now", {}) == {"issued": 2}  # the third is offline
    for sock in socks:
        await sock.wait_for("prompt")
    # A student can never have two open prompts.
    assert await tutor.call("check_now", {}) == {"issued": 0}


async def test_check_now_for_a_large_class_prompts_in_waves_each_student_once(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    checks = app_for(server_url).other_asgi_app.state.hub.parts.checks
    before = checks.tune(WaveTuning(wave=2))
    try:
        await _check_now_in_pairs(api, server_url, participants)
    finally:
        checks.tune(before)


async def _check_now_in_pairs(api: Api, server_url: str, participants: list[Participant]) -> None:
    _room, tutor, socks = await class_lesson(api, server_url, participants, 5)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    assert await tutor.call("check_now", {}) == {"issued": 5}
    # Those still waiting for their wave are not counted twice.
    assert await tutor.call("check_now", {}) == {"issued": 0}
    arrived: dict[int, float] = {}
    async with asyncio.timeout(timeout(10)):
        while len(arrived) < len(socks):
            for i, sock in enumerate(socks):
                if i not in arrived and sock.received("prompt"):
                    arrived[i] = loop.time() - sent
            await asyncio.sleep(0.01)
    # Two at a time: nobody answers here, so each pair holds the window for
    # CHECK_ANSWER_WAIT_S before the next pair is prompted.
    waits = sorted(arrived.values())
    assert waits[-1] - waits[0] >= 2 * WaveTuning().answer_wait_s * 0.9, waits
    await asyncio.sleep(timeout(0.3))
    assert [len(sock.received("prompt")) for sock in socks] == [1] * 5


async def test_a_reconnecting_student_keeps_counts_and_gets_the_same_prompt(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    first = await prompted(tutor, student, me["id"])
    await student.call("capture", {"prompt_id": first["prompt_id"], "image": face_jpeg()})
    second = await prompted(tutor, student, me["id"])

    await student.close()
    await tutor.wait_for("attendance", state_of(me["id"], "offline"))
    mark = len(tutor.events)
    again = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    resent = await again.wait_for("prompt")
    assert resent["prompt_id"] == second["prompt_id"]
    row = await tutor.wait_for("attendance", lambda d: d["connected"], since=mark)
    assert row["state"] == "checking"
    assert row["checks"] == {"issued": 2, "passed": 1, "failed": 0, "missed": 0}
    assert await tutor.call("check_now", {"student_id": me["id"]}) == {"issued": 0}
    ack = await again.call("capture", {"prompt_id": second["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present"
    row = await tutor.wait_for("attendance", lambda d: d["checks"]["passed"] == 2)
    assert row["ratio"] == 1.0

    # A tutor who connects later sees the same counts in the roster.
    late = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    roster = await late.wait_for("roster")
    assert roster["students"][0]["checks"]["passed"] == 2


async def test_end_lesson_tells_everyone_and_closes_student_sockets(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    await prompted(tutor, student, me["id"])

    assert await tutor.call("end_lesson", {}) == {"ok": True}
    ended = await student.wait_for("lesson_ended")
    assert ended == {"lesson_id": room.lesson_id}
    await tutor.wait_for("lesson_ended")
    await student.wait_for("disconnect")
    assert not student.client.connected
    lesson = await api.call("GET", f"/api/lessons/{room.lesson_id}", room.tutor["token"])
    assert lesson["status"] == "ended"
    assert lesson["ended_at"] is not None

    # The lesson is over: nobody can join it again.
    late = Participant(server_url, "/student")
    participants.append(late)
    with pytest.raises(Exception):  # noqa: B017 - the client raises its ConnectionError
        await late.connect(me["token"], room.lesson_id)
    assert late.refusal is not None and late.refusal["data"]["code"] == "lesson_not_live"


async def _refusal(
    url: str, namespace: str, token: str | None, lesson_id: str, participants: list[Participant]
) -> dict[str, Any]:
    p = Participant(url, namespace)
    participants.append(p)
    with pytest.raises(Exception):  # noqa: B017 - the client raises its ConnectionError
        await p.connect(token, lesson_id)
    assert p.refusal is not None
    assert isinstance(p.refusal.get("message"), str) and p.refusal["message"]
    return dict(p.refusal["data"])


async def test_every_refusal_code(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    other: Classroom = await make_classroom(api, n_students=1)
    scheduled = await make_classroom(api, n_students=1, start=False)
    student = room.students[0]["token"]
    cases = [
        ("/student", "not-a-token", room.lesson_id, "unauthorized"),
        ("/student", None, room.lesson_id, "bad_request"),
        ("/student", student, "not-an-id", "bad_request"),
        ("/tutor", student, room.lesson_id, "forbidden"),
        ("/tutor", other.tutor["token"], room.lesson_id, "forbidden"),
        ("/student", other.students[0]["token"], room.lesson_id, "not_enrolled"),
        ("/student", scheduled.students[0]["token"], scheduled.lesson_id, "lesson_not_live"),
        ("/tutor", scheduled.tutor["token"], scheduled.lesson_id, "lesson_not_live"),
    ]
    for forged in forged_tokens(room.students[0]["id"], student).values():
        cases.append(("/student", forged, room.lesson_id, "unauthorized"))
        cases.append(("/tutor", forged, room.lesson_id, "unauthorized"))
    for namespace, token, lesson_id, code in cases:
        data = await _refusal(server_url, namespace, token, lesson_id, participants)
        assert data == {"code": code}, (namespace, lesson_id, code)

    # The server keeps serving everyone else.
    ok = await join(participants, server_url, "/student", student, room.lesson_id)
    assert ok.client.connected


async def test_what_is_stored_is_the_verdict_and_the_hash_never_the_frame(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import undefer

    from storage.db import make_engine, make_sessions
    from storage.models import Check, PresenceInterval, Prompt
    from testkit.server import database_url_for

    _room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    prompt = await prompted(tutor, student, me["id"])
    frame = face_jpeg()
    await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": blank_jpeg()})
    await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": frame})
    await student.close()
    await tutor.wait_for("attendance", state_of(me["id"], "offline"))

    engine = make_engine(database_url_for(server_url))
    try:
        async with make_sessions(engine)() as s:
            checks = (
                await s.scalars(
                    select(Check)
                    .options(undefer(Check.thumbnail))
                    .where(Check.prompt_id == prompt["prompt_id"])
                    .order_by(Check.received_at)
                )
            ).all()
            stored_prompt = await s.get(Prompt, prompt["prompt_id"])
            presence = (
                await s.scalars(
                    select(PresenceInterval).where(
                        PresenceInterval.student_id == uuid.UUID(me["id"])
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [c.outcome for c in checks] == ["no_face", "present"]
    assert checks[1].frame_sha256 == hashlib.sha256(frame).hexdigest()
    assert checks[1].face_count == 1 and checks[1].score > 0.5
    assert checks[1].detector_version.startswith("mediapipe-0.10.21")
    assert all(c.thumbnail is None for c in checks)  # evidence "none": no image bytes kept
    assert stored_prompt is not None and stored_prompt.status == "passed"
    assert len(presence) == 1
    assert presence[0].disconnected_at is not None
    assert presence[0].disconnected_at > presence[0].connected_at


async def test_the_camera_state_reaches_the_tutor(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, me, tutor, student = await one_student_lesson(api, server_url, participants)
    assert await student.call("camera", {"state": "denied"}) == {"ok": True}
    row = await tutor.wait_for("attendance", lambda d: d["camera"] == "denied")
    assert row["student_id"] == me["id"]
    answer = await student.call("camera", {"state": "broken"})
    assert answer["ok"] is False and "state" in answer["error"]


async def test_malformed_socket_payloads_get_clear_answers(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 2, connected=1)
    me = room.students[0]
    prompt = await prompted(tutor, student, me["id"])
    pid = prompt["prompt_id"]

    text_image = await student.call("capture", {"prompt_id": pid, "image": "data:image/jpeg..."})
    assert (text_image["outcome"], text_image["final"]) == ("bad_image", False)
    assert "binary" in text_image["hint"]
    assert text_image["attempts_left"] == prompt["max_frames"]  # not judged, not counted
    for payload in (None, [], "capture", 42, {"prompt_id": 7, "image": b"x"}, {"image": b"x"}):
        ack = await student.call("capture", payload)
        assert ack["outcome"] == "unknown_prompt", payload
    unknown = await student.call("dance", {})
    assert "unknown event" in unknown["error"]
    assert "student_id" in (await tutor.call("check_now", {"student_id": "nope"}))["error"]
    assert (
        "student_id"
        # An id no one in this lesson has (changing the other student's last digit to "0" was
        # their own id one time in sixteen).
        in (await tutor.call("check_now", {"student_id": str(uuid.uuid4())}))["error"]
    )

    # The connection and the open prompt survive all of it.
    ack = await student.call("capture", {"prompt_id": pid, "image": face_jpeg()})
    assert ack["outcome"] == "present"


async def test_a_capture_flood_is_rate_limited_per_connection(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (flood, calm) = await class_lesson(api, server_url, participants, 2)
    honest = room.students[1]
    outcomes = [
        (await flood.call("capture", {"prompt_id": "made-up", "image": b"\xff\xd8"}))["outcome"]
        for _ in range(20)
    ]
    assert "rate_limited" in outcomes
    assert outcomes[0] == "unknown_prompt"
    prompt = await prompted(tutor, calm, honest["id"])
    ack = await calm.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present"


async def test_a_server_fault_while_connecting_is_answered_not_left_hanging(
    api: Api, server_url: str, participants: list[Participant], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from storage import access

    room = await make_classroom(api, n_students=1)
    me = room.students[0]

    async def database_down(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("database is unreachable"))

    monkeypatch.setattr(access, "token_user", database_down)
    data = await _refusal(server_url, "/student", me["token"], room.lesson_id, participants)
    assert data == {"code": "unavailable"}
    monkeypatch.undo()
    ok = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    assert ok.client.connected
