"""The attendance decision: counts of prompts, time connected, and the verdict by policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.policy import Policy
from domain.statuses import Attendance, PromptStatus


@dataclass(slots=True)
class Counts:
    """Prompts per outcome. ``issued`` includes an open prompt, never a cancelled one."""

    issued: int = 0
    passed: int = 0
    failed: int = 0
    missed: int = 0

    @property
    def resolved(self) -> int:
        return self.passed + self.failed + self.missed

    @property
    def ratio(self) -> float | None:
        """Passed over resolved prompts; None until a prompt has resolved."""
        return self.passed / self.resolved if self.resolved else None

    def add(self, status: PromptStatus) -> None:
        if status is PromptStatus.PASSED:
            self.passed += 1
        elif status is PromptStatus.FAILED:
            self.failed += 1
        elif status is PromptStatus.MISSED:
            self.missed += 1
        elif status is PromptStatus.CANCELLED:
            self.issued -= 1

    @classmethod
    def from_statuses(cls, statuses: Iterable[PromptStatus]) -> Counts:
        counts = cls()
        for status in statuses:
            if status is not PromptStatus.CANCELLED:
                counts.issued += 1
                counts.add(status)
        return counts


def connected_seconds(
    intervals: Iterable[tuple[datetime, datetime | None]],
    live_from: datetime,
    live_to: datetime,
) -> float:
    """Seconds connected within the live window; overlapping connections count once.

    An interval still open (``None`` end) counts up to ``live_to``.
    """
    clipped = sorted(
        (max(start, live_from), min(end or live_to, live_to)) for start, end in intervals
    )
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in clipped:
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total


def decide_attendance(
    counts: Counts,
    connected_s: float,
    live_s: float,
    policy: Policy,
    *,
    identity_unreviewed: bool = False,
) -> Attendance:
    """A whole lesson's verdict for one student, by the course's stated policy.

    present: passed/resolved >= present_ratio and connected >= present_connected_ratio of
    the live time; partial: passed/resolved >= partial_ratio; absent otherwise. A student
    who answered no prompt is absent, never present. ``counts`` are the reviewed ones
    (``domain.review``); a student with a frame of someone else that no one has reviewed yet
    (``identity_unreviewed``) is at most partial.
    """
    ratio = counts.ratio
    if ratio is None or counts.passed == 0:
        return Attendance.ABSENT
    connected_ratio = connected_s / live_s if live_s > 0 else 0.0
    if (
        live_s > 0  # a lesson that was never live has no time anyone could be present for
        and _at_least(ratio, policy.present_ratio)
        and _at_least(connected_ratio, policy.present_connected_ratio)
        and not identity_unreviewed
    ):
        return Attendance.PRESENT
    if _at_least(ratio, policy.partial_ratio):
        return Attendance.PARTIAL
    return Attendance.ABSENT


def _at_least(value: float, threshold: float) -> bool:
    # Exactly at the threshold counts, also when division left a last-digit rounding error
    # (3060.68 s of 3600.8 s is 85 %, but divides to 0.8499999999999999).
    return value >= threshold - 1e-9
