"""Hostile Socket.IO traffic: malformed payloads, unknown and misdirected events, huge strings,
captures without an ack, messages before the namespace is joined, packets no client library
would send. Each gets a clear answer (an ack with ``outcome`` and ``hint``, or ``error``), and
the rest of the class keeps being served."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from testkit.api import Api
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import class_lesson, join, prompted, roster_row, state_of, still_verified
from testkit.participants import Participant
from testkit.timing import timeout
from tests.adversarial.helpers import PROTOCOL_OUTCOMES, assert_clear_refusal
from tests.adversarial.raw import RawSocket

# More refusals than this on one connection are answered `rate_limited` (the per-connection
# bucket); the batches below stay under it so that each answer is the specific one.
BATCH = 10


def _batches(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def without_prompt_id(pid: str) -> list[Any]:
    """Captures that do not name a prompt in the documented way: refused as unknown."""
    face = face_jpeg()
    return [
        None,
        [],
        "capture",
        42,
        3.5,
        True,
        {},
        {"image": face},
        {"prompt_id": None, "image": face},
        {"prompt_id": 7, "image": face},
        {"prompt_id": 7.0, "image": face},
        {"prompt_id": [pid], "image": face},
        {"prompt_id": {"$ne": None}, "image": face},
        {"prompt_id": {"prompt_id": pid}, "image": face},
        {"prompt_id": "", "image": face},
        {"prompt_id": pid + "x" * 64, "image": face},
        {"prompt_id": "x" * 1_000_000, "image": b"x"},
        {"prompt_id": pid.encode(), "image": "text"},
        [pid, face],
        [{"prompt_id": pid, "image": face}],
    ]


def without_binary_image(pid: str) -> list[Any]:
    """Captures for the open prompt whose image is not a binary file: refused, not counted."""
    return [
        {"prompt_id": pid},
        {"prompt_id": pid, "image": None},
        {"prompt_id": pid, "image": "data:image/jpeg;base64,/9j/4AAQ"},
        {"prompt_id": pid, "image": 123},
        {"prompt_id": pid, "image": True},
        {"prompt_id": pid, "image": [1, 2, 3]},
        {"prompt_id": pid, "image": [face_jpeg()]},
        {"prompt_id": pid, "image": {"data": face_jpeg()}},
        {"prompt_id": pid, "image": {"_placeholder": True, "num": 0}},
        {"prompt_id": pid, "image": b""},
        {"prompt_id": pid, "image": "x" * 1_500_000},
    ]


async def test_malformed_captures_get_a_clear_answer_and_cost_no_attempt(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (abuser, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    prompt = await prompted(tutor, abuser, me["id"])
    pid, max_frames = prompt["prompt_id"], prompt["max_frames"]

    sock = abuser
    for i, batch in enumerate(_batches(without_prompt_id(pid))):
        if i:  # a fresh connection, so the answers stay the specific ones
            sock = await join(participants, server_url, "/student", me["token"], room.lesson_id)
        for payload in batch:
            ack = await sock.call("capture", payload)
            assert_clear_refusal(ack, {"unknown_prompt"}, str(payload)[:80])
            assert ack["final"] is True
    for batch in _batches(without_binary_image(pid)):
        sock = await join(participants, server_url, "/student", me["token"], room.lesson_id)
        for payload in batch:
            ack = await sock.call("capture", payload)
            assert_clear_refusal(ack, {"bad_image"}, str(payload)[:80])
            assert ack["prompt_id"] == pid
            assert ack["final"] is False
            assert ack["attempts_left"] == max_frames  # nothing was judged: no attempt used
            assert "binary" in ack["hint"]

    # Nothing was judged: the tutor still sees the prompt open, nothing resolved.
    late = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    row = next(
        s for s in (await late.wait_for("roster"))["students"] if s["student_id"] == me["id"]
    )
    assert row["state"] == "checking"
    assert row["checks"] == {"issued": 1, "passed": 0, "failed": 0, "missed": 0}
    # The rest of the class is served, and the abuser's prompt is still answerable in full.
    await still_verified(tutor, honest, other)
    ack = await sock.call("capture", {"prompt_id": pid, "image": blank_jpeg()})
    assert (ack["outcome"], ack["attempts_left"]) == ("no_face", max_frames - 1)
    ack = await sock.call("capture", {"prompt_id": pid, "image": face_jpeg(), "extra": [1, {}]})
    assert (ack["outcome"], ack["final"]) == ("present", True)


async def test_unknown_and_misdirected_events_are_answered_with_an_error(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    # Tutor events on /student, student events on /tutor, server events sent by a client.
    misdirected = [
        (student, "check_now", {}),
        (student, "end_lesson", {}),
        (student, "prompt", {"prompt_id": "x"}),
        (student, "verdict", {}),
        (student, "roster", {}),
        (student, "dance", {"steps": [1, 2]}),
        (student, "Capture", {"prompt_id": "x", "image": face_jpeg()}),
        (student, "capture ", {"prompt_id": "x", "image": face_jpeg()}),
        (tutor, "capture", {"prompt_id": "x", "image": face_jpeg()}),
        (tutor, "camera", {"state": "ok"}),
        (tutor, "attendance", {}),
    ]
    for sock, event, data in misdirected:
        answer = await sock.call(event, data)
        assert isinstance(answer, dict) and "unknown event" in answer.get("error", ""), (
            sock.namespace,
            event,
            answer,
        )
    # A student's "end_lesson" ended nothing, and nobody was prompted by a student.
    lesson = await room.api.call("GET", f"/api/lessons/{room.lesson_id}", room.tutor["token"])
    assert lesson["status"] == "live"
    assert student.received("prompt") == []

    for data in (None, [], "ok", 5, {"state": 5}, {"state": ["ok"]}, {"state": "OK"}, {}):
        answer = await student.call("camera", data)
        assert answer["ok"] is False and "state" in answer["error"], (data, answer)
    answer = await student.call("camera", {"state": "x" * 1_000_000})
    assert answer["ok"] is False and "state" in answer["error"]
    assert len(json.dumps(answer)) < 1000  # a huge value is not echoed back

    for data in (
        [],
        "all",
        5,
        {"student_id": 5},
        {"student_id": "x" * 100_000},
        {"student_id": {"$gt": ""}},
        {"student_id": [other["id"]]},
        {"student_id": other["id"].upper().replace("-", "")[:-1] + "Z"},
    ):
        answer = await tutor.call("check_now", data)
        assert answer["issued"] == 0 and answer.get("error"), (data, answer)
        assert len(json.dumps(answer)) < 1000
    assert student.received("prompt") == [] and honest.received("prompt") == []

    await still_verified(tutor, honest, other)
    await still_verified(tutor, student, me)


async def test_an_unknown_events_huge_name_is_not_echoed_back(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, _tutor, (student,) = await class_lesson(api, server_url, participants, 1)
    answer = await student.call("x" * 1_000_000, {})
    assert "unknown event" in answer["error"]
    assert len(answer["error"]) < 1000


async def test_an_event_name_that_is_not_a_string_is_answered(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = (await class_lesson(api, server_url, participants, 1, connected=0))[0]
    raw = await RawSocket.open(server_url)
    try:
        auth = {"token": room.students[0]["token"], "lesson_id": room.lesson_id}
        assert (await raw.join("/student", auth)).kind == "0"
        for ack_id, name in enumerate(("123", "null", '{"a": 1}', '["capture"]'), start=1):
            await raw.send(f'42/student,{ack_id}[{name},{{"prompt_id":"x"}}]')
            answer = await raw.ack(ack_id)
            assert answer == {"error": "an event name must be a string"}, (name, answer)
        assert await raw.is_open()
    finally:
        await raw.close()


async def test_a_capture_for_no_open_prompt_is_unknown_whatever_its_image(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    _room, _tutor, (student,) = await class_lesson(api, server_url, participants, 1)
    for image in (face_jpeg(), "text", None, b""):
        ack = await student.call("capture", {"prompt_id": "no-such-prompt", "image": image})
        assert_clear_refusal(ack, {"unknown_prompt"}, repr(image)[:20])
        assert ack["final"] is True


async def test_a_capture_without_an_ack_still_resolves_the_prompt(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    # Unsolicited and ack-less: nothing to answer, nothing breaks.
    for _ in range(5):
        await student.client.emit(
            "capture", {"prompt_id": "made-up", "image": face_jpeg()}, namespace="/student"
        )
    await student.client.emit("capture", None, namespace="/student")
    prompt = await prompted(tutor, student, me["id"])
    await student.client.emit(
        "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}, namespace="/student"
    )
    # Without an ack the student still learns the outcome from the `verdict` event.
    verdict = await student.wait_for("verdict", lambda v: v["prompt_id"] == prompt["prompt_id"])
    assert (verdict["outcome"], verdict["final"]) == ("present", True)
    await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    await still_verified(tutor, honest, other)


async def test_messages_before_the_namespace_is_joined_are_never_judged(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (honest,) = await class_lesson(api, server_url, participants, 2, connected=1)
    me, other = room.students[1], room.students[0]
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    raw = await RawSocket.open(server_url)
    try:
        # Not joined yet: python-socketio drops these (logged); nothing is judged.
        await raw.emit("/student", "capture", {"prompt_id": "x", "image": "y"}, ack_id=1)
        await raw.emit("/student", "camera", {"state": "denied"}, ack_id=2)
        await raw.emit("/tutor", "check_now", {}, ack_id=3)
        await raw.emit("/tutor", "end_lesson", {}, ack_id=4)
        assert await raw.silent_for(0.5, lambda p: p.kind == "3")
        # The join and a capture sent right behind it, before the join is answered: the
        # capture is handled after the join, as a joined student's.
        await raw.send(f"40/student,{json.dumps(auth)}")
        await raw.emit_binary(
            "/student",
            "capture",
            {"prompt_id": "x", "image": {"_placeholder": True, "num": 0}},
            face_jpeg(),
            ack_id=5,
        )
        joined = await raw.next(lambda p: p.namespace == "/student" and p.kind in "04")
        assert joined.kind == "0", joined
        assert_clear_refusal(await raw.ack(5), {"unknown_prompt"})
        # The same connection asking for /tutor with a student's token is refused with a code.
        refused = await raw.join("/tutor", auth)
        assert refused.kind == "4" and refused.data["data"] == {"code": "forbidden"}
        assert await raw.is_open()
    finally:
        await raw.close()
    lesson = await room.api.call("GET", f"/api/lessons/{room.lesson_id}", room.tutor["token"])
    assert lesson["status"] == "live"
    row = await tutor.wait_for("attendance", state_of(me["id"]))
    assert row["camera"] == "unknown" and row["checks"]["issued"] == 0
    await still_verified(tutor, honest, other)


async def test_packets_no_client_library_sends_leave_the_server_serving(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (honest,) = await class_lesson(api, server_url, participants, 2, connected=1)
    me, other = room.students[1], room.students[0]
    raw = await RawSocket.open(server_url)
    try:
        joined = await raw.join("/student", {"token": me["token"], "lesson_id": room.lesson_id})
        assert joined.kind == "0"
        for junk in [
            "42/student,1" + "[" * 50_000 + "]" * 50_000,  # nesting deeper than any decoder
            '42/student,2{"not": "a list"}',
            "42/student,3[]",
            "42/student,4[null]",
            '42/student,5["capture", {"prompt_id": "x"',  # cut short
            "42/student,6" + json.dumps(["capture", {"prompt_id": "x" * 500_000}]),
            '42/student,7["capture",{"image":{"_placeholder":true,"num":99}}]',
            "4",
            "49",
            "9",
            "42/nowhere,8[]",
        ]:
            await raw.send(junk)
        await raw.send(os.urandom(2000))  # a binary frame that belongs to no packet
        # Still connected, and a well-formed capture is still answered.
        await raw.emit("/student", "capture", {"prompt_id": "after", "image": "x"}, ack_id=10)
        ack = await raw.ack(10)
        assert_clear_refusal(ack, {"unknown_prompt", "bad_image", "rate_limited"})
        # A placeholder pointing past the attachments leaves python-socketio waiting on this
        # connection for ever (each later message is taken for an extra attachment): only the
        # sender's own connection is spoilt.
        await raw.send(
            '451-/student,9["capture",{"prompt_id":"x","image":{"_placeholder":true,"num":7}}]'
        )
        await raw.send(b"\xff\xd8")
    finally:
        await raw.close()
    await still_verified(tutor, honest, other)


async def test_a_capture_with_extra_arguments_is_answered(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = (await class_lesson(api, server_url, participants, 1, connected=0))[0]
    raw = await RawSocket.open(server_url)
    try:
        auth = {"token": room.students[0]["token"], "lesson_id": room.lesson_id}
        assert (await raw.join("/student", auth)).kind == "0"
        await raw.emit("/student", "capture", {"prompt_id": "x", "image": "y"}, ack_id=1)
        assert_clear_refusal(await raw.ack(1), PROTOCOL_OUTCOMES | {"bad_image"})
        await raw.send('42/student,2["capture",{"prompt_id":"x","image":"y"},"extra",3]')
        assert_clear_refusal(await raw.ack(2, within=2), PROTOCOL_OUTCOMES | {"bad_image"})
    finally:
        await raw.close()


def _resident_bytes() -> int:
    """This process's resident memory; the test server runs in it (a thread of uvicorn)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
async def test_a_binary_packet_cannot_make_the_server_hold_unbounded_memory(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (honest,) = await class_lesson(api, server_url, participants, 2, connected=1)
    me, other = room.students[1], room.students[0]
    raw = await RawSocket.open(server_url)
    blob = os.urandom(1_000_000)
    sent = 0
    try:
        auth = {"token": me["token"], "lesson_id": room.lesson_id}
        assert (await raw.join("/student", auth)).kind == "0"
        before = _resident_bytes()
        await raw.send(
            '451000-/student,1["capture",{"prompt_id":"x","image":{"_placeholder":true,"num":0}}]'
        )
        for _ in range(64):
            try:
                await raw.send(blob)
            except ConnectionClosed:
                break  # refusing the flood by closing the connection is fine too
            sent += len(blob)
        await asyncio.sleep(timeout(0.5))
        grown = _resident_bytes() - before
    finally:
        await raw.close()
    await still_verified(tutor, honest, other)
    assert grown < 24_000_000, f"{sent} bytes sent, the server grew by {grown} bytes"


async def test_messages_behind_a_join_that_is_refused_are_never_handled(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    """Sent right behind the join, before its refusal arrives: a tutor's events behind a
    student's join to /tutor, a capture behind a forged token. None is answered or acted on."""
    room, tutor, (honest,) = await class_lesson(api, server_url, participants, 2, connected=1)
    me, other = room.students[1], room.students[0]
    joins = [
        ("/tutor", {"token": me["token"], "lesson_id": room.lesson_id}, "forbidden"),
        ("/student", {"token": me["token"] + "x", "lesson_id": room.lesson_id}, "unauthorized"),
        ("/student", {"token": room.tutor["token"], "lesson_id": room.lesson_id}, "forbidden"),
    ]
    for namespace, auth, code in joins:
        raw = await RawSocket.open(server_url)
        try:
            await raw.send(f"40{namespace},{json.dumps(auth)}")
            await raw.emit(namespace, "end_lesson", {}, ack_id=1)
            await raw.emit(namespace, "check_now", {}, ack_id=2)
            await raw.emit_binary(
                namespace,
                "capture",
                {"prompt_id": "x", "image": {"_placeholder": True, "num": 0}},
                face_jpeg(),
                ack_id=3,
            )
            await raw.emit(namespace, "camera", {"state": "denied"}, ack_id=4)
            refused = await raw.next(lambda p, ns=namespace: p.namespace == ns and p.kind in "04")
            assert refused.kind == "4" and refused.data["data"] == {"code": code}, refused
            assert await raw.silent_for(0.5, lambda p: p.kind == "3"), raw.packets
            assert await raw.is_open()
        finally:
            await raw.close()
    lesson = await room.api.call("GET", f"/api/lessons/{room.lesson_id}", room.tutor["token"])
    assert lesson["status"] == "live"
    assert honest.received("prompt") == []  # no "check everyone" got through
    row = await roster_row(participants, server_url, room, me["id"])
    assert (row["connected"], row["camera"], row["checks"]["issued"]) == (False, "unknown", 0)
    await still_verified(tutor, honest, other)


UNDECODABLE = [
    "42/student,1" + "[" * 50_000 + "]" * 50_000,  # nested deeper than the decoder goes
    '42/student,2{"not": "a list"}',
    "42/student,3[]",
    '42/student,4["capture", {"prompt_id": "x"',  # cut short
    "42/student,abc",
    "4",
    "49",
    "4x",
    "45",
    "451-",
    '45x-/student,5["capture",{}]',
]


async def test_undecodable_packets_are_not_logged_as_server_errors(
    api: Api, server_url: str, participants: list[Participant], caplog: pytest.LogCaptureFixture
) -> None:
    """They are the client's error: one short line each at most, never an error with a
    traceback, or a client could fill the server's logs at the rate it can send."""
    room = (await class_lesson(api, server_url, participants, 1, connected=0))[0]
    raw = await RawSocket.open(server_url)
    try:
        auth = {"token": room.students[0]["token"], "lesson_id": room.lesson_id}
        assert (await raw.join("/student", auth)).kind == "0"
        with caplog.at_level(logging.INFO):
            for junk in UNDECODABLE:
                await raw.send(junk)
            await raw.send(os.urandom(2000))
            await raw.emit("/student", "capture", {"prompt_id": "after", "image": "x"}, ack_id=9)
            assert_clear_refusal(await raw.ack(9), {"unknown_prompt"})
    finally:
        await raw.close()
    loud = [(r.name, r.levelname, r.getMessage()[:80]) for r in caplog.records if r.exc_info]
    loud += [(r.name, r.levelname, r.getMessage()[:80]) for r in caplog.records if r.levelno >= 40]
    assert loud == []
    assert len(caplog.records) <= 2 * (len(UNDECODABLE) + 1) + 5, len(caplog.records)
