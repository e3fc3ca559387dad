"""Group commit: writes that arrive together share one transaction.

A live lesson writes a little at a time from many tasks at once: a prompt opened here, a
verdict there, a hundred presence intervals closed when a lesson ends. Each in a transaction of
its own costs a session, a connection checkout, BEGIN and COMMIT, most of it CPU on the event
loop. :class:`GroupCommit` queues each write and runs every write queued by then in one
transaction; writes that arrive while it commits go in the next. Nobody waits for a timer, so
a lone write is as fast as before, and under load the transactions get fewer, not slower.

Each caller still sees its own write's outcome. When a shared transaction fails because the
database is unavailable, every caller gets that error (and may retry). When it fails for any
other reason (one write broke a constraint, say), each write is run again in a transaction of
its own, so the error reaches only the caller whose write caused it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Sessions
from storage.errors import unavailable

logger = logging.getLogger(__name__)

Write = Callable[[AsyncSession], Awaitable[Any]]
MAX_BATCH = 500


class GroupCommit:
    def __init__(self, sessions: Sessions, *, max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._queued: list[tuple[Write, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0
        self.writes = 0

    async def run(self, write: Write) -> Any:
        """Run ``write`` in a transaction (shared with others queued meanwhile) and return
        what it returned once that transaction has committed; raise what it raised."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((write, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="group-commit"
            )
        return await future

    async def _flush(self) -> None:
        while self._queued:
            batch = self._queued[: self._max_batch]
            del self._queued[: self._max_batch]
            batch = [(write, future) for write, future in batch if not future.cancelled()]
            if not batch:
                continue
            try:
                results = await self._together(batch)
            except Exception as exc:
                if unavailable(exc) or len(batch) == 1:
                    for _, future in batch:
                        _settle(future, exc=exc)
                    continue
                await self._one_by_one(batch)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    _settle(future, result=result)

    async def _together(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> list[Any]:
        async with self._sessions() as s, s.begin():
            results = [await write(s) for write, _ in batch]
        self.transactions += 1
        self.writes += len(batch)
        return results

    async def _one_by_one(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> None:
        for write, future in batch:
            try:
                (result,) = await self._together([(write, future)])
            except Exception as exc:
                _settle(future, exc=exc)
            else:
                _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, exc: Exception | None = None
) -> None:
    if future.done():  # its caller gave up waiting (cancelled)
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
