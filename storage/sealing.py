"""Queries behind a lesson's seal: the sealed rows of any table, the seal chain, the keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, Check, Lesson, LessonStatus, Seal, SealLeaf, SigningKeyRecord


async def lesson_rows(
    s: AsyncSession,
    *,
    model: type[Base],
    lesson_id: uuid.UUID,
    lesson_column: str,
    order: Sequence[str],
    exclude: Iterable[str],
) -> list[dict[str, Any]]:
    """Every row of ``model`` that belongs to the lesson, as column → value, in ``order``.
    Every column is read except ``exclude``: a column added to the table later is sealed too."""
    table = model.__table__
    left_out = set(exclude)
    columns = [c for c in table.columns if c.name not in left_out]
    query = (
        select(*columns)
        .where(table.c[lesson_column] == lesson_id)
        .order_by(*(table.c[name] for name in order))
    )
    return [dict(row._mapping) for row in await s.execute(query)]


async def lock_lesson(s: AsyncSession, *, lesson_id: uuid.UUID) -> bool:
    """Take the lesson's sealing lock until the transaction ends: one sealer at a time.

    PostgreSQL: the lesson's row FOR NO KEY UPDATE (it does not block the inserts of checks
    and prompts, whose foreign keys take KEY SHARE). SQLite: a write that changes nothing
    takes the database's write lock now, so what is read next is what is sealed."""
    if s.get_bind().dialect.name == "postgresql":
        query = select(Lesson.id).where(Lesson.id == lesson_id).with_for_update(key_share=True)
        return (await s.execute(query)).first() is not None
    done = await s.execute(update(Lesson).where(Lesson.id == lesson_id).values(id=Lesson.id))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def seal_chain(s: AsyncSession, *, lesson_id: uuid.UUID) -> list[Seal]:
    query = select(Seal).where(Seal.lesson_id == lesson_id).order_by(Seal.seq)
    return list((await s.scalars(query)).all())


async def seal_leaves(s: AsyncSession, *, seal_ids: Sequence[uuid.UUID]) -> list[SealLeaf]:
    if not seal_ids:
        return []
    query = select(SealLeaf).where(SealLeaf.seal_id.in_(seal_ids)).order_by(SealLeaf.id)
    return list((await s.scalars(query)).all())


async def latest_seal(s: AsyncSession, *, lesson_id: uuid.UUID) -> Seal | None:
    query = select(Seal).where(Seal.lesson_id == lesson_id).order_by(Seal.seq.desc()).limit(1)
    return (await s.scalars(query)).first()


async def add_seal(s: AsyncSession, seal: Seal, leaves: Iterable[SealLeaf]) -> None:
    s.add(seal)
    await s.flush()
    s.add_all(leaves)


async def lessons_to_seal(
    s: AsyncSession, *, ended_after: datetime, settling_after: datetime
) -> list[uuid.UUID]:
    """Live lessons; lessons ended since ``settling_after`` (late writes, such as verdicts held
    while the database was away, land then); and lessons ended since ``ended_after`` whose
    last seal came before the end or still had open records."""
    last = (
        select(Seal.lesson_id, func.max(Seal.seq).label("seq")).group_by(Seal.lesson_id).subquery()
    )
    query = (
        select(Lesson.id, Lesson.status, Lesson.ended_at, Seal.sealed_at, Seal.open_records)
        .outerjoin(last, last.c.lesson_id == Lesson.id)
        .outerjoin(Seal, (Seal.lesson_id == Lesson.id) & (Seal.seq == last.c.seq))
        .where(
            (Lesson.status == LessonStatus.LIVE)
            | ((Lesson.status == LessonStatus.ENDED) & (Lesson.ended_at > ended_after))
        )
    )
    due = []
    for lesson_id, status, ended_at, sealed_at, open_records in await s.execute(query):
        if (
            status is LessonStatus.LIVE
            or sealed_at is None
            or (ended_at is not None and (sealed_at < ended_at or ended_at > settling_after))
            or open_records > 0
        ):
            due.append(lesson_id)
    return due


async def publish_key(s: AsyncSession, *, kid: str, public_key: str) -> None:
    if await s.get(SigningKeyRecord, kid) is None:
        s.add(SigningKeyRecord(kid=kid, public_key=public_key))


async def published_keys(s: AsyncSession) -> list[SigningKeyRecord]:
    query = select(SigningKeyRecord).order_by(SigningKeyRecord.created_at)
    return list((await s.scalars(query)).all())


async def student_checks(
    s: AsyncSession, *, lesson_id: uuid.UUID, student_id: uuid.UUID
) -> list[tuple[datetime, str, str]]:
    """A student's checks in a lesson, oldest first: when, the outcome, the frame's SHA-256."""
    query = (
        select(Check.received_at, Check.outcome, Check.frame_sha256)
        .where(Check.lesson_id == lesson_id, Check.student_id == student_id)
        .order_by(Check.received_at, Check.id)
    )
    return [(at, outcome, sha) for at, outcome, sha in await s.execute(query)]
