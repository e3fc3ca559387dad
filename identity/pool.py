"""A bounded pool of worker processes that describe faces, off the event loop and off the GIL.

A descriptor costs some 20 ms of one core, much of it holding the GIL (dlib's landmarks, numpy
between its matrix products): in a thread of the server it would stall the event loop's thread
as surely as on the loop itself. So each worker is a process of its own
(`offload.WarmProcesses`: started with ``spawn``, warmed before use, replaced when one dies, at
most ``max_pending`` requests in flight).
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from identity import _worker
from identity.description import Box, Description
from identity.errors import IdentityClosed, IdentitySaturated, IdentityUnavailable
from offload import ProcessPoolFront, SlotsClosed, SlotsFull, WarmProcesses, WorkerDied

__all__ = ["IdentityPool"]


class IdentityPool(ProcessPoolFront):
    """Describe faces on ``workers`` processes; at most ``max_pending`` requests in flight."""

    def __init__(self, *, workers: int = 1, max_pending: int | None = None, nice: int = 0) -> None:
        """``nice`` lowers the workers' priority below the server's (`offload.WarmProcesses`)."""
        self._processes = WarmProcesses(
            "identity",
            workers=workers,
            max_pending=workers * 2 if max_pending is None else max_pending,
            setup=_worker.init,
            log=logging.getLogger(__name__),
            nice=nice,
        )

    async def start(self) -> None:
        """Start every worker, load its models and wait until all are ready."""
        try:
            await self._processes.start()
        except SlotsClosed as exc:
            raise IdentityClosed("the identity pool is closed") from exc

    async def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        try:
            return self._processes.pids()
        except SlotsClosed as exc:
            raise IdentityClosed(str(exc)) from exc

    async def describe(self, image: bytes | NDArray[np.uint8], box: Box) -> Description:
        """The descriptor of the face at ``box`` (relative to the frame) in ``image``.

        ``image`` is the frame's bytes, as accepted by the vision pool, or its RGB array. Raises
        `IdentitySaturated` at once when ``max_pending`` requests are in flight, `IdentityClosed`
        after `close`, and `IdentityUnavailable` when the request killed its worker twice.
        """
        try:
            return await self._processes.run(_worker.describe, image, box)
        except SlotsFull as exc:
            raise IdentitySaturated(f"identity: {exc}") from None
        except SlotsClosed:
            raise IdentityClosed("the identity pool is closed") from None
        except WorkerDied:
            raise IdentityUnavailable("the identity worker died twice on this request") from None

    async def close(self) -> None:
        """Refuse new requests and stop the workers. Idempotent."""
        await self._processes.close()
