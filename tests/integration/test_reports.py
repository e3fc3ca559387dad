"""Attendance reports after a scripted lesson, the verdict log, and evidence thumbnails."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import func, select, update

from server.attendance_report import CSV_COLUMNS
from storage.db import make_engine, make_sessions
from storage.models import Check
from testkit.api import Api, make_classroom, walk
from testkit.frames import blank_jpeg, face_jpeg
from testkit.lessons import answer, join, prompted, state_of
from testkit.participants import Participant
from testkit.server import database_url_for

POLICY = {"max_frames": 1, "deadline_s": 1}
EVIL_NAME = '=HYPERLINK("http://x.example","click")'


def by_hand(line: dict[str, Any], live_s: float) -> str:
    """The course policy (defaults) applied with plain arithmetic."""
    c = line["checks"]
    resolved = c["passed"] + c["failed"] + c["missed"]
    if resolved == 0 or c["passed"] == 0:
        return "absent"
    ratio = c["passed"] / resolved
    if ratio >= 0.8 and line["connected_seconds"] / live_s >= 0.85:
        return "present"
    return "partial" if ratio >= 0.5 else "absent"


async def test_the_report_after_a_scripted_lesson_follows_the_policy(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=5, policy=POLICY)
    ada, ben, cleo, dan, eve = room.students
    await api.call("PATCH", f"/api/users/{dan['id']}", room.admin, {"name": EVIL_NAME})
    tutor = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    a = await join(participants, server_url, "/student", ada["token"], room.lesson_id)
    a_joined = time.monotonic()
    b = await join(participants, server_url, "/student", ben["token"], room.lesson_id)
    c = await join(participants, server_url, "/student", cleo["token"], room.lesson_id)

    assert (await answer(tutor, a, ada["id"], face_jpeg()))["outcome"] == "present"
    assert (await answer(tutor, b, ben["id"], blank_jpeg()))["outcome"] == "no_face"
    await prompted(tutor, c, cleo["id"])  # and never answered
    assert (await c.wait_for("verdict", within=15))["outcome"] == "missed"
    assert (await answer(tutor, a, ada["id"], face_jpeg()))["outcome"] == "present"
    assert (await answer(tutor, b, ben["id"], face_jpeg()))["outcome"] == "present"

    # Ada drops out for a moment: her connected time has a gap.
    await a.close()
    await tutor.wait_for("attendance", state_of(ada["id"], "offline"))
    gap_started = time.monotonic()
    await asyncio.sleep(0.5)
    a = await join(participants, server_url, "/student", ada["token"], room.lesson_id)
    gap = time.monotonic() - gap_started

    # Eve comes late and passes her only prompt.
    e = await join(participants, server_url, "/student", eve["token"], room.lesson_id)
    assert (await answer(tutor, e, eve["id"], face_jpeg()))["outcome"] == "present"
    await asyncio.sleep(2)

    # While live, the report and the dashboard count the same (one set of rules).
    live_report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
    for line in live_report["students"]:
        states = (await tutor.wait_for("roster"))["students"] + tutor.received("attendance")
        latest = [s for s in states if s["student_id"] == line["student_id"]][-1]
        assert latest["checks"] == line["checks"], line["name"]

    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    a_left = time.monotonic()
    report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.tutor["token"])

    lines = {line["student_id"]: line for line in report["students"]}
    assert set(lines) == {s["id"] for s in room.students}
    names = [line["name"] for line in report["students"]]
    assert names == sorted(names)
    expected_counts = {
        ada["id"]: {"issued": 2, "passed": 2, "failed": 0, "missed": 0},
        ben["id"]: {"issued": 2, "passed": 1, "failed": 1, "missed": 0},
        cleo["id"]: {"issued": 1, "passed": 0, "failed": 0, "missed": 1},
        dan["id"]: {"issued": 0, "passed": 0, "failed": 0, "missed": 0},
        eve["id"]: {"issued": 1, "passed": 1, "failed": 0, "missed": 0},
    }
    for student_id, counts in expected_counts.items():
        assert lines[student_id]["checks"] == counts, lines[student_id]["name"]

    live_s = report["live_seconds"]
    for line in lines.values():
        assert line["status"] == by_hand(line, live_s), line
    # Fixed by the policy whatever the timing: a missed-only and a never-connected student are
    # absent, a 1-in-2 student is partial, a late joiner passing 1 of 1 is partial.
    assert lines[cleo["id"]]["status"] == "absent"
    assert lines[dan["id"]]["status"] == "absent"
    assert lines[dan["id"]]["connected_seconds"] == 0
    assert lines[ben["id"]]["status"] == "partial"
    assert lines[eve["id"]]["status"] == "partial"
    assert lines[eve["id"]]["connected_ratio"] < 0.85
    # Ada's connected time is what her client saw: joined to end, minus the gap.
    client_seen = (a_left - a_joined) - gap
    assert abs(lines[ada["id"]]["connected_seconds"] - client_seen) < 1.0, (lines, client_seen)
    assert lines[ada["id"]]["ratio"] == 1.0

    totals = report["totals"]
    assert totals["checks"] == {"issued": 6, "passed": 4, "failed": 1, "missed": 1}
    assert (totals["students"], totals["present"] + totals["partial"] + totals["absent"]) == (5, 5)
    assert totals["partial"] >= 2 and totals["absent"] == 2

    # The CSV is the same report, and opens cleanly in a spreadsheet.
    r = await api.http.get(
        f"/api/lessons/{room.lesson_id}/attendance.csv",
        headers={"authorization": f"Bearer {room.admin}"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 5
    for row in rows:
        line = lines[row["student_id"]]
        assert row["status"] == line["status"]
        assert int(row["passed"]) == line["checks"]["passed"]
        assert int(row["missed"]) == line["checks"]["missed"]
        assert float(row["connected_seconds"]) == line["connected_seconds"]
    dan_row = next(row for row in rows if row["student_id"] == dan["id"])
    assert dan_row["name"] == "'" + EVIL_NAME  # never run as a formula
    assert lines[dan["id"]]["name"] == EVIL_NAME  # the JSON keeps it literally

    # A student reads only their own line.
    mine = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance/me", ben["token"])
    assert [line["student_id"] for line in mine["students"]] == [ben["id"]]
    assert mine["students"][0] == lines[ben["id"]]

    # The verdict log: every judged frame once, oldest first, across pages.
    log = await walk(api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=2)
    assert len(log) == 5 and len({c["id"] for c in log}) == 5
    assert [c["received_at"] for c in log] == sorted(c["received_at"] for c in log)
    assert sorted(c["outcome"] for c in log) == ["no_face"] + ["present"] * 4
    assert not any(c["has_thumbnail"] for c in log)  # evidence "none" by default
    bens = await walk(
        api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=50, student_id=ben["id"]
    )
    assert [c["outcome"] for c in bens] == ["no_face", "present"]


async def _stored_thumbnails(url: str, lesson_id: str) -> int:
    import uuid

    engine = make_engine(database_url_for(url))
    try:
        async with make_sessions(engine)() as s:
            stmt = select(func.count()).where(
                Check.lesson_id == uuid.UUID(lesson_id), Check.thumbnail.is_not(None)
            )
            return int(await s.scalar(stmt) or 0)
    finally:
        await engine.dispose()


async def test_evidence_failures_keeps_small_thumbnails_of_failed_frames_only(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1, policy={**POLICY, "evidence": "failures"})
    me = room.students[0]
    tutor = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    student = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    await answer(tutor, student, me["id"], face_jpeg())
    await answer(tutor, student, me["id"], blank_jpeg())
    log = await walk(api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=50)
    kept = {c["outcome"]: c["has_thumbnail"] for c in log}
    assert kept == {"present": False, "no_face": True}

    failed = next(c for c in log if c["outcome"] == "no_face")
    r = await api.http.get(
        f"/api/checks/{failed['id']}/thumbnail",
        headers={"authorization": f"Bearer {room.tutor['token']}"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "JPEG" and max(image.size) <= 160
    passed = next(c for c in log if c["outcome"] == "present")
    problem = await api.call("GET", f"/api/checks/{passed['id']}/thumbnail", room.admin, expect=404)
    assert "no thumbnail" in problem["detail"]


async def test_evidence_none_stores_no_image_bytes(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room = await make_classroom(api, n_students=1, policy=POLICY)
    me = room.students[0]
    tutor = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    student = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    await answer(tutor, student, me["id"], face_jpeg())
    await answer(tutor, student, me["id"], blank_jpeg())
    log = await walk(api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=50)
    assert len(log) == 2
    assert await _stored_thumbnails(server_url, room.lesson_id) == 0


async def test_purge_drops_thumbnails_past_retention_and_keeps_recent_ones(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    import uuid

    room = await make_classroom(
        api, n_students=1, policy={**POLICY, "evidence": "all", "retention_days": 7}
    )
    me = room.students[0]
    tutor = await join(participants, server_url, "/tutor", room.tutor["token"], room.lesson_id)
    student = await join(participants, server_url, "/student", me["token"], room.lesson_id)
    await answer(tutor, student, me["id"], face_jpeg())
    await answer(tutor, student, me["id"], face_jpeg())
    log = await walk(api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=50)
    old, recent = log[0]["id"], log[1]["id"]
    assert await _stored_thumbnails(server_url, room.lesson_id) == 2

    # Age one check past the course's 7 days.
    engine = make_engine(database_url_for(server_url))
    try:
        async with make_sessions(engine)() as s, s.begin():
            check = await s.get(Check, uuid.UUID(old))
            assert check is not None
            await s.execute(
                update(Check)
                .where(Check.id == check.id)
                .values(received_at=check.received_at - timedelta(days=8))
            )
    finally:
        await engine.dispose()

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "purge"],
        env={**os.environ, "TL_DATABASE_URL": database_url_for(server_url)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "purged" in done.stdout
    await api.call("GET", f"/api/checks/{old}/thumbnail", room.admin, expect=404)
    r = await api.http.get(
        f"/api/checks/{recent}/thumbnail", headers={"authorization": f"Bearer {room.admin}"}
    )
    assert r.status_code == 200
    # The verdict itself stays: only the image goes.
    log = await walk(api, f"/api/lessons/{room.lesson_id}/checks", room.admin, limit=50)
    assert [c["has_thumbnail"] for c in log] == [False, True]
    assert log[0]["frame_sha256"] and log[0]["outcome"] == "present"
