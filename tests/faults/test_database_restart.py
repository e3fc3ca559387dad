"""PostgreSQL restarted for real (a private cluster the test starts in a temporary directory,
stopped and started again with pg_ctl) under two server processes: connections come back
without restarting the processes, a check answered during the restart is written once the
database is back, and neither process takes the other for dead because their heartbeats
failed for a few seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessions
from storage.models import ServerProcess
from testkit.api import Api, make_classroom
from testkit.frames import face_jpeg
from testkit.lessons import state_of
from testkit.participants import Participant
from testkit.services import cluster_env, migrate
from testkit.timing import timeout
from tests.faults.services import PrivatePostgres, Server, servers

DOWN_S = 5.0  # longer than the stale period (TL_PROCESS_STALE_S = 3 s in these tests)
BACK_WITHIN_S = 10.0  # from PostgreSQL accepting connections again to a check recorded


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, Server, Server]]:
    with PrivatePostgres() as pg:
        migrate(pg.url)
        env = {**cluster_env(pg.url, None), "TL_DB_WAIT_S": "2"}
        with servers([env, env], tmp_path) as (a, b):
            yield pg, a, b


async def _processes(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as s:
            return int(await s.scalar(select(func.count()).select_from(ServerProcess)) or 0)
    finally:
        await engine.dispose()


def _logs(tmp: Path) -> str:
    return "".join(p.read_text() for p in tmp.glob("server-*.log"))


async def test_a_restarted_postgres_is_reconnected_and_nobody_is_taken_for_dead(
    restartable: tuple[PrivatePostgres, Server, Server], tmp_path: Path
) -> None:
    pg, a, _b = restartable
    api = Api(a.url)
    opened: list[Participant] = []
    try:
        room = await make_classroom(api, n_students=1)
        (me,) = room.students
        for ns, token in (("/tutor", room.tutor["token"]), ("/student", me["token"])):
            p = Participant(a.url, ns)
            await p.connect(token, room.lesson_id)
            opened.append(p)
        tutor, student = opened
        assert await tutor.call("check_now", {"student_id": me["id"]}) == {"issued": 1}
        prompt = await student.wait_for("prompt")

        await asyncio.to_thread(pg.stop)
        # Answered while the database is away: the verdict now, the record when it is back.
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present" and ack["final"]
        await tutor.wait_for("attendance", state_of(me["id"], "verified"))
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(pg.start)
        back = time.monotonic()

        # Without restarting the process: the API and a fresh check work again.
        while (await api.http.get("/api/health")).status_code != 200:
            assert time.monotonic() - back < timeout(BACK_WITHIN_S)
            await asyncio.sleep(0.25)
        while True:
            r = await api.http.get(
                f"/api/lessons/{room.lesson_id}/checks",
                headers={"authorization": f"Bearer {room.admin}"},
            )
            if r.status_code == 200 and len(r.json()["items"]) == 1:
                break
            assert time.monotonic() - back < timeout(BACK_WITHIN_S), r.text
            await asyncio.sleep(0.25)
        assert time.monotonic() - back < timeout(BACK_WITHIN_S)

        # Both processes beat again, and neither was settled as dead meanwhile.
        started = time.monotonic()
        while time.monotonic() - started < timeout(5):
            assert await _processes(pg.url) == 2
            await asyncio.sleep(0.5)
        assert await tutor.call("check_now", {"student_id": me["id"]}) == {"issued": 1}
        report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
        assert report["students"][0]["checks"]["passed"] == 1  # counted once
    finally:
        for p in opened:
            await p.close()
        await api.close()
    assert "stopped beating" not in _logs(tmp_path)
