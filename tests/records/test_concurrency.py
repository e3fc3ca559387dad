"""Two processes writing and sealing one lesson at once make one chain, on SQLite and
PostgreSQL: no fork, no gap, every link signed, and the last one covers every record."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys

from records.keys import SigningKey, private_pem
from records.lesson_check import check_lesson, published_keys
from records.seal import seal_lesson
from storage import sealing
from storage.db import Sessions
from testkit.processes import ROOT
from testkit.timing import timeout
from tests.records.lessons import make_lesson

WRITES = 15


async def test_two_processes_sealing_one_lesson_make_one_chain(
    sessions: Sessions, key: SigningKey, database_url: str
) -> None:
    made = await make_lesson(sessions, ended=False)
    env = {**os.environ, "TL_SIGNING_KEY": private_pem(key.private)}
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.records.writer",
            database_url,
            str(made.lesson_id),
            str(student),
            str(WRITES),
            env=env,
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for student in made.students
    ]
    for writer in writers:
        _out, err = await asyncio.wait_for(writer.communicate(), timeout(120))
        assert writer.returncode == 0, err.decode()[-3000:]

    async with sessions() as s:
        chain = await sealing.seal_chain(s, lesson_id=made.lesson_id)
    # Each write was followed by a seal; one that found nothing new made no link.
    assert 2 <= len(chain) <= 2 * WRITES
    assert [link.seq for link in chain] == list(range(1, len(chain) + 1))
    assert all(b.previous == a.hash for a, b in itertools.pairwise(chain))
    result = await check_lesson(sessions, made.lesson_id, await published_keys(sessions))
    assert result.valid, result.problems
    # The last link saw both processes' last writes: sealing again finds nothing new.
    assert await seal_lesson(sessions, made.lesson_id, key) is None
    assert chain[-1].records == result.records
