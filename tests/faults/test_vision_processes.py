"""A server whose vision runs in worker processes (``TL_VISION_PROCESSES=true``): students are
judged as on threads, and a worker that dies costs no student anything."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.api import Api
from testkit.frames import face_jpeg
from testkit.lessons import one_student_lesson, prompted, state_of
from testkit.participants import Participant
from testkit.server import app_for, running_server


@pytest.fixture
def in_processes(tmp_path: Path) -> Iterator[str]:
    with running_server(tmp_path, vision_processes=True) as url:
        yield url


async def test_a_worker_killed_between_checks_is_replaced_and_the_student_is_judged(
    in_processes: str, participants: list[Participant]
) -> None:
    async with Api(in_processes) as api:
        _room, me, tutor, student = await one_student_lesson(api, in_processes, participants)
        pool = app_for(in_processes).other_asgi_app.state.hub.vision
        workers = pool.pids()
        assert len(workers) == 2 and os.getpid() not in workers
        health = await api.call("GET", "/api/health", None)
        assert health["vision_pool"]["workers"] == 2

        prompt = await prompted(tutor, student, me["id"])
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present" and ack["final"] is True
        await tutor.wait_for("attendance", state_of(me["id"], "verified"))

        # A worker dies (out of memory, killed): the next check is judged all the same, by a
        # fresh set of workers.
        os.kill(workers[0], signal.SIGKILL)
        prompt = await prompted(tutor, student, me["id"])
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present" and ack["final"] is True
        assert not set(pool.pids()) & set(workers)
        health = await api.call("GET", "/api/health", None)
        assert health["vision_pool"]["replacements"] == 1
        assert health["vision_pool"]["in_flight"] == 0
