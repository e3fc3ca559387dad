"""A server process dies mid-lesson (SIGKILL), or is stopped (SIGTERM) while checks are in
flight: the lesson goes on, nothing acknowledged is lost, nothing is counted twice."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
import socketio

from testkit.api import Api, Classroom
from testkit.frames import face_jpeg
from testkit.lessons import class_lesson, join
from testkit.participants import Participant
from testkit.processes import ServerProcess
from testkit.timing import timeout


async def prompt_all(tutor: Participant, students: list[Participant]) -> list[dict[str, Any]]:
    seen = [len(s.events) for s in students]
    answer = await tutor.call("check_now", {})
    assert answer["issued"] == len(students), answer
    return [await s.wait_for("prompt", since=n) for s, n in zip(students, seen, strict=True)]


async def send(student: Participant, prompt: dict[str, Any], acks: list[dict[str, Any]]) -> None:
    """Send a frame; record the ack if one comes back."""
    try:
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
    except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
        return
    acks.append(ack)


async def prompt_until_issued(tutor: Participant, student: Participant, student_id: str) -> Any:
    """check_now until the student's new process may prompt them (once the stopped
    process's open prompt has been settled)."""
    deadline = asyncio.get_running_loop().time() + timeout(30)
    while True:
        seen = len(student.events)
        if (await tutor.call("check_now", {"student_id": student_id}))["issued"] == 1:
            return await student.wait_for("prompt", since=seen)
        assert asyncio.get_running_loop().time() < deadline, "never prompted again"
        await asyncio.sleep(0.3)


async def consistent_report(api: Api, room: Classroom, acks: list[dict[str, Any]]) -> Any:
    report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
    log = await api.call("GET", f"/api/lessons/{room.lesson_id}/checks?limit=200", room.admin)
    stored = {(c["prompt_id"], c["outcome"]) for c in log["items"]}
    # Every verdict a student was told about is in the log.
    for ack in acks:
        assert (ack["prompt_id"], ack["outcome"]) in stored, ack
    # Each prompt is counted once, and only as passed, failed or missed: none left open.
    for line in report["students"]:
        c = line["checks"]
        assert c["issued"] == c["passed"] + c["failed"] + c["missed"], line
        passed_prompts = {
            ch["prompt_id"]
            for ch in log["items"]
            if ch["student_id"] == line["student_id"] and ch["outcome"] == "present"
        }
        assert c["passed"] == len(passed_prompts), line
        assert line["connected_seconds"] <= report["live_seconds"] + 0.5
    return report


async def test_a_killed_process_loses_nothing_acknowledged(
    two_servers: tuple[ServerProcess, ServerProcess], participants: list[Participant]
) -> None:
    a, b = two_servers
    async with Api(b.url) as api:
        room, tutor, on_a = await class_lesson(api, b.url, participants, 3, students_at=a.url)
        acks: list[dict[str, Any]] = []
        for prompt, student in zip(await prompt_all(tutor, on_a), on_a, strict=True):
            await send(student, prompt, acks)
        assert [ack["outcome"] for ack in acks] == ["present"] * 3

        # Frames in flight, and the process is killed under them.
        prompts = await prompt_all(tutor, on_a)
        in_flight = [
            asyncio.create_task(send(s, p, acks)) for s, p in zip(on_a, prompts, strict=True)
        ]
        await asyncio.sleep(0.01)
        a.signal(signal.SIGKILL)
        a.wait()
        await asyncio.gather(*in_flight)
        for student in on_a:
            await student.close()

        lesson = await api.call("GET", f"/api/lessons/{room.lesson_id}", room.admin)
        assert lesson["status"] == "live"

        # The students come back on B, and A comes back too; everyone is prompted again.
        a.start()
        back = [
            await join(
                participants, (b if i < 2 else a).url, "/student", s["token"], room.lesson_id
            )
            for i, s in enumerate(room.students)
        ]
        for student, record in zip(back, room.students, strict=True):
            prompt = await prompt_until_issued(tutor, student, record["id"])
            await send(student, prompt, acks)
        assert [ack["outcome"] for ack in acks[-3:]] == ["present"] * 3

        await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
        report = await consistent_report(api, room, acks)
        for line in report["students"]:
            # Two rounds acknowledged, plus the killed round's verdict if it was written
            # before the kill: never more, never the open prompt counted as missed.
            assert line["checks"]["passed"] in (2, 3)
            assert line["checks"]["missed"] == 0


async def test_sigterm_answers_frames_in_flight_then_exits(
    two_servers: tuple[ServerProcess, ServerProcess], participants: list[Participant]
) -> None:
    a, b = two_servers
    async with Api(b.url) as api:
        room, tutor, on_a = await class_lesson(api, b.url, participants, 3, students_at=a.url)
        acks: list[dict[str, Any]] = []
        prompts = await prompt_all(tutor, on_a)
        in_flight = [
            asyncio.create_task(send(s, p, acks)) for s, p in zip(on_a, prompts, strict=True)
        ]
        await asyncio.sleep(0.01)
        a.signal(signal.SIGTERM)
        await asyncio.gather(*in_flight)
        # Every frame sent before the signal was answered.
        assert sorted(ack["prompt_id"] for ack in acks) == sorted(p["prompt_id"] for p in prompts)
        assert {ack["outcome"] for ack in acks} == {"present"}
        # And the process is gone, without being killed.
        assert a.wait() in (0, -signal.SIGTERM)
        late = Participant(a.url, "/student")
        participants.append(late)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect(room.students[0]["token"], room.lesson_id)

        # The students carry on on B.
        for student in on_a:
            await student.close()
        back = [
            await join(participants, b.url, "/student", s["token"], room.lesson_id)
            for s in room.students
        ]
        for student, record in zip(back, room.students, strict=True):
            prompt = await prompt_until_issued(tutor, student, record["id"])
            await send(student, prompt, acks)
        await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
        report = await consistent_report(api, room, acks)
        assert [line["checks"]["passed"] for line in report["students"]] == [2, 2, 2]


async def test_a_draining_hub_refuses_new_connections_with_a_reason() -> None:
    from realtime.emitter import STUDENT_NS
    from realtime.errors import Refused
    from realtime.hub import LessonHub

    hub = LessonHub(socketio.AsyncServer(async_mode="asgi"))
    hub.begin_drain()
    with pytest.raises(Refused) as refused:
        await hub.authenticate({"token": "x", "lesson_id": "y"}, STUDENT_NS)
    assert refused.value.code == "unavailable"
    assert await hub.drained(0.1)  # nothing in flight
