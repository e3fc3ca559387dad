"""Background tasks kept referenced until they finish, their failures logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class TaskSet:
    """The tasks a part of the hub starts: none is fire-and-forget.

    A task that is not awaited by anyone would be collected mid-flight, and its exception never
    seen: each is held here until done, and an exception is logged with the task's name.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("task %s failed", task.get_name(), exc_info=exc)

    async def wait(self, timeout_s: float) -> None:
        """Let the running tasks finish, for at most ``timeout_s`` seconds."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    def __len__(self) -> int:
        return len(self._tasks)
