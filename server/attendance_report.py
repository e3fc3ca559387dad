"""A lesson's attendance report, decided by the same rules as the live dashboard."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.attendance import Counts, connected_seconds, decide_attendance
from domain.policy import Policy
from domain.review import ReviewCounts, ReviewedPrompt
from domain.statuses import Attendance
from identity.flow import IdentityTally
from server.schemas import lesson_out
from storage import repositories as repo
from storage.models import Course, Lesson

CSV_COLUMNS = [
    "student_id",
    "name",
    "email",
    "status",
    "ratio",
    "connected_seconds",
    "connected_ratio",
    "issued",
    "passed",
    "failed",
    "missed",
    "accepted",
    "upheld",
    "pending_review",
]


def live_window(lesson: Lesson, now: datetime) -> tuple[datetime, datetime] | None:
    """From the actual start to the actual end (or now, while live); None before it starts."""
    if lesson.started_at is None:
        return None
    return lesson.started_at, lesson.ended_at or now


async def attendance_report(
    s: AsyncSession,
    lesson: Lesson,
    course: Course,
    now: datetime,
    only: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The report as docs/api.md describes it: one line per student, and totals. ``only``
    keeps one line."""
    policy = Policy.from_stored(course.policy)
    window = live_window(lesson, now)
    live_s = (window[1] - window[0]).total_seconds() if window else 0.0
    students = await repo.report_students(s, course_id=course.id, lesson_id=lesson.id)
    if only is not None:
        students = [u for u in students if u.id == only]
    prompts = await repo.reviewed_prompts(s, lesson_id=lesson.id, student_id=only)
    intervals = await repo.presence(s, lesson_id=lesson.id, student_id=only)

    lines = []
    totals = Counts()
    reviewed_totals = ReviewCounts()
    tally = dict.fromkeys(Attendance, 0)
    for student in students:
        mine = prompts.get(student.id, [])
        # As judged (the checks' verdicts) for the record; as reviewed for the decision.
        judged = Counts.from_statuses(p.status for p in mine)
        counts = Counts.from_statuses(p.counted for p in mine)
        reviewed = _reviewed(mine)
        reviewed_totals.merge(reviewed)
        connected = (
            connected_seconds(intervals.get(student.id, []), window[0], window[1])
            if window
            else 0.0
        )
        status = decide_attendance(
            counts,
            connected,
            live_s,
            policy,
            identity_unreviewed=any(p.identity_unreviewed for p in mine),
        )
        tally[status] += 1
        for name in ("issued", "passed", "failed", "missed"):
            setattr(totals, name, getattr(totals, name) + getattr(judged, name))
        lines.append(
            {
                "student_id": str(student.id),
                "name": student.name,
                "email": student.email,
                "status": status.value,
                "ratio": _round(counts.ratio),
                "connected_seconds": round(connected, 1),
                "connected_ratio": _round(connected / live_s) if live_s > 0 else None,
                "checks": _counts(judged),
                "reviewed": _review_counts(reviewed),
                "identity": _identity(mine),
            }
        )
    return {
        "lesson": lesson_out(lesson, course.title),
        "live_seconds": round(live_s, 1),
        "policy": course.policy,
        "generated_at": now.isoformat(),
        "totals": {
            "students": len(lines),
            **{a.value: n for a, n in tally.items()},
            "checks": _counts(totals),
            "reviewed": _review_counts(reviewed_totals),
        },
        "students": lines,
    }


def _identity(prompts: list[ReviewedPrompt]) -> dict[str, int]:
    """How many of the student's prompts compared their face, by the last comparison's result."""
    tally = IdentityTally()
    for prompt in prompts:
        tally.add(prompt.identity)
    return tally.as_dict()


def report_csv(report: dict[str, Any]) -> str:
    """One header row and one row per student. Text cells that a spreadsheet would run as a
    formula are prefixed with an apostrophe (names are user input)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in report["students"]:
        flat = {
            **line,
            **line["checks"],
            "accepted": line["reviewed"]["accepted"],
            "upheld": line["reviewed"]["upheld"],
            "pending_review": line["reviewed"]["pending"],
        }
        writer.writerow(
            [_cell(flat[c]) if c in ("name", "email") else _plain(flat[c]) for c in CSV_COLUMNS]
        )
    return out.getvalue()


def _counts(counts: Counts) -> dict[str, int]:
    return {
        "issued": counts.issued,
        "passed": counts.passed,
        "failed": counts.failed,
        "missed": counts.missed,
    }


def _reviewed(prompts: list[ReviewedPrompt]) -> ReviewCounts:
    counts = ReviewCounts()
    for prompt in prompts:
        if prompt.reviewable:
            counts.add(prompt.decision)
    return counts


def _review_counts(counts: ReviewCounts) -> dict[str, int]:
    return {"accepted": counts.accepted, "upheld": counts.upheld, "pending": counts.pending}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
