"""Whether this process reaches the message queue, from what each of its parts saw.

Three parts use Redis: the bus's listener, the Socket.IO manager's listener, and the
publishing of both (watched by a ping once a second). Each reports when it loses Redis and
when it has it again; the link is up while none is down. Whoever cares (the hub, to tell its
tutors) hears of each change: down at the first part lost, up again when the last one is back.
A change is told from a task kept referenced here, never from inside the part that saw it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)

Listener = Callable[[bool], Coroutine[Any, Any, None]]


class QueueLink:
    def __init__(self) -> None:
        self._down: dict[str, str] = {}
        self._down_since: float | None = None
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def reachable(self) -> bool:
        return not self._down

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def down(self, part: str, why: str) -> None:
        first = not self._down
        if part not in self._down:
            logger.warning("message queue: %s lost Redis (%s)", part, why)
        self._down[part] = why
        if first:
            self._down_since = time.monotonic()
            self._tell(False)

    def up(self, part: str) -> None:
        if self._down.pop(part, None) is None:
            return
        logger.info("message queue: %s has Redis again", part)
        if not self._down:
            lasted = time.monotonic() - (self._down_since or time.monotonic())
            logger.warning("message queue reachable again after %.1f s", lasted)
            self._down_since = None
            self._tell(True)

    def describe(self) -> str:
        if not self._down:
            return "ok"
        parts = "; ".join(f"{part}: {why}" for part, why in sorted(self._down.items()))
        return f"unreachable ({parts})"

    def _tell(self, reachable: bool) -> None:
        for listener in self._listeners:
            task = asyncio.get_running_loop().create_task(
                listener(reachable), name=f"queue-{'up' if reachable else 'down'}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("message queue listener failed", exc_info=exc)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._listeners.clear()
