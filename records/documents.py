"""The signed documents of a lesson: its attendance report, and one student's attendance.

Both are Verifiable Credentials (``records.credential``) whose subject carries the seal the
report was read under: the link's header and signature, so a verifier can check the seal
itself as well as the document. Before a document is made the lesson is sealed (a new link
only when something changed), so what is signed is what is sealed; a lesson whose records no
longer match their seal gets no document (``TamperDetected``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from records import RecordsError
from records.credential import VC_CONTEXT, sign
from records.keys import SigningKey
from records.seal import seal_header, seal_lesson
from server.attendance_report import attendance_report
from storage import repositories as repo
from storage import sealing
from storage.db import Sessions
from storage.models import Seal
from storage.types import utcnow

ISSUER_NAME = "Trust Lesson Live"


class NotSealed(RecordsError):
    """The lesson has no seal to sign under (it has not started)."""


def seal_claim(seal: Seal) -> dict[str, Any]:
    """The seal as a document states it: the link's signed header, its hash and signature."""
    return {**seal_header(seal), "hash": seal.hash, "signature": seal.signature}


async def _sealed(sessions: Sessions, lesson_id: uuid.UUID, key: SigningKey) -> Seal:
    await seal_lesson(sessions, lesson_id, key, reason="document")
    async with sessions() as s:
        seal = await sealing.latest_seal(s, lesson_id=lesson_id)
    if seal is None:
        raise NotSealed("the lesson has no sealed records yet")
    return seal


def _credential(
    *, kind: str, name: str, subject: dict[str, Any], seal: Seal, issuer: str
) -> dict[str, Any]:
    return {
        "@context": [VC_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", kind],
        "name": name,
        "issuer": {"id": issuer, "name": ISSUER_NAME},
        "validFrom": seal.sealed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {**subject, "seal": seal_claim(seal)},
    }


async def lesson_document(
    sessions: Sessions, lesson_id: uuid.UUID, key: SigningKey, issuer: str
) -> dict[str, Any]:
    """The lesson's attendance report, sealed and signed."""
    seal = await _sealed(sessions, lesson_id, key)
    now = seal.sealed_at
    async with sessions() as s:
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        assert found is not None
        lesson, course = found
        report = await attendance_report(s, lesson, course, now)
    report["generated_at"] = now.isoformat()
    subject = {"id": f"urn:uuid:{lesson_id}", "type": "LessonAttendance", "report": report}
    document = _credential(
        kind="LessonAttendanceCredential",
        name=f"Attendance: {course.title}, {lesson.title}",
        subject=subject,
        seal=seal,
        issuer=issuer,
    )
    return sign(document, key, utcnow())


async def student_document(
    sessions: Sessions,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    key: SigningKey,
    issuer: str,
) -> dict[str, Any] | None:
    """One student's attendance of the lesson, sealed and signed; None when the student is
    not in the lesson's report."""
    seal = await _sealed(sessions, lesson_id, key)
    now = seal.sealed_at
    async with sessions() as s:
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        assert found is not None
        lesson, course = found
        report = await attendance_report(s, lesson, course, now, only=student_id)
        checks = await sealing.student_checks(s, lesson_id=lesson_id, student_id=student_id)
    if not report["students"]:
        return None
    line = report["students"][0]
    subject = {
        "id": f"urn:uuid:{student_id}",
        "type": "StudentAttendance",
        "name": line["name"],
        "email": line["email"],
        "course": {"id": f"urn:uuid:{course.id}", "title": course.title},
        "lesson": report["lesson"],
        "liveSeconds": report["live_seconds"],
        "attendance": {k: v for k, v in line.items() if k not in ("name", "email", "student_id")},
        "checks": [_check_claim(row) for row in checks],
        # Identity matching and reviews are stated here once they are recorded.
        "identity": {"checked": False},
        "reviews": [],
    }
    document = _credential(
        kind="AttendanceCertificateCredential",
        name=f"Attendance certificate: {course.title}, {lesson.title}",
        subject=subject,
        seal=seal,
        issuer=issuer,
    )
    return sign(document, key, utcnow())


def _check_claim(row: tuple[datetime, str, str]) -> dict[str, str]:
    received_at, outcome, frame_sha256 = row
    return {
        "receivedAt": received_at.isoformat(),
        "outcome": outcome,
        "frameSha256": frame_sha256,
    }
