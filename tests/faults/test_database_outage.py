"""The database goes away for a few seconds while students are being checked (for real: the
server reaches PostgreSQL through a proxy the test cuts). Nothing is silently dropped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from realtime.frames import HELD_HINT
from storage.db import make_engine
from storage.migrate import upgrade
from testkit.api import Api
from testkit.frames import face_jpeg
from testkit.lessons import one_student_lesson, prompted, state_of
from testkit.participants import Participant
from testkit.server import running_server
from testkit.services import fresh_postgres
from testkit.timing import timeout
from tests.faults.proxy import TcpProxy


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def proxied_server(tmp_path: Path) -> Iterator[tuple[str, TcpProxy]]:
    """A server whose PostgreSQL sits behind a proxy; checks wait 3 s for the database."""
    with fresh_postgres() as url, TcpProxy("127.0.0.1", 5432) as proxy:
        asyncio.run(_migrate(url))
        proxied = url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        with running_server(tmp_path, database_url=proxied, db_wait_s=3) as base_url:
            yield base_url, proxy


@pytest.fixture
def clients(
    proxied_server: tuple[str, TcpProxy],
    api_to: Callable[[str], Api],
    participants: list[Participant],
) -> tuple[Api, list[Participant]]:
    return api_to(proxied_server[0]), participants


async def _until_logged(api: Api, admin: str, lesson_id: str, prompt_id: str) -> float:
    started = time.monotonic()
    while True:
        r = await api.http.get(
            f"/api/lessons/{lesson_id}/checks", headers={"authorization": f"Bearer {admin}"}
        )
        if r.status_code == 200 and any(c["prompt_id"] == prompt_id for c in r.json()["items"]):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout(30), "the held verdict was never written"
        await asyncio.sleep(0.5)


async def test_a_short_outage_delays_the_answer_and_loses_nothing(
    proxied_server: tuple[str, TcpProxy], clients: tuple[Api, list[Participant]]
) -> None:
    url, proxy = proxied_server
    api, made = clients
    room, me, tutor, student = await one_student_lesson(api, url, made)
    prompt = await prompted(tutor, student, me["id"])

    proxy.cut(1.5)
    started = time.monotonic()
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert ack["outcome"] == "present" and ack["final"]
    assert ack["hint"] != HELD_HINT  # written before the answer, once the database was back
    assert time.monotonic() - started >= 1.0  # it did wait for the database
    await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    await _until_logged(api, room.admin, room.lesson_id, prompt["prompt_id"])


async def test_a_long_outage_answers_at_once_and_writes_the_verdict_when_back(
    proxied_server: tuple[str, TcpProxy], clients: tuple[Api, list[Participant]]
) -> None:
    url, proxy = proxied_server
    api, made = clients
    room, me, tutor, student = await one_student_lesson(api, url, made)
    prompt = await prompted(tutor, student, me["id"])

    proxy.cut(8)
    ack = await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    # The student is answered (after the 3 s wait) and told the record is on its way.
    assert ack["outcome"] == "present" and ack["hint"] == HELD_HINT
    await tutor.wait_for("attendance", state_of(me["id"], "verified"))
    # Meanwhile the API says plainly that the database is away.
    r = await api.http.get("/api/me", headers={"authorization": f"Bearer {room.admin}"})
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert "database" in r.json()["detail"]
    # Once it is back, the held verdict is written, and counted once.
    await _until_logged(api, room.admin, room.lesson_id, prompt["prompt_id"])
    report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
    assert report["students"][0]["checks"] == {
        "issued": 1,
        "passed": 1,
        "failed": 0,
        "missed": 0,
    }
