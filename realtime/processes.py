"""This process's heartbeat in the database, and the settling of processes that stopped.

Liveness is judged on the database's clock (:mod:`storage.liveness`), so processes whose
clocks disagree agree on who is alive. A process whose own heartbeat could not be written for
a while (the database restarting) does not take the others for dead as soon as it is back:
their heartbeats failed too. It waits until its own have been written for a whole stale
period, by when every live process has written one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from storage import liveness
from storage import repositories as repo
from storage.db import Sessions

logger = logging.getLogger(__name__)


class ProcessRegistry:
    """This process's heartbeat, and the settling of processes whose heartbeat stopped."""

    def __init__(self, sessions: Sessions, *, heartbeat_s: float, stale_after_s: float) -> None:
        self.process_id = secrets.token_hex(16)
        self._sessions = sessions
        self._heartbeat_s = heartbeat_s
        self._stale_after = timedelta(seconds=stale_after_s)
        self._task: asyncio.Task[None] | None = None
        # Since when (monotonic) this process's heartbeats have been written without a gap.
        self._beating_since = -float("inf")
        self.on_reaped: Callable[[], Awaitable[None]] | None = None
        # Processes alive at the last look, this one included.
        self.alive = 1

    async def start(self) -> None:
        async with self._sessions() as s, s.begin():
            await liveness.register(
                s, process_id=self.process_id, host=socket.gethostname(), pid=os.getpid()
            )
        await self.reap()
        self._task = asyncio.create_task(self._beat(), name="heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                async with self._sessions() as s, s.begin():
                    if not await liveness.beat(s, process_id=self.process_id):
                        # Taken for dead during a long stall: come back under the same id.
                        await liveness.register(
                            s,
                            process_id=self.process_id,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                        )
                        logger.warning("this process was taken for dead; registered again")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._beating_since != float("inf"):
                    logger.warning("heartbeat not written (%s); trying again", type(exc).__name__)
                self._beating_since = float("inf")
                continue
            if self._beating_since == float("inf"):
                logger.info("heartbeat written again")
                self._beating_since = time.monotonic()
            try:
                await self.reap()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("settling stopped processes failed; trying again")

    def _may_judge_silence(self) -> bool:
        return time.monotonic() - self._beating_since >= self._stale_after.total_seconds()

    async def reap(self) -> int:
        """Settle every process that stopped beating (or, on this host, whose pid is gone)."""
        reaped = 0
        judge_silence = self._may_judge_silence()
        async with self._sessions() as s, s.begin():
            silent_since = await liveness.silent_since(s, stale_after=self._stale_after)
            alive = 1
            for process in await repo.processes(s):
                if process.id == self.process_id:
                    continue
                gone = (judge_silence and process.last_seen_at < silent_since) or (
                    process.host == socket.gethostname() and not _pid_alive(process.pid)
                )
                if not gone:
                    alive += 1
                    continue
                at = await liveness.database_now(s)
                closed, cancelled = await repo.reap_process(s, process=process, at=at)
                logger.warning(
                    "process %s (pid %d on %s) stopped beating: closed %d presence "
                    "intervals at its last heartbeat, cancelled %d open prompts",
                    process.id,
                    process.pid,
                    process.host,
                    closed,
                    cancelled,
                )
                reaped += 1
            self.alive = alive
        if reaped and self.on_reaped is not None:
            await self.on_reaped()
        return reaped

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        async with self._sessions() as s, s.begin():
            await repo.deregister_process(s, process_id=self.process_id)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
