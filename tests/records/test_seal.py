"""Tamper evidence: any change to a sealed record is found and named, on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table, select, update

from records import TamperDetected
from records.keys import SigningKey
from records.lesson_check import check_lesson, published_keys
from records.seal import seal_lesson
from storage.db import Sessions
from storage.models import Check, Lesson, PresenceInterval, Prompt, Seal, SealLeaf
from tests.records.lessons import START, make_lesson

# (kind, table, columns left out of the seal)
SEALED_TABLES: list[tuple[str, Table, set[str]]] = [
    ("lesson", Lesson.__table__, set()),  # type: ignore[list-item]
    ("prompt", Prompt.__table__, {"process_id"}),  # type: ignore[list-item]
    ("check", Check.__table__, {"thumbnail"}),  # type: ignore[list-item]
    ("presence", PresenceInterval.__table__, {"process_id"}),  # type: ignore[list-item]
]


def _other_value(value: Any, others: list[Any], column: Any) -> Any:
    """A different value of the same column: another row's when there is one; for a column
    left empty (a nullable column added later, say), a value of its type."""
    for other in others:
        if other is not None and other != value:
            return other
    if value is None:
        kind = column.type.python_type
        made = {str: "tampered", float: 0.5, int: 1, bool: True}.get(kind)
        if made is not None:
            return made
        if kind is datetime:
            return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(value, bool):
        return not value
    if isinstance(value, enum.Enum):
        return next(member for member in type(value) if member != value)
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int | float):
        return value + 1
    raise AssertionError(f"no other value for {value!r}")


async def test_changing_any_field_of_any_sealed_record_is_named(
    sessions: Sessions, key: SigningKey
) -> None:
    made = await make_lesson(sessions)
    await make_lesson(sessions, title="Lesson 2")  # another lesson: the source of other values
    assert await seal_lesson(sessions, made.lesson_id, key, reason="end") is not None
    keys = await published_keys(sessions)
    assert (await check_lesson(sessions, made.lesson_id, keys)).valid

    tried = 0
    for kind, table, excluded in SEALED_TABLES:
        where = (
            table.c.id == made.lesson_id
            if kind == "lesson"
            else table.c.lesson_id == made.lesson_id
        )
        for column in table.columns:
            if column.name == "id" or column.name in excluded:
                continue
            async with sessions() as s:
                first = (
                    await s.execute(select(table.c.id, column).where(where).order_by(table.c.id))
                ).first()
                assert first is not None
                record_id, original = first
                others = list(
                    (await s.scalars(select(column).where(table.c.id != record_id))).all()
                )
            async with sessions() as s, s.begin():
                changed = _other_value(original, others, column)
                await s.execute(
                    update(table).where(table.c.id == record_id).values({column: changed})
                )
            result = await check_lesson(sessions, made.lesson_id, keys)
            assert not result.valid, f"{kind}.{column.name} changed unnoticed"
            assert result.problems[0].startswith(f"{kind} {record_id} "), (
                f"{kind}.{column.name}: {result.problems[0]}"
            )
            with pytest.raises(TamperDetected, match=f"{kind} {record_id}"):
                await seal_lesson(sessions, made.lesson_id, key)
            async with sessions() as s, s.begin():
                await s.execute(
                    update(table).where(table.c.id == record_id).values({column: original})
                )
            tried += 1
    assert tried >= 30
    # Every field put back as it was: the records match their seal again.
    assert (await check_lesson(sessions, made.lesson_id, keys)).valid


async def test_a_deleted_or_added_record_is_named(sessions: Sessions, key: SigningKey) -> None:
    made = await make_lesson(sessions)
    await seal_lesson(sessions, made.lesson_id, key, reason="end")
    keys = await published_keys(sessions)
    async with sessions() as s, s.begin():
        check = (await s.scalars(select(Check).where(Check.lesson_id == made.lesson_id))).first()
        assert check is not None
        await s.delete(check)
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert result.problems[0] == f"check {check.id} deleted after it was sealed"


async def test_altered_seals_are_found(sessions: Sessions, key: SigningKey) -> None:
    made = await make_lesson(sessions, ended=False)
    first = await seal_lesson(sessions, made.lesson_id, key)
    assert first is not None
    async with sessions() as s, s.begin():
        await s.execute(
            update(Lesson)
            .where(Lesson.id == made.lesson_id)
            .values(status="ended", ended_at=first.sealed_at + timedelta(seconds=1))
        )
    second = await seal_lesson(sessions, made.lesson_id, key, reason="end")
    assert second is not None and second.seq == 2 and second.previous == first.hash
    keys = await published_keys(sessions)
    assert (await check_lesson(sessions, made.lesson_id, keys)).valid

    # A stored digest rewritten (to hide a change) no longer adds up to the signed root.
    async with sessions() as s, s.begin():
        leaf = (await s.scalars(select(SealLeaf).where(SealLeaf.seal_id == first.id))).first()
        assert leaf is not None
        leaf_id, digest = leaf.id, leaf.digest
        await s.execute(update(SealLeaf).where(SealLeaf.id == leaf_id).values(digest="0" * 64))
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert (
        result.problems[0] == "seal link 1: the stored record digests do not match its signed root"
    )
    async with sessions() as s, s.begin():
        await s.execute(update(SealLeaf).where(SealLeaf.id == leaf_id).values(digest=digest))

    # A root rewritten breaks the link's hash; a link removed breaks the chain.
    async with sessions() as s, s.begin():
        await s.execute(update(Seal).where(Seal.id == second.id).values(root="1" * 64))
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert result.problems[0].startswith("seal link 2 was altered")
    async with sessions() as s, s.begin():
        await s.execute(update(Seal).where(Seal.id == second.id).values(root=second.root))
        await s.execute(update(Seal).where(Seal.id == first.id).values(seq=0))
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert result.problems[0] == "seal link 1 is missing"


async def test_a_chain_signed_by_an_unpublished_key_is_refused(sessions: Sessions) -> None:
    made = await make_lesson(sessions)
    stranger = SigningKey.of(Ed25519PrivateKey.generate())
    await seal_lesson(sessions, made.lesson_id, stranger, reason="end")
    result = await check_lesson(sessions, made.lesson_id, await published_keys(sessions))
    assert result.problems[0] == f"seal link 1 is signed by an unknown key {stranger.kid}"


async def test_open_records_may_move_on_and_final_ones_may_not(
    sessions: Sessions, key: SigningKey
) -> None:
    made = await make_lesson(sessions, ended=False)
    await seal_lesson(sessions, made.lesson_id, key)
    keys = await published_keys(sessions)
    # While live: a presence interval closes, a check arrives: not tampering.
    async with sessions() as s, s.begin():
        await s.execute(
            update(PresenceInterval)
            .where(PresenceInterval.lesson_id == made.lesson_id)
            .values(disconnected_at=START + timedelta(minutes=30))
        )
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert result.valid, result.problems
    assert await seal_lesson(sessions, made.lesson_id, key) is not None
    # Nothing new: no new link.
    assert await seal_lesson(sessions, made.lesson_id, key) is None
    # Now the closed interval is final: moving it again is tampering.
    async with sessions() as s, s.begin():
        await s.execute(
            update(PresenceInterval)
            .where(PresenceInterval.lesson_id == made.lesson_id)
            .values(disconnected_at=START + timedelta(minutes=50))
        )
    result = await check_lesson(sessions, made.lesson_id, keys)
    assert result.problems and result.problems[0].startswith("presence ")


async def test_the_periodic_task_seals_live_lessons_and_ended_ones_once(
    sessions: Sessions, key: SigningKey
) -> None:
    from records.sealer import seal_due
    from storage.models import LessonStatus

    live = await make_lesson(sessions, ended=False)
    ended = await make_lesson(sessions, title="Lesson 2")
    scheduled = await make_lesson(sessions, title="Lesson 3")
    async with sessions() as s, s.begin():
        await s.execute(
            update(Lesson)
            .where(Lesson.id == scheduled.lesson_id)
            .values(status=LessonStatus.SCHEDULED, started_at=None, ended_at=None)
        )
    assert await seal_due(sessions, key) == 2
    keys = await published_keys(sessions)
    for made in (live, ended):
        assert (await check_lesson(sessions, made.lesson_id, keys)).valid
    assert (await check_lesson(sessions, scheduled.lesson_id, keys)).problems == [
        "the lesson has never been sealed"
    ]
    # Nothing changed since: no new links.
    assert await seal_due(sessions, key) == 0
