"""What a seal covers: the table of sealed kinds, and each record's digest.

``SEALED_KINDS`` is the one place that says what is sealed. A record kind stored in a table
with a ``lesson_id`` column is one ``table_kind(...)`` entry; a review table, for instance::

    table_kind("review", PromptReview, order=("created_at", "id")),

Every column of a sealed table is sealed except those named in ``exclude`` (operational ones,
and evidence that a retention policy deletes), so a column added later (an identity result on
checks, say) is sealed with no change here. A column holding NULL is left out of the digest,
so adding a nullable column keeps the digests of records sealed before it existed.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from storage import sealing
from storage.models import (
    Base,
    Check,
    Course,
    Lesson,
    LessonStatus,
    PresenceInterval,
    Prompt,
    PromptContest,
    PromptReview,
)


@dataclass(frozen=True, slots=True)
class Record:
    """One sealed record: its kind, id, digest, and whether it may still change."""

    kind: str
    record_id: str
    digest: str
    open: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.record_id


@dataclass(frozen=True, slots=True)
class Row:
    """A record as read, before its digest is taken (off the event loop)."""

    kind: str
    record_id: str
    fields: Mapping[str, Any]
    open: bool

    def sealed(self) -> Record:
        return Record(
            self.kind, self.record_id, digest(self.kind, self.record_id, self.fields), self.open
        )


Loader = Callable[[AsyncSession, Lesson, Course, datetime], Awaitable[list[Row]]]


@dataclass(frozen=True, slots=True)
class SealedKind:
    name: str
    load: Loader


def digest(kind: str, record_id: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of the record, NULL fields left out."""
    body: dict[str, Any] = {
        "kind": kind,
        "id": record_id,
        "fields": {k: _plain(v) for k, v in fields.items() if v is not None},
    }
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def table_kind(
    name: str,
    model: type[Base],
    *,
    order: tuple[str, ...],
    exclude: tuple[str, ...] = (),
    open_when: Callable[[Mapping[str, Any]], bool] = lambda _row: False,
    lesson_column: str = "lesson_id",
) -> SealedKind:
    """A kind stored one row per record in ``model``'s table, found by ``lesson_column``."""

    async def load(s: AsyncSession, lesson: Lesson, _c: Course, _now: datetime) -> list[Row]:
        rows = await sealing.lesson_rows(
            s,
            model=model,
            lesson_id=lesson.id,
            lesson_column=lesson_column,
            order=order,
            exclude=exclude,
        )
        return [Row(name, str(row["id"]), row, open_when(row)) for row in rows]

    return SealedKind(name, load)


async def _lesson(s: AsyncSession, lesson: Lesson, _c: Course, _now: datetime) -> list[Row]:
    rows = await sealing.lesson_rows(
        s, model=Lesson, lesson_id=lesson.id, lesson_column="id", order=("id",), exclude=()
    )
    return [Row("lesson", str(lesson.id), row, _live(lesson)) for row in rows]


async def _decisions(s: AsyncSession, lesson: Lesson, course: Course, now: datetime) -> list[Row]:
    """Each student's attendance decision, by the report's rules. Decided when the lesson
    ends: while it is live the figures move with the clock, and are not sealed."""
    from server.attendance_report import attendance_report

    if _live(lesson):
        return []
    report = await attendance_report(s, lesson, course, now)
    kept = ("status", "ratio", "connected_seconds", "connected_ratio", "checks", "reviewed")
    return [
        Row("attendance", line["student_id"], {k: line[k] for k in kept}, False)
        for line in report["students"]
    ]


def _live(lesson: Lesson) -> bool:
    return lesson.status is not LessonStatus.ENDED


# The order of this table is the order in which records are compared: a verification names
# the first record that differs in it.
SEALED_KINDS: tuple[SealedKind, ...] = (
    SealedKind("lesson", _lesson),
    table_kind(
        "prompt",
        Prompt,
        order=("issued_at", "id"),
        exclude=("process_id",),
        open_when=lambda row: row["status"] == PromptStatus.PENDING,
    ),
    # The thumbnail is evidence deleted after the course's retention period; its verdict and
    # the frame's SHA-256 are sealed.
    table_kind("check", Check, order=("received_at", "id"), exclude=("thumbnail",)),
    table_kind(
        "presence",
        PresenceInterval,
        order=("connected_at", "id"),
        exclude=("process_id",),
        open_when=lambda row: row["disconnected_at"] is None,
    ),
    # A person's decisions and the students' contests: rows only ever added, never changed.
    table_kind("review", PromptReview, order=("created_at", "id")),
    table_kind("contest", PromptContest, order=("created_at", "id")),
    SealedKind("attendance", _decisions),
)


async def current_records(
    s: AsyncSession, lesson: Lesson, course: Course, now: datetime
) -> list[Record]:
    """Every sealed record of the lesson as it is now, in the table's order (the digests are
    taken in a thread: a large lesson has hundreds of thousands of records)."""
    rows: list[Row] = []
    for kind in SEALED_KINDS:
        rows.extend(await kind.load(s, lesson, course, now))
    return await asyncio.to_thread(lambda: [row.sealed() for row in rows])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
