from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from testkit.frames import blank_jpeg, face_jpeg, turned_face_jpeg, two_faces_jpeg
from testkit.timing import timeout
from vision import (
    Challenge,
    ImageLimits,
    Outcome,
    PoolClosed,
    PoolSaturated,
    Thresholds,
    Verdict,
    VisionPool,
)
from vision.detector import FaceDetector
from vision.judge import judge_frame

WAIT_S = timeout(5.0)


class Gate:
    """A judge that holds every frame until opened, to keep the pool's slots busy on purpose."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(
        self, data: bytes, challenge: Challenge, detector: FaceDetector, limits: ImageLimits
    ) -> Verdict:
        self.entered.release()
        self.opened.wait(WAIT_S)
        return judge_frame(data, challenge, detector, limits)

    async def running(self) -> None:
        assert await asyncio.to_thread(self.entered.acquire, timeout=WAIT_S)


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.opened.set()  # never leave a worker waiting, whatever the test did


@pytest.fixture
async def pool() -> AsyncIterator[VisionPool]:
    pool = VisionPool(workers=2)
    yield pool
    pool.close()


async def test_judges_frames_off_the_event_loop(pool: VisionPool) -> None:
    verdicts = await asyncio.gather(
        pool.judge(face_jpeg(), Challenge.NONE),
        pool.judge(two_faces_jpeg(), Challenge.NONE),
        pool.judge(blank_jpeg(), Challenge.NONE),
        pool.judge(turned_face_jpeg("left"), Challenge.TURN_LEFT),
        pool.judge(face_jpeg(), Challenge.TURN_RIGHT),
    )

    assert [v.outcome for v in verdicts] == [
        Outcome.PRESENT,
        Outcome.MULTIPLE_FACES,
        Outcome.NO_FACE,
        Outcome.PRESENT,
        Outcome.CHALLENGE_FAILED,
    ]
    assert pool.pending == 0


async def test_the_pool_judges_with_the_thresholds_it_was_given() -> None:
    pool = VisionPool(workers=1, thresholds=Thresholds(looking_away_yaw=20))
    try:
        verdict = await pool.judge(turned_face_jpeg("right", 30), Challenge.NONE)
    finally:
        pool.close()

    assert verdict.outcome is Outcome.LOOKING_AWAY


async def test_the_pool_can_skip_the_side_scan() -> None:
    pool = VisionPool(workers=1, scan=False)
    try:
        verdict = await pool.judge(face_jpeg(), Challenge.NONE)
    finally:
        pool.close()

    assert verdict.passes == ("short_range",)


async def test_a_full_pool_refuses_at_once_then_recovers(gate: Gate) -> None:
    pool = VisionPool(workers=1, max_pending=1, judge_fn=gate)
    try:
        busy = asyncio.create_task(pool.judge(face_jpeg(), Challenge.NONE))
        await gate.running()

        # Raised while the only slot is still held: the frame was refused, not queued.
        with pytest.raises(PoolSaturated):
            await pool.judge(face_jpeg(), Challenge.NONE)
        assert not gate.opened.is_set()
        assert pool.stats() == {"in_flight": 1, "max_pending": 1, "workers": 1}

        gate.opened.set()
        assert (await busy).outcome is Outcome.PRESENT
        assert (await pool.judge(face_jpeg(), Challenge.NONE)).outcome is Outcome.PRESENT
    finally:
        gate.opened.set()
        pool.close()


async def test_queued_frames_count_towards_the_limit(gate: Gate) -> None:
    pool = VisionPool(workers=1, max_pending=2, judge_fn=gate)
    try:
        running = asyncio.create_task(pool.judge(face_jpeg(), Challenge.NONE))
        await gate.running()
        queued = asyncio.create_task(pool.judge(face_jpeg(), Challenge.NONE))
        await asyncio.sleep(0)

        with pytest.raises(PoolSaturated):
            await pool.judge(face_jpeg(), Challenge.NONE)

        gate.opened.set()
        assert len(await asyncio.gather(running, queued)) == 2
    finally:
        gate.opened.set()
        pool.close()


async def test_a_cancelled_caller_frees_its_slot_when_the_work_ends(gate: Gate) -> None:
    pool = VisionPool(workers=1, max_pending=1, judge_fn=gate)
    try:
        task = asyncio.create_task(pool.judge(face_jpeg(), Challenge.NONE))
        await gate.running()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.pending == 1  # the frame is still being judged on its thread

        gate.opened.set()
        for _ in range(100):
            if pool.pending == 0:
                break
            await asyncio.sleep(0.01)
        assert (await pool.judge(face_jpeg(), Challenge.NONE)).passed
    finally:
        gate.opened.set()
        pool.close()


async def test_a_closed_pool_refuses_frames() -> None:
    pool = VisionPool(workers=1)
    assert pool.alive()

    pool.close()
    pool.close()  # idempotent

    assert not pool.alive()
    with pytest.raises(PoolClosed):
        await pool.judge(face_jpeg(), Challenge.NONE)
    with pytest.raises(PoolClosed):
        await pool.warm_up()


async def test_each_worker_thread_has_its_own_detector_and_close_closes_them() -> None:
    seen: list[tuple[int, FaceDetector]] = []
    both_running = threading.Barrier(2)

    def recording_judge(
        data: bytes, challenge: Challenge, detector: FaceDetector, limits: ImageLimits
    ) -> Verdict:
        seen.append((threading.get_ident(), detector))
        both_running.wait(WAIT_S)  # so the two frames cannot share one thread
        return judge_frame(data, challenge, detector, limits)

    pool = VisionPool(workers=2, judge_fn=recording_judge)
    try:
        await asyncio.gather(*(pool.judge(face_jpeg(), Challenge.NONE) for _ in range(2)))
    finally:
        pool.close()

    threads = {thread for thread, _ in seen}
    detectors = {id(detector) for _, detector in seen}
    assert threading.get_ident() not in threads
    assert len(threads) == 2
    assert len(detectors) == 2
    assert all(detector.closed for _, detector in seen)


async def test_warm_up_readies_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FaceDetector] = []

    warmed: list[FaceDetector] = []

    class CountedDetector(FaceDetector):
        def __init__(self, min_confidence: float = 0.5, *, scan: bool = True) -> None:
            super().__init__(min_confidence, scan=scan)
            made.append(self)

        def warm_up(self) -> None:
            super().warm_up()
            warmed.append(self)

    monkeypatch.setattr("vision.pool.FaceDetector", CountedDetector)
    pool = VisionPool(workers=3)
    try:
        await pool.warm_up()
        assert len(made) == 3
        assert sorted(map(id, warmed)) == sorted(map(id, made))  # every model loaded, each once

        await asyncio.gather(*(pool.judge(face_jpeg(), Challenge.NONE) for _ in range(6)))

        assert len(made) == 3  # no frame had to wait for a detector to be made
    finally:
        pool.close()
    assert all(detector.closed for detector in made)


def test_defaults() -> None:
    pool = VisionPool()
    try:
        assert pool.workers == 2
        assert pool.max_pending == 8
        assert pool.pending == 0
    finally:
        pool.close()


@pytest.mark.parametrize(("workers", "max_pending"), [(0, None), (1, 0)])
def test_nonsense_sizes_are_refused(workers: int, max_pending: int | None) -> None:
    with pytest.raises(ValueError):
        VisionPool(workers=workers, max_pending=max_pending)
