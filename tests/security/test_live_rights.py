"""Open sockets follow rights as they change over HTTP, on a real server with real Socket.IO
clients: the security review found a former tutor still watching, a removed student still
prompted, a demoted admin still on /tutor, and sockets opened with ended tokens.

Call-time re-checks inside the hub and closing a socket when its token expires are specified
by the tests at the end.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt
import pytest
from sqlalchemy import update

from storage.models import Course, Enrolment
from testkit.api import PASSWORD, Api, Classroom, make_classroom
from testkit.frames import face_jpeg
from testkit.participants import Participant
from tests.security.serving import KEY, Running


async def joined(
    running: Running, participants: list[Participant], namespace: str, token: str, lesson: str
) -> Participant:
    p = Participant(running.url, namespace)
    participants.append(p)
    await p.connect(token, lesson)
    if namespace == "/tutor":
        await p.wait_for("roster", within=5)
    return p


async def refused(
    running: Running, participants: list[Participant], namespace: str, token: str, lesson: str
) -> str:
    p = Participant(running.url, namespace)
    participants.append(p)
    with pytest.raises(Exception):  # noqa: B017 - the client raises its ConnectionError
        await p.connect(token, lesson)
    assert p.refusal is not None, "the connection was not refused"
    return str(p.refusal["data"]["code"])


async def test_a_tutor_whose_course_moves_is_disconnected_and_cannot_rejoin(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    tutor = await joined(running, participants, "/tutor", room.tutor["token"], room.lesson_id)
    student = await joined(
        running, participants, "/student", room.students[0]["token"], room.lesson_id
    )
    successor = await api.add_user(room.admin, "tutor", "Next Tutor")

    await api.call(
        "PATCH", f"/api/courses/{room.course_id}", room.admin, {"tutor_id": successor["id"]}
    )

    await tutor.wait_for("disconnect", within=5)
    seen = len(tutor.events)
    assert await refused(running, participants, "/tutor", room.tutor["token"], room.lesson_id) == (
        "forbidden"
    )
    # The class goes on without them: the new tutor watches it, the old one hears nothing more.
    watching = await joined(running, participants, "/tutor", successor["token"], room.lesson_id)
    assert await watching.call("check_now", {}) == {"issued": 1}
    await student.wait_for("prompt", within=10)
    await asyncio.sleep(0.3)
    assert tutor.events[seen:] == []
    lesson = await api.call("GET", f"/api/lessons/{room.lesson_id}", room.admin)
    assert lesson["status"] == "live"


async def test_an_unenrolled_student_is_disconnected_and_gets_no_more_prompts(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=2)
    gone, stays = room.students
    tutor = await joined(running, participants, "/tutor", room.tutor["token"], room.lesson_id)
    removed = await joined(running, participants, "/student", gone["token"], room.lesson_id)
    kept = await joined(running, participants, "/student", stays["token"], room.lesson_id)

    await api.call(
        "DELETE", f"/api/courses/{room.course_id}/enrollments/{gone['id']}", room.admin, expect=204
    )

    await removed.wait_for("disconnect", within=5)
    assert await refused(running, participants, "/student", gone["token"], room.lesson_id) == (
        "not_enrolled"
    )
    assert await tutor.call("check_now", {}) == {"issued": 1}
    await kept.wait_for("prompt", within=10)
    assert removed.received("prompt") == []


async def test_an_admin_demoted_to_student_loses_the_dashboard_at_once(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    second = await api.add_user(room.admin, "admin", "Second Admin")
    watching = await joined(running, participants, "/tutor", second["token"], room.lesson_id)

    await api.call("PATCH", f"/api/users/{second['id']}", room.admin, {"role": "student"})

    await watching.wait_for("disconnect", within=5)
    demoted = await api.login(second["email"], PASSWORD)
    assert await refused(running, participants, "/tutor", demoted, room.lesson_id) == "forbidden"
    assert await refused(running, participants, "/tutor", second["token"], room.lesson_id) == (
        "unauthorized"
    )


async def test_a_new_password_closes_the_sockets_and_the_old_token_cannot_rejoin(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    me = room.students[0]
    student = await joined(running, participants, "/student", me["token"], room.lesson_id)

    await api.call("PATCH", f"/api/users/{me['id']}", room.admin, {"password": "new-password-1"})

    await student.wait_for("disconnect", within=5)
    assert await refused(running, participants, "/student", me["token"], room.lesson_id) == (
        "unauthorized"
    )
    again = await api.login(me["email"], "new-password-1")
    await joined(running, participants, "/student", again, room.lesson_id)


async def test_signing_out_closes_the_sockets_of_that_token_for_good(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    tutor = await joined(running, participants, "/tutor", room.tutor["token"], room.lesson_id)
    other_tab = await api.login(room.tutor["email"], PASSWORD)

    r = await api.http.post(
        "/api/auth/logout", headers={"authorization": f"Bearer {room.tutor['token']}"}
    )
    assert r.status_code == 204

    await tutor.wait_for("disconnect", within=5)
    assert await refused(running, participants, "/tutor", room.tutor["token"], room.lesson_id) == (
        "unauthorized"
    )
    # The other tab's token still stands: its page reconnects and is admitted.
    await joined(running, participants, "/tutor", other_tab, room.lesson_id)


async def test_a_hand_made_long_lived_token_cannot_open_a_socket(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    claims = jwt.decode(room.tutor["token"], options={"verify_signature": False})
    now = int(time.time())
    forged = jwt.encode({**claims, "exp": now + 10 * 365 * 24 * 3600}, KEY, algorithm="HS256")
    assert await refused(running, participants, "/tutor", forged, room.lesson_id) == "unauthorized"


# -- wired after the hub split ---------------------------------------------------------------


def _short_token(token: str, seconds: int) -> str:
    """The same token re-issued to expire in ``seconds`` (signed with the server's key)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(time.time())
    return jwt.encode(
        {**claims, "jti": uuid.uuid4().hex, "iat": now, "exp": now + seconds},
        KEY,
        algorithm="HS256",
    )


async def test_a_socket_is_closed_when_its_token_expires(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    tutor = await joined(
        running, participants, "/tutor", _short_token(room.tutor["token"], 2), room.lesson_id
    )
    student = await joined(
        running,
        participants,
        "/student",
        _short_token(room.students[0]["token"], 2),
        room.lesson_id,
    )
    await tutor.wait_for("disconnect", within=6)
    await student.wait_for("disconnect", within=6)


async def _behind_the_apis_back(running: Running, change: Any) -> None:
    """Change rights in the database without the routes' disconnects (as if the change
    reached this process before its sockets were closed), then drop the hub's cached rights
    the way a change published on the bus does."""

    async def on_server() -> None:
        async with running.hub.sessions() as s, s.begin():
            await s.execute(change)
        running.hub.forget_rights(course_id=None)

    await running.run(on_server())


async def test_check_now_and_end_lesson_recheck_the_tutors_right_at_call_time(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1)
    tutor = await joined(running, participants, "/tutor", room.tutor["token"], room.lesson_id)
    student = await joined(
        running, participants, "/student", room.students[0]["token"], room.lesson_id
    )
    successor = await api.add_user(room.admin, "tutor", "Next Tutor")
    await _behind_the_apis_back(
        running,
        update(Course)
        .where(Course.id == uuid.UUID(room.course_id))
        .values(tutor_id=uuid.UUID(successor["id"])),
    )

    ack = await tutor.call("check_now", {})
    assert ack.get("issued", 0) == 0 and ack.get("error")
    assert (await tutor.call("end_lesson", {})).get("ok") is not True
    lesson = await api.call("GET", f"/api/lessons/{room.lesson_id}", room.admin)
    assert lesson["status"] == "live"
    assert student.received("prompt") == []


async def test_a_students_capture_and_camera_recheck_the_enrolment_at_call_time(
    api: Api, running: Running, participants: list[Participant]
) -> None:
    room: Classroom = await make_classroom(api, n_students=1)
    me = room.students[0]
    tutor = await joined(running, participants, "/tutor", room.tutor["token"], room.lesson_id)
    student = await joined(running, participants, "/student", me["token"], room.lesson_id)
    assert await tutor.call("check_now", {}) == {"issued": 1}
    prompt = await student.wait_for("prompt", within=10)
    await _behind_the_apis_back(
        running,
        Enrolment.__table__.delete().where(
            Enrolment.course_id == uuid.UUID(room.course_id),
            Enrolment.student_id == uuid.UUID(me["id"]),
        ),
    )
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack.get("outcome") != "present"
    assert (await student.call("camera", {"state": "ok"})).get("ok") is not True
