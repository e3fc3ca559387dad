"""A connection's life under abuse: events named like the lifecycle handlers, a connection
closed right behind its join, a second join on one connection, namespaces that do not exist,
a camera-state flood. Whatever a client does, the tutor's dashboard must show who is really
connected. (A join cut short over long-polling: test_polling.py.)"""

from __future__ import annotations

import asyncio
import json

from testkit.api import Api
from testkit.lessons import class_lesson, offline_soon, roster_row, state_of, still_verified
from testkit.participants import Participant
from testkit.timing import timeout
from tests.adversarial.raw import RawSocket


async def test_an_event_named_disconnect_does_not_sign_the_student_out(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 1)
    me = room.students[0]
    await tutor.wait_for("attendance", state_of(me["id"], "waiting"))
    mark = len(tutor.events)
    await student.client.emit("disconnect", {}, namespace="/student")
    await asyncio.sleep(timeout(0.5))
    assert student.client.connected
    assert not [d for e, d in tutor.events[mark:] if e == "attendance" and not d["connected"]]
    await still_verified(tutor, student, me)


async def test_an_event_named_connect_does_not_join_a_second_time(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _ = await class_lesson(api, server_url, participants, 1, connected=0)
    me = room.students[0]
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    raw = await RawSocket.open(server_url)
    try:
        assert (await raw.join("/student", auth)).kind == "0"
        await raw.send(f"42/student,1{json.dumps(['connect', {}, auth])}")
        await raw.silent_for(0.5)
        assert (await roster_row(participants, server_url, room, me["id"]))["connected"]
    finally:
        await raw.close()
    row = await offline_soon(participants, server_url, room, me["id"])
    assert row["connected"] is False and row["state"] == "offline", row


async def test_a_connection_dropped_after_its_handshake_goes_offline(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    """The same join and close over WebSocket, where the join completes first: no ghost."""
    room, _tutor, _ = await class_lesson(api, server_url, participants, 1, connected=0)
    me = room.students[0]
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    for _ in range(3):
        raw = await RawSocket.open(server_url)
        await raw.send(f"40/student,{json.dumps(auth)}")
        await raw.close()
    row = await offline_soon(participants, server_url, room, me["id"])
    assert row["connected"] is False and row["state"] == "offline", row


async def test_a_namespace_that_does_not_exist_is_refused_with_a_code(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _ = await class_lesson(api, server_url, participants, 1, connected=0)
    auth = {"token": room.students[0]["token"], "lesson_id": room.lesson_id}
    raw = await RawSocket.open(server_url)
    try:
        for namespace in ("/admin", "/student/", "/Student", "/"):
            answer = await raw.join(namespace, auth)
            assert answer.kind == "4", (namespace, answer)
            assert isinstance(answer.data, dict) and "code" in answer.data.get("data", {}), (
                namespace,
                answer,
            )
    finally:
        await raw.close()


async def test_joining_the_same_namespace_twice_on_one_connection_keeps_the_first(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, _ = await class_lesson(api, server_url, participants, 1, connected=0)
    me = room.students[0]
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    raw = await RawSocket.open(server_url)
    try:
        assert (await raw.join("/student", auth)).kind == "0"
        assert (await raw.join("/student", auth)).kind == "4"
        await tutor.wait_for("attendance", state_of(me["id"], "waiting"))
        assert await tutor.call("check_now", {"student_id": me["id"]}) == {"issued": 1}
        prompt = await raw.next(lambda p: p.kind == "2" and p.data[0] == "prompt")
        assert prompt.namespace == "/student"
    finally:
        await raw.close()
    row = await offline_soon(participants, server_url, room, me["id"])
    assert row["connected"] is False


async def test_a_camera_state_flood_does_not_flood_the_tutors(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student, honest) = await class_lesson(api, server_url, participants, 2)
    me, other = room.students
    await tutor.wait_for("attendance", state_of(me["id"], "waiting"))
    mark = len(tutor.events)
    answers = await asyncio.gather(
        *(student.call("camera", {"state": ("ok", "denied")[i % 2]}) for i in range(300))
    )
    assert all(isinstance(a, dict) for a in answers)  # every toggle is answered
    await asyncio.sleep(timeout(0.5))
    updates = [
        d for e, d in tutor.events[mark:] if e == "attendance" and d["student_id"] == me["id"]
    ]
    await still_verified(tutor, honest, other)
    assert len(updates) <= 50, f"{len(updates)} attendance updates for one student's camera"
