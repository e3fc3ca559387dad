"""The vision pool in worker processes: the server process keeps only I/O.

`VisionPool` judges frames on threads of the server, where MediaPipe's Python parts, the numpy
around them and the event loop take turns at one interpreter lock: under load the loop waits
behind vision, and vision behind the loop. Here each worker is a process of its own
(`offload.WarmProcesses`); a frame travels to it as its bytes (some 30 KB) and comes back as a
`Verdict`. The interface is `VisionPool`'s, so the server takes either (``TL_VISION_PROCESSES``).

Measured (bench/RESULTS.md, "Performance II"): one server process on two cores sustains a few
percent more frames this way, since vision is no longer held to one interpreter lock; with a
server process per core the cores are already shared out, the pipe costs more than it saves, and
threads do better, with some 600 MB less memory. Hence threads by default.
"""

from __future__ import annotations

import logging

from offload import ProcessPoolFront, SlotsClosed, SlotsFull, WarmProcesses, WorkerDied
from vision import _worker
from vision.errors import PoolClosed, PoolSaturated, WorkerLost
from vision.images import ImageLimits
from vision.rules import DEFAULT_THRESHOLDS, Thresholds
from vision.verdict import Challenge, Verdict

__all__ = ["VisionProcesses"]

logger = logging.getLogger(__name__)


class VisionProcesses(ProcessPoolFront):
    """Judge frames on ``workers`` processes; at most ``max_pending`` frames in flight."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_pending: int | None = None,
        limits: ImageLimits | None = None,
        min_confidence: float = 0.5,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        scan: bool = True,
        nice: int = 0,
    ) -> None:
        """``nice`` lowers the workers' priority below the server's (`offload.WarmProcesses`)."""
        self._limits = limits or ImageLimits()
        self._processes = WarmProcesses(
            "vision",
            workers=workers,
            max_pending=workers * 4 if max_pending is None else max_pending,
            setup=_worker.init,
            args=(min_confidence, scan, self._limits, thresholds),
            log=logger,
            nice=nice,
        )

    @property
    def limits(self) -> ImageLimits:
        return self._limits

    def alive(self) -> bool:
        return not self._processes.slots.closed

    def pids(self) -> list[int]:
        return self._processes.pids()

    async def warm_up(self) -> None:
        """Start every worker process, each with its detector loaded and run once."""
        try:
            await self._processes.start()
        except SlotsClosed:
            raise PoolClosed("the vision pool is closed") from None

    async def judge(self, data: bytes, challenge: Challenge) -> Verdict:
        """Judge one frame in a worker process.

        Raises `PoolSaturated` at once when ``max_pending`` frames are already in flight,
        `PoolClosed` after `close`, and `WorkerLost` when the frame killed its worker twice.
        """
        try:
            return await self._processes.run(_worker.judge, data, challenge)
        except SlotsFull as exc:
            raise PoolSaturated(str(exc)) from None
        except SlotsClosed:
            raise PoolClosed("the vision pool is closed") from None
        except WorkerDied as exc:
            raise WorkerLost(str(exc)) from None

    async def shutdown(self) -> None:
        """Refuse new frames, let those in flight finish, stop the workers. Idempotent."""
        await self._processes.close()
