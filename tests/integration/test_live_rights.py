"""Rights follow changes on open sockets: a course moved to another tutor, a student unenrolled,
an admin demoted, a token that expires. Each through a real server and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from server.security import TokenCodec
from server.settings import Settings
from storage.db import make_engine, make_sessions
from storage.models import Course
from tests.conftest import timeout
from tests.integration.client import Api, Classroom, Participant, make_classroom
from tests.integration.server import database_url_for


async def _tutor_and_students(
    api: Api, url: str, participants: list[Participant], n: int = 1
) -> tuple[Classroom, Participant, list[Participant]]:
    room = await make_classroom(api, n_students=n)
    tutor = Participant(url, "/tutor")
    participants.append(tutor)
    await tutor.connect(room.tutor["token"], room.lesson_id)
    await tutor.wait_for("roster")
    students = []
    for s in room.students:
        sock = Participant(url, "/student")
        participants.append(sock)
        await sock.connect(s["token"], room.lesson_id)
        students.append(sock)
    return room, tutor, students


async def test_a_course_moved_to_another_tutor_closes_the_former_tutors_dashboard(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, _ = await _tutor_and_students(api, server_url, participants)
    successor = await api.add_user(room.admin, "tutor", "Successor")

    await api.call(
        "PATCH",
        f"/api/courses/{room.course_id}",
        room.admin,
        {"tutor_id": successor["id"]},
    )

    await tutor.wait_for("disconnect", within=5)
    assert not tutor.client.connected
    # Joining again is refused: the dashboard is theirs no longer.
    again = Participant(server_url, "/tutor")
    participants.append(again)
    with contextlib.suppress(Exception):
        await again.connect(room.tutor["token"], room.lesson_id)
    assert again.refusal is not None and again.refusal["data"]["code"] == "forbidden"
    # The new tutor may watch.
    new = Participant(server_url, "/tutor")
    participants.append(new)
    await new.connect(successor["token"], room.lesson_id)
    assert (await new.wait_for("roster"))["students"]


async def test_a_former_tutor_cannot_end_the_lesson_or_check_even_before_the_close_arrives(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, _ = await _tutor_and_students(api, server_url, participants)
    successor = await api.add_user(room.admin, "tutor", "Successor")
    # Moved behind the hub's back (as another process's missed announcement would be): the
    # right is checked again at call time all the same.
    engine = make_engine(database_url_for(server_url))
    try:
        async with make_sessions(engine)() as s, s.begin():
            await s.execute(
                update(Course)
                .where(Course.id == uuid.UUID(room.course_id))
                .values(tutor_id=uuid.UUID(successor["id"]))
            )
    finally:
        await engine.dispose()

    answer = await tutor.call("end_lesson", {})
    assert answer["ok"] is False and "access" in answer["error"]
    lesson = await api.call("GET", f"/api/lessons/{room.lesson_id}", room.admin)
    assert lesson["status"] == "live"
    await tutor.wait_for("disconnect", within=5)


async def test_an_unenrolled_student_is_closed_and_gets_no_more_prompts(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, (student,) = await _tutor_and_students(api, server_url, participants)
    student_id = room.students[0]["id"]

    await api.call(
        "DELETE",
        f"/api/courses/{room.course_id}/enrollments/{student_id}",
        room.admin,
        expect=204,
    )

    await student.wait_for("disconnect", within=5)
    assert not student.client.connected


async def test_an_admin_demoted_to_student_loses_their_tutor_socket(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _ = await _tutor_and_students(api, server_url, participants)
    other_admin = await api.add_user(room.admin, "admin", "Second admin")
    watcher = Participant(server_url, "/tutor")
    participants.append(watcher)
    await watcher.connect(other_admin["token"], room.lesson_id)
    await watcher.wait_for("roster")

    await api.call("PATCH", f"/api/users/{other_admin['id']}", room.admin, {"role": "student"})

    await watcher.wait_for("disconnect", within=5)
    assert not watcher.client.connected


async def test_a_socket_is_closed_when_its_token_expires(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    student_id = uuid.UUID(room.students[0]["id"])
    # A token with three seconds left, signed as the server signs them.
    codec = TokenCodec(Settings().secret_key, 60)
    short = codec.issue(student_id, "student", now=datetime.now(UTC) - timedelta(seconds=57))
    sock = Participant(server_url, "/student")
    participants.append(sock)
    await sock.connect(short, room.lesson_id)
    assert sock.client.connected

    # Closed within the expiry sweep's period (10 s) after the token's end.
    await sock.wait_for("disconnect", within=16)
    await asyncio.sleep(timeout(0.2))
    assert not sock.client.connected
