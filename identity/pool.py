"""A bounded pool of worker processes that describe faces, off the event loop and off the GIL.

A descriptor costs some 70 ms of one core and holds the GIL all that time: in a thread of the
server it would stall the event loop's thread as surely as on the loop itself. So each worker is
a process of its own (started with ``spawn``: a fork of a server with running threads is unsafe).

- Bounded: at most ``max_pending`` requests running or queued; one more is refused at once with
  `IdentitySaturated` (answer "rate_limited"), as the vision pool does.
- Warmed at start: every worker has loaded its models and described one face before `start`
  returns.
- Self-healing: a worker that dies (killed, out of memory) breaks the executor; the pool replaces
  it with a fresh, warmed set of workers and runs each interrupted request once more. A request
  that kills its worker twice is answered with `IdentityUnavailable`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from numpy.typing import NDArray

from identity import _worker
from identity.description import Box, Description
from identity.errors import IdentityClosed, IdentitySaturated, IdentityUnavailable

__all__ = ["IdentityPool"]

logger = logging.getLogger(__name__)

_WARM_UP_TIMEOUT_S = 60.0


class IdentityPool:
    """Describe faces on ``workers`` processes; at most ``max_pending`` requests in flight."""

    def __init__(self, *, workers: int = 1, max_pending: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if max_pending is None:
            max_pending = workers * 2
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self._workers = workers
        self._max_pending = max_pending
        self._context = multiprocessing.get_context("spawn")
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._generation = 0
        self._replacing = asyncio.Lock()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        self.replacements = 0
        """How many times the workers were replaced after one died."""

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def max_pending(self) -> int:
        return self._max_pending

    @property
    def pending(self) -> int:
        return self._in_flight

    def stats(self) -> dict[str, int]:
        return {
            "in_flight": self._in_flight,
            "max_pending": self._max_pending,
            "workers": self._workers,
            "replacements": self.replacements,
        }

    async def start(self) -> None:
        """Start every worker, load its models and wait until all are ready."""
        if self._closed:
            raise IdentityClosed("the identity pool is closed")
        self._executor = await self._new_executor()

    async def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        executor = self._require_executor()
        return sorted({p.pid for p in (executor._processes or {}).values() if p.pid is not None})

    async def describe(self, image: bytes | NDArray[np.uint8], box: Box) -> Description:
        """The descriptor of the face at ``box`` (relative to the frame) in ``image``.

        ``image`` is the frame's bytes, as accepted by the vision pool, or its RGB array. Raises
        `IdentitySaturated` at once when ``max_pending`` requests are in flight, `IdentityClosed`
        after `close`, and `IdentityUnavailable` when the request killed its worker twice.
        """
        with self._lock:
            if self._closed:
                raise IdentityClosed("the identity pool is closed")
            if self._in_flight >= self._max_pending:
                raise IdentitySaturated(
                    f"{self._in_flight} identity requests in flight, limit {self._max_pending}"
                )
            self._in_flight += 1
        running: concurrent.futures.Future[Description] | None = None
        try:
            for attempt in (1, 2):
                executor, generation = self._require_executor(), self._generation
                try:
                    running = executor.submit(_worker.describe, image, box)
                    return await asyncio.wrap_future(running)
                except BrokenProcessPool:
                    running = None
                    if self._closed:
                        raise IdentityClosed("the identity pool is closed") from None
                    logger.warning(
                        "an identity worker died (attempt %d); replacing the workers", attempt
                    )
                    if attempt == 2:
                        raise IdentityUnavailable(
                            "the identity worker died twice on this request"
                        ) from None
                    await self._replace(generation)
            raise AssertionError("unreachable")
        finally:
            # The slot is free when the work itself ends: a caller cancelled while its face is
            # still being described leaves the job running, and it still counts.
            if running is not None and not running.done():
                running.add_done_callback(self._release)
            else:
                self._release()

    def _release(self, _future: object = None) -> None:
        with self._lock:
            self._in_flight -= 1

    async def close(self) -> None:
        """Refuse new requests and stop the workers. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        logger.info("identity pool closed")

    async def _replace(self, generation: int) -> None:
        async with self._replacing:
            if generation != self._generation or self._closed:
                return  # another request already replaced the broken set
            old = self._executor
            self._executor = await self._new_executor()
            self.replacements += 1
            if old is not None:
                await asyncio.to_thread(old.shutdown, wait=True, cancel_futures=True)

    async def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        started = time.perf_counter()
        barrier = self._context.Barrier(self._workers)
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=self._context,
            initializer=_worker.init,
            initargs=(barrier,),
        )
        # One job per worker, each waiting for the others at the barrier: every process gets
        # started, loads its models and answers before the pool is used.
        jobs = [executor.submit(_worker.warm, _WARM_UP_TIMEOUT_S) for _ in range(self._workers)]
        pids = await asyncio.gather(*(asyncio.wrap_future(job) for job in jobs))
        self._generation += 1
        logger.info(
            "identity pool ready: %d workers (pids %s) in %.0f ms",
            self._workers,
            sorted(pids),
            (time.perf_counter() - started) * 1000,
        )
        return executor

    def _require_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._closed:
            raise IdentityClosed("the identity pool is closed")
        if self._executor is None:
            raise IdentityClosed("the identity pool has not been started")
        return self._executor
