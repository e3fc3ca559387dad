"""Every check of a lesson, a person's review of the flagged ones, and students' contests:
who may do what, the contest deadline, and the report before and after a decision."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from domain.review import DIFFERENT_PERSON
from storage.db import make_engine, make_sessions
from storage.models import Check, Lesson
from storage.types import utcnow
from testkit.api import Api, Classroom, make_classroom
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import answer, join
from testkit.participants import Participant
from testkit.server import database_url_for
from tests.integration.test_admin_api import walk

# One frame per prompt; everyone connected for the whole lesson counts (the lessons here last
# seconds, so joining takes a noticeable share of them).
POLICY = {"max_frames": 1, "deadline_s": 2, "present_connected_ratio": 0}


async def flagged_lesson(
    api: Api, url: str, participants: list[Participant]
) -> tuple[Classroom, Participant, Participant, Participant]:
    """Student 0 sends an empty frame (failed: no_face), student 1 a face (passed)."""
    room = await make_classroom(api, n_students=2, policy=POLICY)
    ada, ben = room.students
    tutor = await join(participants, url, "/tutor", room.tutor["token"], room.lesson_id)
    a = await join(participants, url, "/student", ada["token"], room.lesson_id)
    b = await join(participants, url, "/student", ben["token"], room.lesson_id)
    assert (await answer(tutor, a, ada["id"], blank_jpeg()))["outcome"] == "no_face"
    await a.wait_for("verdict")
    assert (await answer(tutor, b, ben["id"], face_jpeg()))["outcome"] == "present"
    await b.wait_for("verdict")
    return room, tutor, a, b


async def in_database(url: str, change: Callable[[Any], Awaitable[None]]) -> None:
    engine = make_engine(database_url_for(url))
    try:
        async with make_sessions(engine)() as s, s.begin():
            await change(s)
    finally:
        await engine.dispose()


def prompts_path(room: Classroom, me: bool = False) -> str:
    return f"/api/lessons/{room.lesson_id}/prompts" + ("/me" if me else "")


async def test_every_prompt_is_listed_with_its_frames_and_a_student_sees_only_theirs(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _a, _b = await flagged_lesson(api, server_url, participants)
    ada, ben = room.students
    items = await walk(api, prompts_path(room), room.tutor["token"], limit=1)
    assert [(p["student_id"], p["status"]) for p in items] == [
        (ada["id"], "failed"),
        (ben["id"], "passed"),
    ]
    failed, passed = items
    assert failed["frames"][0]["outcome"] == "no_face"
    assert failed["frames"][0]["hint"]  # the sentence the student was shown
    assert failed["challenge"] == "none" and failed["deadline"] > failed["issued_at"]
    assert (failed["needs_review"], failed["review"]["state"]) == (True, "pending")
    assert (passed["needs_review"], passed["review"]["state"]) == (False, "not_needed")
    assert failed["identity"] is None and failed["different_person"] is False

    # Filters: the queue, one student, a status.
    queue = await api.call("GET", prompts_path(room) + "?needs_review=true", room.tutor["token"])
    assert [p["id"] for p in queue["items"]] == [failed["id"]]
    only_ben = await api.call(
        "GET", prompts_path(room) + f"?student_id={ben['id']}", room.tutor["token"]
    )
    assert [p["id"] for p in only_ben["items"]] == [passed["id"]]
    by_status = await api.call("GET", prompts_path(room) + "?status=passed", room.admin)
    assert [p["id"] for p in by_status["items"]] == [passed["id"]]
    await api.call("GET", prompts_path(room) + "?needs_review=maybe", room.admin, expect=422)

    mine = await api.call("GET", prompts_path(room, me=True), ada["token"])
    assert [p["id"] for p in mine["items"]] == [failed["id"]]
    assert mine["items"][0]["contestable"] is True


async def test_roles_on_every_route(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _a, _b = await flagged_lesson(api, server_url, participants)
    ada, ben = room.students
    other = await make_classroom(api, n_students=1, start=False)
    stranger, other_tutor = other.students[0], other.tutor
    (failed,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    review = f"/api/prompts/{failed['id']}/review"
    contest = f"/api/prompts/{failed['id']}/contest"
    decision = {"decision": "accept", "reason": "the camera froze"}

    # Another course's tutor and student know nothing of this lesson or its prompts.
    await api.call("GET", prompts_path(room), other_tutor["token"], expect=404)
    await api.call("GET", prompts_path(room, me=True), stranger["token"], expect=404)
    await api.call("POST", review, other_tutor["token"], decision, expect=404)
    await api.call("POST", contest, stranger["token"], {"message": "mine?"}, expect=404)
    # A student of the course: not the whole list, not another student's prompt, no review.
    await api.call("GET", prompts_path(room), ben["token"], expect=403)
    await api.call("POST", contest, ben["token"], {"message": "not mine"}, expect=404)
    await api.call("POST", review, ada["token"], decision, expect=403)
    # Tutors decide; they do not contest. Unknown and malformed prompts are 404.
    await api.call("POST", contest, room.tutor["token"], {"message": "x"}, expect=403)
    await api.call("POST", "/api/prompts/no-such-prompt/review", room.admin, decision, expect=404)
    await api.call("POST", "/api/prompts/%2E%2E/review", room.admin, decision, expect=404)
    await api.call("GET", prompts_path(room), None, expect=401)
    # The reason is required, and named when missing.
    r = await api.http.post(
        review,
        json={"decision": "accept", "reason": "   "},
        headers={"authorization": f"Bearer {room.tutor['token']}"},
    )
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    # An admin may decide any course's prompt.
    await api.call("POST", review, room.admin, decision, expect=201)
    # No one reviews or contests a passed check.
    (passed,) = (await api.call("GET", prompts_path(room, me=True), ben["token"]))["items"]
    await api.call("POST", f"/api/prompts/{passed['id']}/review", room.admin, decision, expect=409)
    await api.call(
        "POST", f"/api/prompts/{passed['id']}/contest", ben["token"], {"message": "x"}, expect=409
    )


async def test_a_contest_goes_to_the_tutor_who_decides_and_the_report_follows(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _a, _b = await flagged_lesson(api, server_url, participants)
    ada = room.students[0]
    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])

    before = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.tutor["token"])
    line = next(s for s in before["students"] if s["student_id"] == ada["id"])
    assert line["status"] == "absent"
    assert line["checks"] == {"issued": 1, "passed": 0, "failed": 1, "missed": 0}
    assert line["reviewed"] == {"accepted": 0, "upheld": 0, "pending": 1}

    (failed,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    contest = f"/api/prompts/{failed['id']}/contest"
    message = "My camera froze; I was there all along."
    contested = await api.call("POST", contest, ada["token"], {"message": message}, expect=201)
    assert contested["contest"]["message"] == message and contested["contestable"] is False
    await api.call("POST", contest, ada["token"], {"message": "again"}, expect=409)
    queue = await api.call("GET", prompts_path(room) + "?needs_review=true", room.tutor["token"])
    assert [(p["id"], p["contest"]["message"]) for p in queue["items"]] == [(failed["id"], message)]

    review = f"/api/prompts/{failed['id']}/review"
    accepted = await api.call(
        "POST",
        review,
        room.tutor["token"],
        {"decision": "accept", "reason": "frozen webcam"},
        expect=201,
    )
    assert accepted["status"] == "failed"  # the check's own verdict is never changed
    assert (accepted["counts_as"], accepted["review"]["state"]) == ("passed", "accepted")
    queue = await api.call("GET", prompts_path(room) + "?needs_review=true", room.tutor["token"])
    assert queue["items"] == []

    # The student sees the decision and its reason.
    (mine,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    assert mine["review"]["decision"]["decision"] == "accept"
    assert mine["review"]["decision"]["reason"] == "frozen webcam"

    after = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.tutor["token"])
    line = next(s for s in after["students"] if s["student_id"] == ada["id"])
    assert line["status"] == "present" and line["ratio"] == 1.0
    assert line["checks"] == {"issued": 1, "passed": 0, "failed": 1, "missed": 0}  # as judged
    assert line["reviewed"] == {"accepted": 1, "upheld": 0, "pending": 0}
    assert after["totals"]["reviewed"] == {"accepted": 1, "upheld": 0, "pending": 0}
    me = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance/me", ada["token"])
    assert me["students"][0]["status"] == "present"

    r = await api.http.get(
        f"/api/lessons/{room.lesson_id}/attendance.csv",
        headers={"authorization": f"Bearer {room.tutor['token']}"},
    )
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))}
    assert (rows[ada["id"]]["failed"], rows[ada["id"]]["accepted"]) == ("1", "1")
    assert (rows[ada["id"]]["upheld"], rows[ada["id"]]["pending_review"]) == ("0", "0")
    assert rows[ada["id"]]["status"] == "present"

    # A change of mind is a new decision with its own reason; the first one is kept.
    upheld = await api.call(
        "POST",
        review,
        room.tutor["token"],
        {"decision": "uphold", "reason": "the recording shows an empty chair"},
        expect=201,
    )
    assert [d["decision"] for d in upheld["review"]["history"]] == ["accept", "uphold"]
    assert upheld["counts_as"] == "failed"
    again = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance/me", ada["token"])
    assert again["students"][0]["status"] == "absent"
    assert again["students"][0]["reviewed"] == {"accepted": 0, "upheld": 1, "pending": 0}

    trail = await api.call("GET", f"/api/audit?target_id={failed['id']}", room.admin)
    assert [e["action"] for e in trail["items"]] == [
        "prompt.review",
        "prompt.review",
        "prompt.contest",
    ]
    assert trail["items"][-1]["detail"]["message"] == message
    assert trail["items"][0]["detail"]["reason"] == "the recording shows an empty chair"


async def test_a_contest_after_contest_days_is_refused_with_the_date(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _a, _b = await flagged_lesson(api, server_url, participants)
    ada = room.students[0]
    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    (failed,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    ended = utcnow() - timedelta(days=8)

    async def long_ago(s: Any) -> None:
        await s.execute(
            update(Lesson).where(Lesson.id == uuid.UUID(room.lesson_id)).values(ended_at=ended)
        )

    await in_database(server_url, long_ago)
    r = await api.http.post(
        f"/api/prompts/{failed['id']}/contest",
        json={"message": "too late?"},
        headers={"authorization": f"Bearer {ada['token']}"},
    )
    assert r.status_code == 409, r.text
    deadline = ended + timedelta(days=7)
    assert f"{deadline:%Y-%m-%d}" in r.json()["detail"] and "7 days" in r.json()["detail"]
    assert r.json()["contest_deadline"].startswith(f"{deadline:%Y-%m-%d}")
    (mine,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    assert mine["contestable"] is False
    # The tutor may still decide it: the deadline is the student's.
    await api.call(
        "POST",
        f"/api/prompts/{failed['id']}/review",
        room.tutor["token"],
        {"decision": "uphold", "reason": "checked the log"},
        expect=201,
    )


async def test_a_frame_of_someone_else_keeps_the_student_partial_until_reviewed(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, _tutor, _a, _b = await flagged_lesson(api, server_url, participants)
    ada, ben = room.students
    (passed,) = (await api.call("GET", prompts_path(room, me=True), ben["token"]))["items"]

    async def someone_else(s: Any) -> None:
        # As the identity check records it: a failed frame beside the passing one.
        first = await s.get(Check, uuid.UUID(passed["frames"][0]["check_id"]))
        s.add(
            Check(
                prompt_id=passed["id"],
                lesson_id=first.lesson_id,
                student_id=first.student_id,
                received_at=first.received_at + timedelta(milliseconds=1),
                outcome=DIFFERENT_PERSON,
                face_count=1,
                frame_sha256="0" * 64,
                detector_version=first.detector_version,
                hint="the person in view does not match the enrolled student",
            )
        )

    await in_database(server_url, someone_else)
    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    report = f"/api/lessons/{room.lesson_id}/attendance/me"
    line = (await api.call("GET", report, ben["token"]))["students"][0]
    assert line["status"] == "partial"  # every check passed, but one frame was someone else
    assert line["reviewed"] == {"accepted": 0, "upheld": 0, "pending": 1}
    queue = await api.call("GET", prompts_path(room) + "?needs_review=true", room.tutor["token"])
    ada_failed = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"][0]
    assert {p["id"] for p in queue["items"]} == {ada_failed["id"], passed["id"]}
    flagged = next(p for p in queue["items"] if p["id"] == passed["id"])
    assert flagged["different_person"] is True
    # Only failed and missed checks may be contested: this one passed.
    await api.call(
        "POST", f"/api/prompts/{passed['id']}/contest", ben["token"], {"message": "x"}, expect=409
    )

    review = f"/api/prompts/{passed['id']}/review"
    await api.call(
        "POST",
        review,
        room.tutor["token"],
        {"decision": "accept", "reason": "his twin"},
        expect=201,
    )
    assert (await api.call("GET", report, ben["token"]))["students"][0]["status"] == "present"
    await api.call(
        "POST",
        review,
        room.tutor["token"],
        {"decision": "uphold", "reason": "not Ben"},
        expect=201,
    )
    line = (await api.call("GET", report, ben["token"]))["students"][0]
    assert line["status"] == "absent"  # upheld: the pass was not his


async def test_a_decision_reaches_open_dashboards_and_the_student_live(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, a, _b = await flagged_lesson(api, server_url, participants)
    ada = room.students[0]
    (failed,) = (await api.call("GET", prompts_path(room, me=True), ada["token"]))["items"]
    await api.call(
        "POST",
        f"/api/prompts/{failed['id']}/contest",
        ada["token"],
        {"message": "froze"},
        expect=201,
    )
    seen = await tutor.wait_for("review", lambda p: p["id"] == failed["id"])
    assert seen["contest"]["message"] == "froze"
    await api.call(
        "POST",
        f"/api/prompts/{failed['id']}/review",
        room.tutor["token"],
        {"decision": "accept", "reason": "frozen webcam"},
        expect=201,
    )
    decided = await a.wait_for("review", lambda p: p["review"]["state"] == "accepted")
    assert decided["review"]["decision"]["reason"] == "frozen webcam"
    await tutor.wait_for("review", lambda p: p["review"]["state"] == "accepted")
