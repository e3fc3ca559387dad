"""Clocks that disagree: three processes sharing PostgreSQL and a Redis of the test's own, one
on the right time, one 30 s ahead and one 30 s behind (Debian's faketime). Liveness is judged
on the database's time, so none is taken for dead and none settles a live one's prompts;
tokens from the one ahead are valid on the others."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessions
from storage.models import ServerProcess
from testkit.api import PASSWORD, Api, make_classroom
from testkit.frames import face_jpeg
from testkit.lessons import state_of
from testkit.participants import Participant
from testkit.services import cluster_env, fresh_postgres, migrate
from testkit.timing import timeout
from tests.faults.services import PrivateRedis, Server, need, servers

SKEW = ["+30s", "-30s"]
WATCH_S = 8.0  # well past TL_PROCESS_STALE_S (3 s in these tests)


async def _processes(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as s:
            return int(await s.scalar(select(func.count()).select_from(ServerProcess)) or 0)
    finally:
        await engine.dispose()


def _logs(tmp: Path) -> str:
    return "".join(p.read_text() for p in tmp.glob("server-*.log"))


async def _connect(server_url: str, ns: str, token: str, lesson_id: str) -> Participant:
    p = Participant(server_url, ns)
    await p.connect(token, lesson_id)
    return p


@pytest.fixture
def skewed(tmp_path: Path) -> Iterator[tuple[str, Server, Server, Server]]:
    """One process on the right time, one 30 s ahead, one 30 s behind."""
    need("faketime (apt-get install faketime)", shutil.which("faketime"))
    with PrivateRedis(tmp_path) as redis, fresh_postgres() as url:
        migrate(url)
        env = cluster_env(url, redis.url)
        prefixes = [[], *(["faketime", "-f", skew] for skew in SKEW)]
        with servers([env] * 3, tmp_path, prefixes) as (right, ahead, behind):
            yield url, right, ahead, behind


async def test_processes_30_s_apart_neither_die_nor_settle_each_other(
    skewed: tuple[str, Server, Server, Server], tmp_path: Path
) -> None:
    url, right, ahead, behind = skewed
    opened: list[Participant] = []
    api, api_ahead = Api(right.url), Api(ahead.url)
    try:
        room = await make_classroom(api, n_students=1)
        (me,) = room.students
        # Signed in on the process 30 s ahead; connected to the one on the right time.
        tutor_token = await api_ahead.login(room.tutor["email"], PASSWORD)
        tutor = await _connect(right.url, "/tutor", tutor_token, room.lesson_id)
        opened.append(tutor)
        student = await _connect(behind.url, "/student", me["token"], room.lesson_id)
        opened.append(student)

        ack = await tutor.call("check_now", {"student_id": me["id"]})
        assert ack == {"issued": 1}
        prompt = await student.wait_for("prompt")
        # Watched past the stale period: every process stays registered.
        started = time.monotonic()
        while time.monotonic() - started < timeout(WATCH_S):
            assert await _processes(url) == 3
            await asyncio.sleep(0.5)
        # The prompt issued by the process 30 s behind was not settled by the others.
        answer = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert answer["outcome"] == "present" and answer["final"]
        await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    finally:
        for p in opened:
            await p.close()
        await api.close()
        await api_ahead.close()
    logs = _logs(tmp_path)
    assert "stopped beating" not in logs
    assert "taken for dead" not in logs
