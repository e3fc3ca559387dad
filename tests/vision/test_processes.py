"""The vision pool in worker processes: the same verdicts as the check run here, refusal when
full, a killed worker replaced with its frame still answered, and a server process that spends
next to nothing of its own CPU on the frames."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from testkit.frames import blank_jpeg, face_jpeg, turned_face_jpeg, two_faces_jpeg
from vision import (
    Challenge,
    FaceDetector,
    ImageLimits,
    Outcome,
    PoolClosed,
    PoolSaturated,
    Thresholds,
    VisionProcesses,
    judge_frame,
)


@pytest.fixture
async def pool() -> AsyncIterator[VisionProcesses]:
    made = VisionProcesses(workers=2, max_pending=8)
    await made.warm_up()
    yield made
    await made.shutdown()


async def test_workers_give_the_verdicts_the_check_gives_here(pool: VisionProcesses) -> None:
    frames = {
        "one face": (face_jpeg(), Challenge.NONE),
        "empty room": (blank_jpeg(), Challenge.NONE),
        "two faces": (two_faces_jpeg(), Challenge.NONE),
        "turned left on a turn-left challenge": (turned_face_jpeg("left"), Challenge.TURN_LEFT),
        "not an image": (b"GIF89a but not really", Challenge.NONE),
    }
    here = FaceDetector(0.5)
    try:
        for name, (data, challenge) in frames.items():
            there = await pool.judge(data, challenge)
            local = judge_frame(data, challenge, here, ImageLimits())
            assert there == local, name
    finally:
        here.close()
    assert (await pool.judge(face_jpeg(), Challenge.NONE)).outcome is Outcome.PRESENT
    assert (await pool.judge(blank_jpeg(), Challenge.NONE)).outcome is Outcome.NO_FACE
    assert os.getpid() not in pool.pids() and len(pool.pids()) == 2


async def test_settings_reach_the_workers() -> None:
    strict = VisionProcesses(
        workers=1, limits=ImageLimits(max_bytes=10_000), thresholds=Thresholds(challenge_yaw=80)
    )
    await strict.warm_up()
    try:
        too_big = await strict.judge(face_jpeg(), Challenge.NONE)  # some 30 KB
        assert too_big.outcome is Outcome.BAD_IMAGE and "large" in too_big.hint
    finally:
        await strict.shutdown()


async def test_a_frame_beyond_the_limit_is_refused_at_once() -> None:
    small = VisionProcesses(workers=1, max_pending=1)
    await small.warm_up()
    try:
        first = asyncio.create_task(small.judge(face_jpeg(), Challenge.NONE))
        await asyncio.sleep(0)  # the first has taken the only slot
        with pytest.raises(PoolSaturated):
            await small.judge(face_jpeg(), Challenge.NONE)
        assert (await first).outcome is Outcome.PRESENT
        assert small.pending == 0
        assert (await small.judge(face_jpeg(), Challenge.NONE)).outcome is Outcome.PRESENT
    finally:
        await small.shutdown()
    assert not small.alive()
    with pytest.raises(PoolClosed):
        await small.judge(face_jpeg(), Challenge.NONE)


async def test_a_killed_worker_is_replaced_and_its_frames_answered() -> None:
    pool = VisionProcesses(workers=2, max_pending=8)
    await pool.warm_up()
    try:
        before = pool.pids()
        asked = [asyncio.create_task(pool.judge(face_jpeg(), Challenge.NONE)) for _ in range(8)]
        await asyncio.sleep(0.01)
        os.kill(before[0], signal.SIGKILL)
        answers = await asyncio.gather(*asked)
        assert [a.outcome for a in answers] == [Outcome.PRESENT] * 8
        # The next frame is judged too (by a fresh set, if none of the above met the dead
        # worker before it finished).
        assert (await pool.judge(face_jpeg(), Challenge.NONE)).outcome is Outcome.PRESENT
        after = pool.pids()
        assert len(after) == 2 and not set(after) & set(before)
        assert pool.replacements == 1 and pool.pending == 0
    finally:
        await pool.shutdown()


async def test_frames_cost_this_process_next_to_nothing(pool: VisionProcesses) -> None:
    """What the server process pays for judging is sending bytes and reading a verdict: its
    CPU time (which other programs on the machine cannot inflate) stays a small share of what
    the same frames cost when judged here."""
    frames = [face_jpeg(), two_faces_jpeg(), turned_face_jpeg("left")] * 8
    here = FaceDetector(0.5)
    try:
        cpu = time.process_time()
        for data in frames:
            judge_frame(data, Challenge.NONE, here, ImageLimits())
        judged_here = time.process_time() - cpu
    finally:
        here.close()
    cpu = time.process_time()
    verdicts = await asyncio.gather(*(pool.judge(d, Challenge.NONE) for d in frames[:8]))
    verdicts += await asyncio.gather(*(pool.judge(d, Challenge.NONE) for d in frames[8:16]))
    verdicts += await asyncio.gather(*(pool.judge(d, Challenge.NONE) for d in frames[16:]))
    sent = time.process_time() - cpu
    assert len(verdicts) == len(frames)
    print(f"CPU here: {judged_here * 1000:.0f} ms judged here, {sent * 1000:.0f} ms sent out")
    assert sent < judged_here / 4


async def test_workers_run_below_the_server_when_asked() -> None:
    """On busy cores the event loop, which answers everyone, must go first: the workers run at
    a lower priority (a higher nice value) than the process that started them."""
    lowered = VisionProcesses(workers=1, nice=5)
    await lowered.warm_up()
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        (worker,) = lowered.pids()
        assert os.getpriority(os.PRIO_PROCESS, worker) == min(19, mine + 5)
        assert (await lowered.judge(face_jpeg(), Challenge.NONE)).outcome is Outcome.PRESENT
    finally:
        await lowered.shutdown()
