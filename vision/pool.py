"""A bounded pool of worker threads, each with its own detector, that keeps CPU work off the loop.

Frames beyond ``max_pending`` (running plus queued) are refused at once with `PoolSaturated`,
so a burst turns into quick "rate_limited" answers instead of a queue that grows without bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from offload import Slots, SlotsClosed, SlotsFull
from vision.detector import FaceDetector
from vision.errors import PoolClosed, PoolSaturated
from vision.images import ImageLimits
from vision.judge import judge_frame
from vision.native_log import sifted_native_output
from vision.rules import DEFAULT_THRESHOLDS, Thresholds
from vision.verdict import Challenge, Verdict

__all__ = ["FrameJudge", "VisionPool"]

logger = logging.getLogger(__name__)

FrameJudge = Callable[[bytes, Challenge, FaceDetector, ImageLimits], Verdict]

_WARM_UP_TIMEOUT_S = 10.0
_DEFAULT_LIMITS = ImageLimits()


class VisionPool:
    """Judge frames on ``workers`` threads; at most ``max_pending`` frames in flight."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_pending: int | None = None,
        limits: ImageLimits = _DEFAULT_LIMITS,
        min_confidence: float = 0.5,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        scan: bool = True,
        judge_fn: FrameJudge | None = None,
    ) -> None:
        """``thresholds`` are the head-pose limits of the rules; ``scan`` runs the full-range
        model beside the student's face on every frame that has one (see `vision.detector`)."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._workers = workers
        self._slots = Slots(workers * 4 if max_pending is None else max_pending)
        self._limits = limits
        self._min_confidence = min_confidence
        self._scan = scan
        self._judge_fn: FrameJudge = judge_fn or partial(judge_frame, thresholds=thresholds)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="vision"
        )
        self._lock = threading.Lock()
        self._local = threading.local()
        self._detectors: list[FaceDetector] = []

    @property
    def limits(self) -> ImageLimits:
        return self._limits

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def max_pending(self) -> int:
        return self._slots.limit

    @property
    def pending(self) -> int:
        """Frames running or queued."""
        return self._slots.taken

    def alive(self) -> bool:
        return not self._slots.closed

    def stats(self) -> dict[str, int]:
        return {
            "in_flight": self.pending,
            "max_pending": self.max_pending,
            "workers": self._workers,
        }

    async def judge(self, data: bytes, challenge: Challenge) -> Verdict:
        """Judge one frame on a worker thread.

        Raises `PoolSaturated` at once when ``max_pending`` frames are already in flight, and
        `PoolClosed` after `close`.
        """
        try:
            self._slots.take()
        except SlotsFull as exc:
            raise PoolSaturated(str(exc)) from None
        except SlotsClosed:
            raise PoolClosed("the vision pool is closed") from None
        # Submitting directly, rather than through loop.run_in_executor, gives us the
        # concurrent future: its done-callback frees the slot when the work itself ends, even
        # if the caller was cancelled while the frame was still running.
        try:
            future = self._executor.submit(self._run, data, challenge)
        except RuntimeError:  # closed between the check above and the submit
            self._slots.free()
            raise PoolClosed("the vision pool is closed") from None
        future.add_done_callback(self._slots.free)
        return await asyncio.wrap_future(future)

    async def warm_up(self) -> None:
        """Load a detector on every worker and run it once, so the first real frame is not slow."""
        if self._slots.closed:
            raise PoolClosed("the vision pool is closed")
        started = time.perf_counter()
        # Each warm-up job waits for the others, so no thread can take two of them and every
        # worker thread gets started and warmed.
        barrier = threading.Barrier(self._workers)

        def warm() -> None:
            self._detector().warm_up()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=_WARM_UP_TIMEOUT_S)

        with sifted_native_output():
            jobs = [self._executor.submit(warm) for _ in range(self._workers)]
            await asyncio.gather(*(asyncio.wrap_future(job) for job in jobs))
        logger.info(
            "vision: %d workers ready in %.0f ms",
            self._workers,
            (time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        """Refuse new frames, wait for those in flight, and close every detector. Idempotent.

        Blocks for as long as the frames in flight take (milliseconds each); from a running event
        loop, ``await asyncio.to_thread(pool.close)`` keeps the loop free meanwhile.
        """
        if not self._slots.close():
            return
        self._executor.shutdown(wait=True)
        # Worker threads have exited, so no detector is in use any more.
        with self._lock:
            detectors, self._detectors = self._detectors, []
        for detector in detectors:
            detector.close()
        logger.info("vision pool closed (%d detectors)", len(detectors))

    async def shutdown(self) -> None:
        """`close` on a thread of its own, keeping the event loop free meanwhile."""
        await asyncio.to_thread(self.close)

    def _run(self, data: bytes, challenge: Challenge) -> Verdict:
        return self._judge_fn(data, challenge, self._detector(), self._limits)

    def _detector(self) -> FaceDetector:
        # One per worker thread: a MediaPipe graph must not run two frames at once.
        detector: FaceDetector | None = getattr(self._local, "detector", None)
        if detector is None:
            detector = FaceDetector(self._min_confidence, scan=self._scan)
            self._local.detector = detector
            with self._lock:
                self._detectors.append(detector)
        return detector
