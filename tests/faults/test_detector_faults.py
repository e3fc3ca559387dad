"""The face detector itself failing on a worker thread (a MediaPipe graph that raises), not a
stand-in for the whole check: the fault is the server's, so the student is asked for another
frame and keeps the attempt, the error is logged, and the pool keeps every one of its slots.
(A fault injected above the detector: tests/faults/test_judge_faults.py.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime.frames import FAULT_HINT
from testkit.api import Api
from testkit.frames import face_jpeg
from testkit.lessons import class_lesson, prompted, roster_row, state_of
from testkit.participants import Participant
from testkit.server import app_for, running_server

WORKERS = 2


@pytest.fixture
def small_pool(tmp_path: Path) -> Iterator[str]:
    """A server whose pool takes two frames at once: a slot lost to a fault would show."""
    # Threads of the server, so that the test can reach the detectors and break one.
    with running_server(
        tmp_path, vision_workers=WORKERS, vision_max_pending=WORKERS, vision_processes=False
    ) as url:
        yield url


async def test_a_crashing_detector_costs_the_student_no_attempt_and_the_pool_no_slot(
    small_pool: str,
    participants: list[Participant],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Api(small_pool) as api:
        room, tutor, (ada_sock, ben_sock) = await class_lesson(
            api, small_pool, participants, 2, policy={"max_frames": 2}
        )
        ada, ben = room.students
        pool = app_for(small_pool).other_asgi_app.state.hub.vision
        detectors = list(pool._detectors)  # one per worker thread, made at warm-up
        assert len(detectors) == WORKERS
        crashed: list[int] = []

        def crash(_rgb: Any) -> Any:
            crashed.append(1)
            raise RuntimeError("the detector's graph crashed")

        for detector in detectors:
            monkeypatch.setattr(detector, "find", crash)
        prompt = await prompted(tutor, ada_sock, ada["id"])
        pid = prompt["prompt_id"]
        # More frames than the prompt allows and than the pool has slots.
        with caplog.at_level(logging.ERROR):
            acks = [
                await ada_sock.call("capture", {"prompt_id": pid, "image": face_jpeg()})
                for _ in range(5)
            ]
        assert len(crashed) == 5  # each frame reached a real detector, which raised
        for ack in acks:
            assert (ack["outcome"], ack["hint"]) == ("rate_limited", FAULT_HINT), ack
            assert (ack["final"], ack["attempts_left"]) == (False, 2), ack
        assert "the detector's graph crashed" in caplog.text
        assert ada_sock.received("verdict") == []
        row = await roster_row(participants, small_pool, room, ada["id"])
        assert row["state"] == "checking"
        assert row["checks"] == {"issued": 1, "passed": 0, "failed": 0, "missed": 0}

        # Mended: the same prompt is answered, and both students' frames are judged at once
        # (two frames for two slots: none was lost to the faults).
        monkeypatch.undo()
        ben_prompt = await prompted(tutor, ben_sock, ben["id"])
        acks = await asyncio.gather(
            ada_sock.call("capture", {"prompt_id": pid, "image": face_jpeg()}),
            ben_sock.call("capture", {"prompt_id": ben_prompt["prompt_id"], "image": face_jpeg()}),
        )
        assert [(a["outcome"], a["final"]) for a in acks] == [("present", True)] * 2, acks
        await tutor.wait_for("attendance", state_of(ada["id"], "verified"))
        await tutor.wait_for("attendance", state_of(ben["id"], "verified"))
        assert pool.pending == 0
