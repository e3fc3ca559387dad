"""The steps of a live lesson through a real server: connect, prompt, wait for a state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from testkit.api import Api, Classroom, User, make_classroom
from testkit.frames import face_jpeg
from testkit.participants import Participant
from testkit.timing import timeout


async def join(
    participants: list[Participant], url: str, namespace: str, token: str, lesson_id: str
) -> Participant:
    """A connection to ``namespace`` of the lesson, kept in ``participants`` to be closed."""
    p = Participant(url, namespace)
    participants.append(p)
    await p.connect(token, lesson_id)
    return p


async def class_lesson(
    api: Api,
    url: str,
    participants: list[Participant],
    n_students: int,
    connected: int | None = None,
    policy: dict[str, Any] | None = None,
    *,
    students_at: str | None = None,
) -> tuple[Classroom, Participant, list[Participant]]:
    """A live lesson with its tutor connected and the first ``connected`` students (all), to
    the server at ``url`` (the students to ``students_at``, if given: another process)."""
    room = await make_classroom(api, n_students=n_students, policy=policy)
    tutor = await join(participants, url, "/tutor", room.tutor["token"], room.lesson_id)
    students = [
        await join(participants, students_at or url, "/student", s["token"], room.lesson_id)
        for s in room.students[:connected]
    ]
    return room, tutor, students


async def one_student_lesson(
    api: Api, url: str, participants: list[Participant], policy: dict[str, Any] | None = None
) -> tuple[Classroom, User, Participant, Participant]:
    """A live lesson with one student: the room, the student, and both connections."""
    room, tutor, (student,) = await class_lesson(api, url, participants, 1, policy=policy)
    return room, room.students[0], tutor, student


def state_of(student_id: str, state: str | None = None) -> Callable[[Any], bool]:
    """Matches the student's attendance rows (in ``state``, if given)."""
    return lambda data: bool(
        data["student_id"] == student_id and (state is None or data["state"] == state)
    )


async def prompted(tutor: Participant, student: Participant, student_id: str) -> dict[str, Any]:
    """The tutor asks for a check of the student; the new prompt the student gets."""
    seen = {p["prompt_id"] for p in student.received("prompt")}
    ack = await tutor.call("check_now", {"student_id": student_id})
    assert ack == {"issued": 1}
    return dict(await student.wait_for("prompt", lambda p: p["prompt_id"] not in seen))


async def still_verified(tutor: Participant, sock: Participant, student: User) -> None:
    """The student on ``sock`` is prompted, answers with a face and is verified on the tutor's
    dashboard: the server kept serving the class."""
    prompt = await prompted(tutor, sock, student["id"])
    ack = await sock.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert (ack["outcome"], ack["final"]) == ("present", True), ack
    await tutor.wait_for("attendance", state_of(student["id"], "verified"))


async def roster_row(
    participants: list[Participant], url: str, room: Classroom, student_id: str
) -> dict[str, Any]:
    """The student's row as a tutor who connects now sees it."""
    late = await join(participants, url, "/tutor", room.tutor["token"], room.lesson_id)
    roster = await late.wait_for("roster")
    await late.close()
    return dict(next(s for s in roster["students"] if s["student_id"] == student_id))


async def offline_soon(
    participants: list[Participant], url: str, room: Classroom, student_id: str
) -> dict[str, Any]:
    """The student's roster row once it shows them offline, or the last one seen in 2 s."""
    row: dict[str, Any] = {}
    for _ in range(10):
        row = await roster_row(participants, url, room, student_id)
        if not row["connected"]:
            break
        await asyncio.sleep(timeout(0.2))
    return row


async def answer(
    tutor: Participant, student: Participant, student_id: str, image: bytes
) -> dict[str, Any]:
    prompt = await prompted(tutor, student, student_id)
    return dict(await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": image}))
