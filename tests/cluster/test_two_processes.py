"""Two server processes, one PostgreSQL, one Redis: a lesson spread over both."""

from __future__ import annotations

from typing import Any

from testkit.api import Api, make_classroom
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import join, state_of
from testkit.participants import Participant
from testkit.processes import ServerProcess


async def answer(student: Participant, image: bytes, since: int = 0) -> dict[str, Any]:
    prompt = await student.wait_for("prompt", since=since)
    return dict(await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": image}))


async def test_a_lesson_spread_over_two_processes_behaves_as_one(
    two_servers: tuple[ServerProcess, ServerProcess], participants: list[Participant]
) -> None:
    a, b = two_servers
    api_a, api_b = Api(a.url), Api(b.url)
    try:
        room = await make_classroom(api_a, n_students=3)
        s1, s2, s3 = room.students
        on_b1 = await join(participants, b.url, "/student", s1["token"], room.lesson_id)
        on_b2 = await join(participants, b.url, "/student", s2["token"], room.lesson_id)
        on_a3 = await join(participants, a.url, "/student", s3["token"], room.lesson_id)
        tutor = await join(participants, a.url, "/tutor", room.tutor["token"], room.lesson_id)

        # The roster on A knows the students connected to B.
        roster = await tutor.wait_for("roster")
        assert {s["student_id"]: s["connected"] for s in roster["students"]} == {
            s1["id"]: True,
            s2["id"]: True,
            s3["id"]: True,
        }

        # check_now from A reaches a student on B, whose verdict reaches the tutor on A.
        assert await tutor.call("check_now", {"student_id": s1["id"]}) == {"issued": 1}
        ack = await answer(on_b1, face_jpeg())
        assert ack["outcome"] == "present" and ack["final"]
        verified = await tutor.wait_for("attendance", state_of(s1["id"], "verified"))
        assert verified["checks"] == {"issued": 1, "passed": 1, "failed": 0, "missed": 0}

        # check_now for everyone: each process prompts the students it holds, once each.
        assert await tutor.call("check_now", {}) == {"issued": 3}
        since1 = len(on_b1.events)
        assert (await answer(on_b1, face_jpeg(), since=since1 - 1))["outcome"] == "present"
        assert (await answer(on_b2, blank_jpeg()))["final"] is False  # attempts left
        assert (await answer(on_a3, face_jpeg()))["outcome"] == "present"
        await tutor.wait_for("attendance", state_of(s3["id"], "verified"))
        await tutor.wait_for(
            "attendance", lambda d: d["student_id"] == s1["id"] and d["checks"]["passed"] == 2
        )

        # A student moving from B to A keeps their counts, and is not prompted twice.
        await on_b1.close()
        await tutor.wait_for("attendance", state_of(s1["id"], "offline"))
        seen = len(tutor.events)
        moved = await join(participants, a.url, "/student", s1["token"], room.lesson_id)
        back = await tutor.wait_for("attendance", state_of(s1["id"], "verified"), since=seen)
        assert back["checks"]["passed"] == 2
        assert await tutor.call("check_now", {"student_id": s1["id"]}) == {"issued": 1}
        assert await tutor.call("check_now", {"student_id": s1["id"]}) == {"issued": 0}
        assert (await answer(moved, face_jpeg()))["outcome"] == "present"

        # Ending from A ends the lesson for the students on B too.
        assert await tutor.call("end_lesson", {}) == {"ok": True}
        assert await on_b2.wait_for("lesson_ended") == {"lesson_id": room.lesson_id}
        await on_b2.wait_for("disconnect")
        await on_a3.wait_for("lesson_ended")

        report = await api_b.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
        lines = {line["student_id"]: line for line in report["students"]}
        assert lines[s1["id"]]["checks"] == {"issued": 3, "passed": 3, "failed": 0, "missed": 0}
        # Ben's open prompt (one failed frame, attempts left) was cancelled by the end.
        assert lines[s2["id"]]["checks"] == {"issued": 0, "passed": 0, "failed": 0, "missed": 0}
        assert lines[s3["id"]]["checks"] == {"issued": 1, "passed": 1, "failed": 0, "missed": 0}
        checks = await api_b.call("GET", f"/api/lessons/{room.lesson_id}/checks", room.admin)
        assert len(checks["items"]) == 5
    finally:
        await api_a.close()
        await api_b.close()
