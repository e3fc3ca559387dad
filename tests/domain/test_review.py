"""The review rules on their own: what may be reviewed or contested, what a decided prompt
counts as, the contest deadline, and the identity cap on the attendance decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.attendance import Counts, decide_attendance
from domain.policy import Policy
from domain.review import (
    DIFFERENT_PERSON,
    Decision,
    ReviewedPrompt,
    contest_deadline,
    contestable,
    reviewable,
)
from domain.statuses import Attendance, PromptStatus

P = PromptStatus


@pytest.mark.parametrize(
    ("status", "outcomes", "review", "contest"),
    [
        (P.FAILED, ["no_face"], True, True),
        (P.MISSED, [], True, True),
        (P.PASSED, ["no_face", "present"], False, False),
        (P.PASSED, [DIFFERENT_PERSON, "present"], True, False),
        (P.FAILED, [DIFFERENT_PERSON], True, True),
        (P.CANCELLED, [], False, False),
        (P.PENDING, ["no_face"], False, False),
        (P.PENDING, [DIFFERENT_PERSON], False, False),  # still open: nothing to decide yet
    ],
)
def test_what_may_be_reviewed_and_contested(
    status: PromptStatus, outcomes: list[str], review: bool, contest: bool
) -> None:
    assert reviewable(status, outcomes) is review
    assert contestable(status) is contest


@pytest.mark.parametrize(
    ("status", "different", "decision", "counted"),
    [
        (P.FAILED, False, None, P.FAILED),
        (P.FAILED, False, Decision.ACCEPT, P.PASSED),
        (P.MISSED, False, Decision.ACCEPT, P.PASSED),
        (P.MISSED, False, Decision.UPHOLD, P.MISSED),
        (P.PASSED, True, None, P.PASSED),
        (P.PASSED, True, Decision.ACCEPT, P.PASSED),
        # Upholding "someone else was in view" takes the pass away.
        (P.PASSED, True, Decision.UPHOLD, P.FAILED),
        (P.CANCELLED, False, Decision.ACCEPT, P.CANCELLED),
    ],
)
def test_what_a_reviewed_prompt_counts_as(
    status: PromptStatus, different: bool, decision: Decision | None, counted: PromptStatus
) -> None:
    assert ReviewedPrompt(status, different, decision).counted is counted


def test_the_contest_deadline_runs_from_the_lesson_end() -> None:
    ended = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert contest_deadline(ended, 7) == ended + timedelta(days=7)
    assert contest_deadline(None, 7) is None  # still live: no deadline yet


def test_an_unreviewed_frame_of_someone_else_caps_a_student_at_partial() -> None:
    all_passed = Counts(issued=5, passed=5)
    assert decide_attendance(all_passed, 100, 100, Policy()) is Attendance.PRESENT
    capped = decide_attendance(all_passed, 100, 100, Policy(), identity_unreviewed=True)
    assert capped is Attendance.PARTIAL
    none_passed = Counts(issued=2, failed=2)
    assert (
        decide_attendance(none_passed, 100, 100, Policy(), identity_unreviewed=True)
        is Attendance.ABSENT
    )
