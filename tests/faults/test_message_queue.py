"""Redis goes away, drops its subscribers, or answers late, under two real server processes
sharing PostgreSQL (each test's own database) and a redis-server of the test's own.

What each holds: while Redis is away, each process serves its own students and tutors as
before, and whatever needs the other process is answered within 2 s with a partial result;
within 5 s of Redis being back, every tutor has its class afresh and nothing is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from testkit.api import Api, make_classroom
from testkit.frames import face_jpeg
from testkit.lessons import state_of
from testkit.participants import Participant
from testkit.services import cluster_env, fresh_postgres, migrate
from testkit.timing import timeout
from tests.faults.services import PrivateRedis, Server, servers

ANSWER_WITHIN_S = 2.0  # anything that needs the other process, while Redis is away
RECOVER_WITHIN_S = 5.0  # from Redis back to every tutor holding a fresh class list


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivateRedis, Server, Server]]:
    tmp = tmp_path_factory.mktemp("queue")
    with PrivateRedis(tmp) as redis, fresh_postgres() as url:
        migrate(url)
        env = cluster_env(url, redis.url)
        with servers([env, env], tmp) as (a, b):
            yield redis, a, b


@pytest.fixture
async def opened() -> AsyncIterator[list[Participant]]:
    made: list[Participant] = []
    yield made
    for p in made:
        await p.close()


async def join(
    opened: list[Participant], server: Server, ns: str, token: str, lesson_id: str
) -> Participant:
    p = Participant(server.url, ns)
    p.client.on("cluster", p._recorder("cluster"), namespace=ns)
    opened.append(p)
    await p.connect(token, lesson_id)
    return p


async def student_on_b_tutor_on_a(
    api: Api, opened: list[Participant], a: Server, b: Server
) -> tuple[dict[str, Any], Participant, Participant]:
    """A lesson of one student, connected to B, and its tutor, connected to A with the class."""
    room = await make_classroom(api, n_students=1)
    (s1,) = room.students
    on_b = await join(opened, b, "/student", s1["token"], room.lesson_id)
    tutor = await join(opened, a, "/tutor", room.tutor["token"], room.lesson_id)
    await tutor.wait_for("roster")
    return s1, on_b, tutor


async def stalled(redis: PrivateRedis, seconds: str) -> asyncio.subprocess.Process:
    """Redis stops answering for ``seconds`` (``DEBUG SLEEP``); wait() on it for the end."""
    return await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(redis.port), "DEBUG", "SLEEP", seconds
    )


async def timed(coro: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


async def answer(student: Participant, since: int = 0) -> dict[str, Any]:
    prompt = await student.wait_for("prompt", since=since)
    return dict(
        await student.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    )


def passed(student_id: str, n: int) -> Any:
    return lambda d: any(
        s["student_id"] == student_id and s["checks"]["passed"] == n for s in d["students"]
    )


async def test_redis_killed_mid_lesson_each_process_serves_its_own_and_all_is_there_when_back(
    cluster: tuple[PrivateRedis, Server, Server], opened: list[Participant]
) -> None:
    redis, a, b = cluster
    api = Api(a.url)
    try:
        room = await make_classroom(api, n_students=2)
        s1, s2 = room.students
        on_a = await join(opened, a, "/student", s1["token"], room.lesson_id)
        on_b = await join(opened, b, "/student", s2["token"], room.lesson_id)
        tutor_a = await join(opened, a, "/tutor", room.tutor["token"], room.lesson_id)
        tutor_b = await join(opened, b, "/tutor", room.tutor["token"], room.lesson_id)
        roster = await tutor_a.wait_for("roster")
        assert roster["unreachable"] is False and all(s["connected"] for s in roster["students"])

        await asyncio.to_thread(redis.kill)
        # The tutor is told that part of the class may be out of date; health names the part.
        await tutor_a.wait_for("cluster", lambda d: d == {"reachable": False}, within=3)
        health = a.health()
        assert health.status_code == 503
        assert health.json()["message_queue"].startswith("failing")

        # A student on the tutor's own process: checked, answered, shown, all as usual.
        ack, took = await timed(tutor_a.call("check_now", {"student_id": s1["id"]}))
        assert ack == {"issued": 1, "unreachable": True} and took < ANSWER_WITHIN_S
        assert (await answer(on_a))["outcome"] == "present"
        await tutor_a.wait_for("attendance", state_of(s1["id"], "verified"))

        # The same on the other process, for its own tutor.
        ack, took = await timed(tutor_b.call("check_now", {"student_id": s2["id"]}))
        assert ack == {"issued": 1, "unreachable": True} and took < ANSWER_WITHIN_S
        assert (await answer(on_b))["outcome"] == "present"
        await tutor_b.wait_for("attendance", state_of(s2["id"], "verified"))

        # What needs the other process: a partial answer, on time, never a hang.
        ack, took = await timed(tutor_a.call("check_now", {}))
        assert ack["unreachable"] is True and took < ANSWER_WITHIN_S
        seen = len(tutor_a.events)
        new_tutor = await join(opened, a, "/tutor", room.tutor["token"], room.lesson_id)
        roster = await new_tutor.wait_for("roster", within=ANSWER_WITHIN_S + 1)
        assert roster["unreachable"] is True

        # Redis back: within 5 s the tutor on A has the class afresh, with Ben's check from B.
        back = time.monotonic()
        await asyncio.to_thread(redis.start)  # on the same port, empty
        fresh = await tutor_a.wait_for(
            "roster",
            lambda d: d["unreachable"] is False and passed(s2["id"], 1)(d),
            within=RECOVER_WITHIN_S,
            since=seen,
        )
        assert time.monotonic() - back < timeout(RECOVER_WITHIN_S)
        assert {s["student_id"]: s["state"] for s in fresh["students"]}[s2["id"]] == "verified"

        # And across processes as before: A's tutor checks Ben on B, and sees the result.
        for _ in range(20):  # the prompt issued by "check everyone" above may still be open
            ack = await tutor_a.call("check_now", {"student_id": s2["id"]})
            if "unreachable" not in ack:
                break
            await asyncio.sleep(0.25)
        assert "unreachable" not in ack
        await on_b.close()
    finally:
        await api.close()
    # Nothing acknowledged was lost: the records hold both checks made during the outage.
    api = Api(b.url)
    try:
        report = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", room.admin)
        lines = {line["student_id"]: line["checks"]["passed"] for line in report["students"]}
        assert lines == {s1["id"]: 1, s2["id"]: 1}
    finally:
        await api.close()


async def test_a_dropped_subscription_or_a_slow_redis_costs_only_a_moment(
    cluster: tuple[PrivateRedis, Server, Server], opened: list[Participant]
) -> None:
    redis, a, b = cluster
    api = Api(a.url)
    try:
        s1, on_b, tutor = await student_on_b_tutor_on_a(api, opened, a, b)

        answered: set[str] = set()

        async def checked_across(n: int) -> float:
            """Check the student on B from A's tutor until B answers (issued 1, or 0 when a
            check asked earlier reached B late and its prompt is open); the time taken."""
            started = time.monotonic()
            while True:
                ack, took = await timed(tutor.call("check_now", {"student_id": s1["id"]}))
                assert took < ANSWER_WITHIN_S + 0.5
                if "unreachable" not in ack:
                    break
                assert time.monotonic() - started < timeout(RECOVER_WITHIN_S), ack
                await asyncio.sleep(0.2)
            prompt = await on_b.wait_for("prompt", lambda d: d["prompt_id"] not in answered)
            answered.add(prompt["prompt_id"])
            ack = await on_b.call(
                "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
            )
            assert ack["outcome"] == "present"
            await tutor.wait_for(
                "attendance",
                lambda d: d["student_id"] == s1["id"] and d["checks"]["passed"] == n,
                within=RECOVER_WITHIN_S,
            )
            return time.monotonic() - started

        # Redis drops every subscriber (both processes', both channels) but keeps running.
        seen = len(tutor.events)
        assert int(await asyncio.to_thread(redis.cli, "CLIENT", "KILL", "TYPE", "pubsub")) >= 4
        assert await checked_across(1) < timeout(RECOVER_WITHIN_S)
        await tutor.wait_for("roster", since=seen, within=RECOVER_WITHIN_S)  # afresh

        # Redis stalls for 3 s: a check asked meanwhile is answered in time, partly.
        sleeper = await stalled(redis, "3")
        await asyncio.sleep(0.3)
        ack, took = await timed(tutor.call("check_now", {"student_id": s1["id"]}))
        assert took < ANSWER_WITHIN_S and ack.get("unreachable") is True
        await sleeper.wait()
        assert await checked_across(2) < timeout(RECOVER_WITHIN_S)
    finally:
        await api.close()


async def test_a_lesson_ended_during_an_outage_ends_everywhere_once_redis_is_back(
    cluster: tuple[PrivateRedis, Server, Server], opened: list[Participant]
) -> None:
    redis, a, b = cluster
    api = Api(a.url)
    try:
        room = await make_classroom(api, n_students=2)
        s1, s2 = room.students
        on_a = await join(opened, a, "/student", s1["token"], room.lesson_id)
        on_b = await join(opened, b, "/student", s2["token"], room.lesson_id)
        tutor = await join(opened, a, "/tutor", room.tutor["token"], room.lesson_id)
        await tutor.wait_for("roster")

        await asyncio.to_thread(redis.kill)
        await tutor.wait_for("cluster", lambda d: d == {"reachable": False}, within=3)
        # Ended here at once: this process's students are told and let go.
        ack, took = await timed(tutor.call("end_lesson", {}))
        assert ack == {"ok": True} and took < ANSWER_WITHIN_S
        assert await on_a.wait_for("lesson_ended") == {"lesson_id": room.lesson_id}
        assert not any(event == "lesson_ended" for event, _ in on_b.events)

        # Redis back: the other process learns of it and ends the lesson for its students.
        back = time.monotonic()
        await asyncio.to_thread(redis.start)
        await on_b.wait_for("lesson_ended", within=RECOVER_WITHIN_S)
        await on_b.wait_for("disconnect", within=RECOVER_WITHIN_S)
        assert time.monotonic() - back < timeout(RECOVER_WITHIN_S)
    finally:
        await api.close()


async def test_what_a_process_reports_while_redis_stalls_reaches_the_tutor_late(
    cluster: tuple[PrivateRedis, Server, Server], opened: list[Participant]
) -> None:
    """A slow Redis (a saturated machine, a stall) is not a lost event: what the other process
    had to publish meanwhile reaches the tutor as the updates it was, late and in order, not
    only folded into the class list sent afresh."""
    redis, a, b = cluster
    api = Api(a.url)
    try:
        s1, on_b, tutor = await student_on_b_tutor_on_a(api, opened, a, b)

        sleeper = await stalled(redis, "3")
        await asyncio.sleep(0.3)
        # The first waits on the stalled Redis until B gives up on it; the second is queued
        # behind it.
        assert (await on_b.call("camera", {"state": "denied"}))["ok"] is True
        await asyncio.sleep(1.5)
        assert (await on_b.call("camera", {"state": "unavailable"}))["ok"] is True
        await sleeper.wait()
        update = await tutor.wait_for(
            "attendance",
            lambda d: d["student_id"] == s1["id"] and d["camera"] == "unavailable",
            within=RECOVER_WITHIN_S,
        )
        assert update["connected"] is True
    finally:
        await api.close()


async def test_a_redis_slower_than_a_second_is_not_taken_for_an_outage(
    cluster: tuple[PrivateRedis, Server, Server], opened: list[Participant]
) -> None:
    """On a saturated machine a publish may wait longer than its second: Redis still answers,
    so the update is sent again and arrives, and no tutor is told the class may be stale."""
    redis, a, b = cluster
    api = Api(a.url)
    try:
        s1, on_b, tutor = await student_on_b_tutor_on_a(api, opened, a, b)
        seen = len(tutor.events)

        sleeper = await stalled(redis, "1.5")
        await asyncio.sleep(0.2)
        assert (await on_b.call("camera", {"state": "denied"}))["ok"] is True
        await sleeper.wait()
        await tutor.wait_for(
            "attendance",
            lambda d: d["student_id"] == s1["id"] and d["camera"] == "denied",
            since=seen,
            within=RECOVER_WITHIN_S,
        )
        await asyncio.sleep(1.0)
        assert ("cluster", {"reachable": False}) not in tutor.events[seen:]
        assert not any(event == "roster" for event, _ in tutor.events[seen:]), tutor.events[seen:]
    finally:
        await api.close()
