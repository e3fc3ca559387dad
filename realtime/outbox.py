"""Writes that must not be lost when the database is briefly unavailable.

A verdict, a prompt's resolution or the end of a presence interval is written at once when the
database answers. When it does not, the write is retried for a little while (the caller waits:
a database restart or failover usually takes a few seconds); if it still fails, it is kept in
memory and retried in the background until the database is back. Nothing is dropped silently:
every failure is logged, and so is every late write.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from storage.batch import GroupCommit
from storage.errors import unavailable

logger = logging.getLogger(__name__)

Write = Callable[[AsyncSession], Awaitable[None]]
MAX_HELD = 100_000


class Outbox:
    def __init__(self, commits: GroupCommit, *, wait_s: float, retry_every_s: float = 1.0) -> None:
        self._commits = commits
        self._wait_s = wait_s
        self._retry_every_s = retry_every_s
        self._held: deque[tuple[str, Write]] = deque()
        self._task: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        """Writes waiting for the database to come back."""
        return len(self._held)

    async def write(self, what: str, write: Write) -> bool:
        """Write in a transaction (shared with the writes that arrive with it); True once
        written, False when it is held for later."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        delay = 0.1
        while True:
            try:
                await self._once(write)
                return True
            except Exception as exc:
                if not unavailable(exc):
                    raise
                if loop.time() + delay > deadline:
                    self._hold(what, write, exc)
                    return False
                logger.warning("database unavailable writing %s (%s); retrying", what, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _once(self, write: Write) -> None:
        await self._commits.run(write)

    def _hold(self, what: str, write: Write, exc: BaseException) -> None:
        if len(self._held) >= MAX_HELD:
            logger.error(
                "database unavailable: %s NOT recorded (%d writes already held)", what, MAX_HELD
            )
            return
        logger.error("database unavailable: %s held until it is back (%s)", what, exc)
        self._held.append((what, write))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="outbox")

    async def _drain(self) -> None:
        while self._held:
            what, write = self._held[0]
            try:
                await self._once(write)
            except Exception as exc:
                if unavailable(exc):
                    await asyncio.sleep(self._retry_every_s)
                    continue
                logger.exception("%s could not be written and is dropped", what)
            else:
                logger.warning("database back: %s written late", what)
            self._held.popleft()

    async def flush(self, timeout_s: float) -> bool:
        """On shutdown: give held writes a last chance; False if some remain."""
        if self._task is None or self._task.done():
            return not self._held
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._task)
        except TimeoutError:
            logger.error("shutting down with %d writes never recorded", len(self._held))
            return False
        return True
