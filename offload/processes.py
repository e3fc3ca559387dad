"""Worker processes for models whose Python parts hold the interpreter lock.

A model that runs for milliseconds with the GIL held (dlib's descriptor, MediaPipe's graphs and
the numpy around them) stalls the server's event loop from any thread of the server process. Its
workers are processes of their own instead, started with ``spawn`` (a fork of a server with
running threads is unsafe):

- Bounded: at most ``max_pending`` requests running or queued (`offload.Slots`); one more is
  refused at once.
- Warmed at start: every worker has run ``setup`` (loaded its model, judged one input) before
  `start` returns.
- Self-healing: a worker that dies (killed, out of memory) breaks the executor; a fresh, warmed
  set replaces it and each interrupted request runs once more. A request that kills its worker
  twice raises `WorkerDied`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from offload import _child
from offload.slots import Slots, SlotsClosed

__all__ = ["ProcessPoolFront", "WarmProcesses", "WorkerDied"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerDied(Exception):
    """The worker process died while running this request, and again on the retry."""


class WarmProcesses:
    """``workers`` processes, each set up by ``setup(*args)``; at most ``max_pending`` requests."""

    def __init__(
        self,
        name: str,
        *,
        workers: int,
        max_pending: int,
        setup: Callable[..., str | None],
        args: tuple[Any, ...] = (),
        warm_up_timeout_s: float = 60.0,
        log: logging.Logger = logger,
        nice: int = 0,
    ) -> None:
        """``name`` starts the pool's log lines, written to ``log``; ``setup`` may return what
        the worker runs on, for the ready line. ``nice`` lowers the workers' priority: when the
        cores are all busy, the server's event loop (which answers everyone) runs first and the
        models take what is left."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.name = name
        self.workers = workers
        self.slots = Slots(max_pending)
        self._setup = setup
        self._args = args
        self._warm_up_timeout_s = warm_up_timeout_s
        self._log = log
        self._nice = nice
        self._context = multiprocessing.get_context("spawn")
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._generation = 0
        self._pids: list[int] = []
        self._replacing = asyncio.Lock()
        self.replacements = 0
        """How many times the workers were replaced after one died."""

    async def start(self) -> None:
        """Start every worker, set each up and wait until all are ready."""
        if self.slots.closed:
            raise SlotsClosed(f"the {self.name} pool is closed")
        self._executor = await self._new_executor()

    def pids(self) -> list[int]:
        """The worker processes' ids, as each answered at its warm-up (tests, diagnostics)."""
        self._require_executor()
        return list(self._pids)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker. Raises `offload.SlotsFull` at once when ``max_pending``
        requests are in flight, `offload.SlotsClosed` after `close`, `WorkerDied` when this
        request killed its worker twice; an exception ``fn`` raises comes back as it is."""
        self.slots.take()
        running: concurrent.futures.Future[T] | None = None
        try:
            for attempt in (1, 2):
                executor, generation = self._require_executor(), self._generation
                try:
                    running = executor.submit(fn, *args)
                    return await asyncio.wrap_future(running)
                except BrokenProcessPool:
                    running = None
                    if self.slots.closed:
                        raise SlotsClosed(f"the {self.name} pool is closed") from None
                    self._log.warning(
                        "a %s worker died (attempt %d); replacing the workers", self.name, attempt
                    )
                    if attempt == 2:
                        raise WorkerDied(
                            f"the {self.name} worker died twice on this request"
                        ) from None
                    await self._replace(generation)
            raise AssertionError("unreachable")
        finally:
            # The slot is free when the work itself ends: a caller cancelled while its request
            # still runs leaves the job running, and it still counts.
            if running is not None and not running.done():
                running.add_done_callback(self.slots.free)
            else:
                self.slots.free()

    async def close(self) -> None:
        """Refuse new requests, let those running finish, stop the workers. Idempotent."""
        if not self.slots.close():
            return
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._log.info("%s pool closed", self.name)

    async def _replace(self, generation: int) -> None:
        async with self._replacing:
            if generation != self._generation or self.slots.closed:
                return  # another request already replaced the broken set
            old = self._executor
            self._executor = await self._new_executor()
            self.replacements += 1
            if old is not None:
                await asyncio.to_thread(old.shutdown, wait=True, cancel_futures=True)

    async def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        started = time.perf_counter()
        barrier = self._context.Barrier(self.workers)
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_child.init,
            initargs=(barrier, self._setup, self._args, self._nice),
        )
        # One job per worker, each waiting for the others at the barrier: every process gets
        # started, sets itself up and answers before the pool is used.
        jobs = [executor.submit(_child.warm, self._warm_up_timeout_s) for _ in range(self.workers)]
        ready = await asyncio.gather(*(asyncio.wrap_future(job) for job in jobs))
        self._pids = sorted(pid for pid, _ in ready)
        about = ready[0][1]
        self._generation += 1
        self._log.info(
            "%s: %d worker process%s ready in %.0f ms (pids %s)%s",
            self.name,
            self.workers,
            "" if self.workers == 1 else "es",
            (time.perf_counter() - started) * 1000,
            " ".join(str(p) for p in self._pids),
            f"; {about}" if about else "",
        )
        return executor

    def _require_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self.slots.closed:
            raise SlotsClosed(f"the {self.name} pool is closed")
        if self._executor is None:
            raise SlotsClosed(f"the {self.name} pool has not been started")
        return self._executor


class ProcessPoolFront:
    """What a pool built on `WarmProcesses` tells about itself (vision's, identity's)."""

    _processes: WarmProcesses

    @property
    def workers(self) -> int:
        return self._processes.workers

    @property
    def max_pending(self) -> int:
        return self._processes.slots.limit

    @property
    def pending(self) -> int:
        """Requests running or queued."""
        return self._processes.slots.taken

    @property
    def replacements(self) -> int:
        """How many times the workers were replaced after one died."""
        return self._processes.replacements

    def stats(self) -> dict[str, int]:
        return {
            "in_flight": self.pending,
            "max_pending": self.max_pending,
            "workers": self.workers,
            "replacements": self.replacements,
        }
