"""Faults inside the server: the vision code raising, a client leaving mid-check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime.frames import FAULT_HINT
from testkit.api import Api
from testkit.frames import face_jpeg
from testkit.lessons import one_student_lesson, prompted, state_of
from testkit.participants import Participant
from testkit.server import app_for, running_server


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[str]:
    # Threads of the server, so that the test can reach the judge and break it.
    with running_server(tmp_path, vision_processes=False) as url:
        yield url


async def test_a_vision_fault_is_answered_logged_and_not_held_against_the_student(
    own_server: str, participants: list[Participant], caplog: pytest.LogCaptureFixture
) -> None:
    async with Api(own_server) as api:
        _room, me, tutor, student = await one_student_lesson(api, own_server, participants)
        pool = app_for(own_server).other_asgi_app.state.hub.vision
        workers = pool.stats()["workers"]
        real = pool._judge_fn
        calls = {"n": 0}

        def broken_once(*args: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("the detector's graph crashed")
            return real(*args)

        pool._judge_fn = broken_once
        prompt = await prompted(tutor, student, me["id"])
        with caplog.at_level(logging.ERROR, logger="realtime.hub"):
            ack = await student.call(
                "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
            )
        assert ack["outcome"] == "rate_limited" and ack["hint"] == FAULT_HINT
        assert ack["final"] is False
        assert ack["attempts_left"] == prompt["max_frames"]  # the attempt was given back
        assert "the detector's graph crashed" in caplog.text
        # The pool is whole, and the next frame is judged.
        assert pool.stats()["workers"] == workers
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present"
        await tutor.wait_for("attendance", state_of(me["id"], "verified"))


async def test_a_student_leaving_mid_check_still_gets_the_verdict_recorded(
    own_server: str, participants: list[Participant]
) -> None:
    async with Api(own_server) as api:
        room, me, tutor, student = await one_student_lesson(api, own_server, participants)
        pool = app_for(own_server).other_asgi_app.state.hub.vision
        real = pool._judge_fn

        def slow(*args: Any) -> Any:
            time.sleep(1.0)  # on the worker thread: the check is still running when they go
            return real(*args)

        pool._judge_fn = slow
        prompt = await prompted(tutor, student, me["id"])
        await student.client.emit(
            "capture",
            {"prompt_id": prompt["prompt_id"], "image": face_jpeg()},
            namespace="/student",
        )
        await asyncio.sleep(0.3)
        await student.close()  # gone before the answer
        await tutor.wait_for("attendance", state_of(me["id"], "offline"))
        verified = await tutor.wait_for(
            "attendance", lambda d: d["student_id"] == me["id"] and d["checks"]["passed"] == 1
        )
        assert verified["last_outcome"] == "present"
        log = await api.call("GET", f"/api/lessons/{room.lesson_id}/checks", room.admin)
        assert [c["outcome"] for c in log["items"]] == ["present"]
        # And the server goes on serving: the student comes back and is checked again.
        pool._judge_fn = real
        again = Participant(own_server, "/student")
        participants.append(again)
        await again.connect(me["token"], room.lesson_id)
        prompt = await prompted(tutor, again, me["id"])
        ack = await again.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
        assert ack["outcome"] == "present"
