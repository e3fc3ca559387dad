"""Group commit: writes that arrive together share a transaction, and each caller still gets
its own write's outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.batch import GroupCommit
from storage.db import Sessions, make_engine, make_sessions

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String, nullable=False),
)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield make_sessions(engine)
    await engine.dispose()


def note(note_id: int, text: str = "x") -> Callable[[AsyncSession], Awaitable[int]]:
    async def write(s: AsyncSession) -> int:
        await s.execute(insert(notes).values(id=note_id, text=text))
        return note_id

    return write


async def stored(sessions: Sessions) -> list[int]:
    async with sessions() as s:
        return sorted((await s.execute(select(notes.c.id))).scalars())


async def test_a_lone_write_is_committed_and_returns_its_value(sessions: Sessions) -> None:
    commits = GroupCommit(sessions)
    assert await commits.run(note(1)) == 1
    assert await stored(sessions) == [1]


async def test_writes_that_arrive_together_share_transactions(sessions: Sessions) -> None:
    commits = GroupCommit(sessions)
    results = await asyncio.gather(*(commits.run(note(i)) for i in range(200)))
    assert results == list(range(200))
    assert await stored(sessions) == list(range(200))
    # The first write starts a transaction alone; the other 199 wait and go in together.
    assert commits.writes == 200
    assert commits.transactions <= 3, commits.transactions


async def test_a_broken_write_fails_only_its_own_caller(sessions: Sessions) -> None:
    commits = GroupCommit(sessions)
    await commits.run(note(7))
    outcomes = await asyncio.gather(
        *(commits.run(note(i)) for i in (1, 2, 7, 3, 4)), return_exceptions=True
    )
    assert isinstance(outcomes[2], IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 2] == [1, 2, 3, 4]
    assert await stored(sessions) == [1, 2, 3, 4, 7]


async def test_an_unavailable_database_fails_every_caller_and_stores_nothing(
    tmp_path: Path,
) -> None:
    threads = set(threading.enumerate())
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'batch.db'}")
    commits = GroupCommit(make_sessions(engine))
    outcomes = await asyncio.gather(
        *(commits.run(note(i)) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, OperationalError) for o in outcomes), outcomes
    await engine.dispose()
    # The failed connections' threads may still be answering this event loop: let them end
    # before it closes, or their late answer fails the next test.
    for thread in set(threading.enumerate()) - threads:
        await asyncio.to_thread(thread.join, 5)


async def test_a_caller_that_gives_up_does_not_stop_the_others(sessions: Sessions) -> None:
    commits = GroupCommit(sessions)
    first = asyncio.ensure_future(commits.run(note(1)))
    gone = asyncio.ensure_future(commits.run(note(2)))
    last = asyncio.ensure_future(commits.run(note(3)))
    gone.cancel()
    assert await first == 1 and await last == 3
    assert 2 not in await stored(sessions)
