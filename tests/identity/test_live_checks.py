"""Identity in a live lesson, through real sockets: the enrolled student's face is matched, a
stand-in is a different person, a student without a template is checked on presence only, and
the tutor and the report say so."""

from __future__ import annotations

from typing import Any

from testkit.api import Api, Classroom, make_classroom
from testkit.lessons import class_lesson, prompted, state_of
from testkit.participants import Participant
from tests.identity import frames

EVERY = {"identity": "every", "challenge_probability": 0.0, "max_frames": 3}


async def _enrol(api: Api, room: Classroom, student: dict[str, Any], image: bytes) -> None:
    r = await api.http.put(
        f"/api/users/{student['id']}/face",
        content=image,
        headers={"authorization": f"Bearer {room.admin}", "content-type": "image/jpeg"},
    )
    assert r.status_code == 200, r.text


async def test_the_enrolled_face_is_matched_and_a_stand_in_is_a_different_person(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 1, policy=EVERY)
    me = room.students[0]
    await _enrol(api, room, me, frames.astronaut())

    prompt = await prompted(tutor, student, me["id"])
    ack = await student.call(
        "capture", {"prompt_id": prompt["prompt_id"], "image": frames.astronaut()}
    )
    assert ack["outcome"] == "present", ack
    assert ack["status"] == "passed"
    state = await tutor.wait_for("attendance", lambda d: d.get("identity") == "matched")
    assert state["state"] == "verified"

    # Someone else sits in front of the camera: a failed frame, with the reason in words.
    prompt = await prompted(tutor, student, me["id"])
    ack = await student.call(
        "capture", {"prompt_id": prompt["prompt_id"], "image": frames.hopper()}
    )
    assert ack["outcome"] == "different_person", ack
    assert ack["final"] is False and "does not match" in (ack["hint"] or "")
    await tutor.wait_for("attendance", lambda d: d.get("identity") == "mismatch")

    report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
    (line,) = report["students"]
    assert line["identity"]["checked"] >= 1 and line["identity"]["matched"] == 1
    checks = await api.call("GET", f"/api/lessons/{room.lesson_id}/checks", room.admin)
    compared = [c for c in checks["items"] if c.get("outcome") == "different_person"]
    assert compared, checks
    # The stand-in's verdict is stored with the distance and the model, never the face.
    prompts = await api.call("GET", f"/api/lessons/{room.lesson_id}/prompts", room.admin)
    frames_seen = [f for p in prompts["items"] for f in p["frames"]]
    mismatch = [f for f in frames_seen if f["outcome"] == "different_person"]
    assert mismatch and mismatch[0]["identity"] == "mismatch"
    assert mismatch[0]["identity_distance"] > 0.6 and mismatch[0]["identity_model"]


async def test_a_student_without_a_template_is_checked_on_presence_only(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 1, policy=EVERY)
    me = room.students[0]
    prompt = await prompted(tutor, student, me["id"])

    ack = await student.call(
        "capture", {"prompt_id": prompt["prompt_id"], "image": frames.hopper()}
    )

    assert ack["outcome"] == "present" and ack["status"] == "passed"
    state = await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    assert state["identity"] == "not_enrolled"


async def test_identity_off_never_compares(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1, policy={"identity": "off"})
    me = room.students[0]
    await _enrol(api, room, me, frames.astronaut())
    tutor = Participant(server_url, "/tutor")
    student = Participant(server_url, "/student")
    participants += [tutor, student]
    await tutor.connect(room.tutor["token"], room.lesson_id)
    await student.connect(me["token"], room.lesson_id)
    prompt = await prompted(tutor, student, me["id"])

    ack = await student.call(
        "capture", {"prompt_id": prompt["prompt_id"], "image": frames.hopper()}
    )

    assert ack["outcome"] == "present"  # a stand-in passes when the course compares nothing
