"""The statuses a student, a prompt and a lesson's verdict can have."""

from __future__ import annotations

import enum


class StudentState(enum.StrEnum):
    OFFLINE = "offline"
    WAITING = "waiting"
    CHECKING = "checking"
    VERIFIED = "verified"
    FLAGGED = "flagged"


class PromptStatus(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    MISSED = "missed"
    # Still open when the lesson ended: counts neither for nor against the student.
    CANCELLED = "cancelled"


class Attendance(enum.StrEnum):
    PRESENT = "present"
    PARTIAL = "partial"
    ABSENT = "absent"
